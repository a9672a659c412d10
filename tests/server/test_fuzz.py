"""Schemathesis against the OpenAPI description: every check on every operation, then the stateful phase.

The app runs in process (ASGI) on a fresh copy of the seeded SQLite template, called with a bearer token
for the role each route is for (tests/server/schemathesis.toml, which a CLI run against a live server
uses too). Bounded: a few examples per operation and short stateful scenarios, so that the file runs in
about a minute on a busy two-core machine; the CLI run in the README goes further.
"""

from __future__ import annotations

from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402

from gigshift.server._roles import ROUTE_ROLES  # noqa: E402

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 10  # per operation
STATEFUL_SCENARIOS = 20
STATEFUL_STEPS = 8
BOUNDED = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,  # a busy machine is slow, not wrong
    database=None,  # same seed, same cases: no examples carried over from an earlier run
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def fuzz_app(sqlite_backend, tmp_path_factory):  # type: ignore[no-untyped-def]
    from gigshift.server import create_app
    from gigshift.server._security import issue_token

    secret = "fuzz-secret-key-" + "x" * 40
    seed = sqlite_backend.seed
    app = create_app(sqlite_backend.fresh_url(tmp_path_factory.mktemp("fuzz")), secret_key=secret)
    env = {
        f"GIGSHIFT_FUZZ_{role.upper()}_TOKEN": issue_token(
            user_id=seed.users[role], role=role, token_version=0, secret_key=secret
        )
        for role in ("operator", "worker", "auditor", "client")
    }
    with pytest.MonkeyPatch.context() as patch:  # the config file reads the tokens from the environment
        for key, value in {**env, "GIGSHIFT_FUZZ_WORKER_ID": seed.worker_id}.items():
            patch.setenv(key, value)
        yield app
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app):  # type: ignore[no-untyped-def]
    from schemathesis.config import SchemathesisConfig

    config = SchemathesisConfig.from_path(CONFIG)
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app, config=config)


PUBLIC = [("GET", "/healthz"), ("POST", "/api/v1/auth/token")]
OPERATIONS = sorted([*PUBLIC, *ROUTE_ROLES])


def test_every_operation_is_fuzzed(fuzz_schema) -> None:  # type: ignore[no-untyped-def]
    described = sorted((op.method.upper(), op.path) for op in _operations(fuzz_schema))
    assert described == OPERATIONS


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms(fuzz_schema, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    """No server error, and every answer (4xx too) as described: status, content type, headers and body;
    valid input accepted (bar the rules the config file lists) and invalid input refused."""
    from hypothesis import given
    from hypothesis import strategies as st

    operation = fuzz_schema[path][method]
    modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    cases = st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in modes))

    @BOUNDED
    @given(case=cases)
    def conforms(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(headers=_headers_for(case))

    conforms()


def _operations(schema):  # type: ignore[no-untyped-def]
    return [result.ok() for result in schema.get_all_operations()]


def _headers_for(case) -> dict[str, str]:  # type: ignore[no-untyped-def]
    # Per-operation headers in the config file apply to CLI runs; the pytest plugin is given them here.
    return case.operation.schema.config.headers_for(operation=case.operation)


def test_stateful_links(fuzz_schema) -> None:  # type: ignore[no-untyped-def]
    """Sequences that follow the links: a posted task is then read, a run's result fetched, and so on."""
    machine = fuzz_schema.as_state_machine()

    class Linked(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case):  # type: ignore[no-untyped-def]
            return {"headers": _headers_for(case)}

    Linked.run(
        settings=settings(
            BOUNDED,
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
        )
    )


def test_policy_weight_names_are_the_engine_components() -> None:
    """The description lists the weights gigshift.allocate knows, so that a valid body is one it accepts."""
    from typing import get_args

    from gigshift.allocate._policy import COMPONENTS
    from gigshift.server._schemas import WeightName

    assert get_args(WeightName) == COMPONENTS
