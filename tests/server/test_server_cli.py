"""``gigshift db upgrade``, ``gigshift users add`` and ``gigshift serve``: exit codes, messages, a real server."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from gigshift.cli import app

runner = CliRunner()


def run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=stdin, catch_exceptions=False)


def test_db_upgrade_then_users_add(tmp_path):
    db = f"sqlite:///{tmp_path / 'g.db'}"
    first = run("db", "upgrade", "--db", db)
    assert first.exit_code == 0 and "empty -> revision" in first.stdout
    again = run("db", "upgrade", "--db", db)
    assert again.exit_code == 0 and "already at revision" in again.stdout
    added = run("users", "add", "--email", "Ana@Coop.example", "--role", "worker", "--worker-id", "w-ana",
                "--password-stdin", "--db", db, stdin="a long enough password\n")  # fmt: skip
    assert added.exit_code == 0, added.stderr
    assert "ana@coop.example (worker, linked to worker w-ana)" in added.stdout
    operator = run("users", "add", "--email", "op@coop.example", "--role", "operator", "--password-stdin",
                   "--db", db, stdin="another long password\n")  # fmt: skip
    assert operator.exit_code == 0, operator.stderr

    from fastapi.testclient import TestClient

    from gigshift.server import create_app

    service = create_app(db, secret_key="s" * 40)
    client = TestClient(service)
    form = {"username": "ana@coop.example", "password": "a long enough password"}
    token = client.post("/api/v1/auth/token", data=form)
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    profile = client.get("/api/v1/workers/w-ana", headers=headers)
    assert profile.status_code == 200 and profile.json()["categories"] == []  # the empty profile made for the login
    service.state.engine.dispose()


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("--email", "a@b.example", "--role", "boss", "--password-stdin"), "long enough pass", "--role: expected"),
        (("--email", "a@b.example", "--role", "worker", "--password-stdin"), "long enough pass", "needs the id"),
        (("--email", "a@b.example", "--role", "operator", "--password-stdin"), "short", "at least 10 characters"),
        (("--email", "not-an-email", "--role", "operator", "--password-stdin"), "long enough pass", "not an email"),
        (("--email", "a@b.example", "--role", "operator"), None, "--password-stdin"),
        (
            ("--email", "a@b.example", "--role", "client", "--worker-id", "w1", "--password-stdin"),
            "long enough pass",
            "only a worker login",
        ),
    ],
    ids=["role", "worker-without-id", "short-password", "email", "no-stdin", "client-with-worker-id"],
)
def test_users_add_errors_exit_2_without_traceback(tmp_path, args, stdin, message):
    db = f"sqlite:///{tmp_path / 'g.db'}"
    assert run("db", "upgrade", "--db", db).exit_code == 0
    result = run("users", "add", *args, "--db", db, stdin=stdin)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_users_add_and_serve_need_a_migrated_database(tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'new.db'}"
    added = run("users", "add", "--email", "a@b.example", "--role", "operator", "--password-stdin", "--db", db,
                stdin="long enough password")  # fmt: skip
    assert added.exit_code == 2 and "gigshift db upgrade" in added.stderr
    monkeypatch.setenv("GIGSHIFT_SECRET_KEY", "k" * 40)
    served = run("serve", "--db", db)
    assert served.exit_code == 2 and "gigshift db upgrade" in served.stderr


@pytest.mark.parametrize("raw", ["nohost", "tcp://host", "http://host:8786", "tcp://host:port"])
def test_serve_refuses_a_bad_dask_address(tmp_path, monkeypatch, raw):
    monkeypatch.setenv("GIGSHIFT_DASK_SCHEDULER", "")  # set, so that monkeypatch restores whatever serve sets
    served = run("serve", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--dask", raw)
    assert served.exit_code == 2 and "--dask" in served.stderr and repr(raw) in served.stderr
    assert os.environ["GIGSHIFT_DASK_SCHEDULER"] == ""


def test_a_dask_address_without_scheme_is_tcp(tmp_path, monkeypatch):
    monkeypatch.setenv("GIGSHIFT_DASK_SCHEDULER", "")
    served = run("serve", "--db", f"sqlite:///{tmp_path / 'new.db'}", "--dask", "10.0.0.5:8786")
    assert served.exit_code == 2 and "gigshift db upgrade" in served.stderr  # stopped later, at the database
    assert os.environ["GIGSHIFT_DASK_SCHEDULER"] == "tcp://10.0.0.5:8786"


@pytest.fixture
def migrated(tmp_path, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    """The URL of a migrated SQLite database, with a signing key in the environment."""
    db = f"sqlite:///{tmp_path / 'ok.db'}"
    assert run("db", "upgrade", "--db", db).exit_code == 0
    monkeypatch.setenv("GIGSHIFT_SECRET_KEY", "k" * 40)
    return db


@pytest.mark.parametrize("variable, value", [("GIGSHIFT_STALE_AFTER_S", "soon"), ("GIGSHIFT_REQUEST_THREADS", "many")])
def test_serve_refuses_a_bad_setting_at_start(migrated, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    served = run("serve", "--db", migrated)
    assert served.exit_code == 2 and variable in served.stderr and "Traceback" not in served.stderr


def test_serve_refuses_a_bad_thread_count_flag(migrated):
    served = run("serve", "--db", migrated, "--threads", "0")
    assert served.exit_code == 2 and "--threads" in served.stderr


def test_the_handlers_run_on_the_set_number_of_threads(migrated, monkeypatch):
    import anyio.to_thread
    from fastapi.testclient import TestClient

    from gigshift.server import create_app

    monkeypatch.setenv("GIGSHIFT_REQUEST_THREADS", "3")
    with TestClient(create_app(migrated)) as client:
        assert client.get("/healthz").status_code == 200
        assert client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens) == 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_demo_starts_a_real_server_with_one_login_per_role(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("GIGSHIFT_SECRET_KEY", "GIGSHIFT_DATABASE_URL")}
    command = [sys.executable, "-m", "gigshift", "serve", "--demo", "--port", str(port), "--db", str(tmp_path / "d.db")]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        logins: dict[str, tuple[str, str]] = {}
        deadline = time.monotonic() + 60
        while len(logins) < 4 and time.monotonic() < deadline:
            line = server.stdout.readline()  # type: ignore[union-attr]
            match = re.match(r"\s+(\w+)\s+(\S+@\S+)\s+password: (\S+)", line)
            if match:
                logins[match[1]] = (match[2], match[3])
            if not line and server.poll() is not None:
                break
        assert set(logins) == {"worker", "client", "operator", "auditor"}, server.stderr.read()  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        for role, (email, password) in logins.items():
            token = httpx.post(f"{base}/api/v1/auth/token", data={"username": email, "password": password}, timeout=10)
            assert token.status_code == 200, token.text
            me = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
            assert me.json()["role"] == role
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
