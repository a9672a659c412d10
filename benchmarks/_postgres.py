"""The server tests' throwaway PostgreSQL cluster (``tests/server/conftest.py``), for benchmarks outside pytest."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def throwaway_postgres(*, settings: str = "", who: str = "--db postgresql") -> Iterator[object]:
    """A cluster on loopback (``.url``, ``.database_url(name)``), removed on exit; ``settings`` as for pg_ctl."""
    spec = importlib.util.spec_from_file_location("_server_conftest", ROOT / "tests" / "server" / "conftest.py")
    assert spec is not None and spec.loader is not None
    conftest = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = conftest  # dataclasses look their module up
    spec.loader.exec_module(conftest)

    def unavailable(reason: str):  # type: ignore[no-untyped-def]
        raise SystemExit(f"{who}: {reason}")

    with conftest.throwaway_cluster(unavailable, settings=settings) as cluster:
        yield cluster
