"""Load on loopback: a real ``gigshift serve`` under an open-loop mix of reads, task posts, bids and allocation runs.

Seeds a demo-sized database (``gigshift.server.load_demo``: 300 workers, 450 tasks, one allocation run),
starts the server as a subprocess (``gigshift serve --workers N``), logs each role in once, then sends
requests at a constant arrival rate for ``--duration`` seconds. The schedule is fixed in advance: request
``i`` is due at ``start + i / rate`` whatever the earlier ones are doing, and its latency counts from that
due time, so a slow server shows as latency instead of as fewer requests (no coordinated omission).

The mix (of ``--rate``): 60 % reads (task lists as operator, client and worker, one task, worker
profiles, explanations, the transparency statement, /me), 25 % task posts by the client (half with a
category, half categorised from their text through the atlas), 10 % bids (the operator bidding for
seeded workers on tasks this run posted), 5 % reads of the latest run's assignments. Besides the rate,
an operator starts an allocation run every ``--allocate-every`` seconds with a fresh Idempotency-Key;
runs go on while the load does.

An answer is an error when its status is not one the request may get: a bid may meet 409 (an allocation
run assigned the task first), nothing else may. The table gives requests sent and completed, errors by
status, throughput and p50/p95/p99/max latency, overall and per kind; the exit code is 1 on any error.

PostgreSQL: a throwaway cluster from the installed server binaries (as the tests start one), with
``synchronous_commit=off`` (a crash may lose the last commits, never corrupt; like SQLite's WAL with
``synchronous=NORMAL``), or ``--db-url`` for a running server.

Target (issue #10, 2 cores): 60 s at 200 requests/s, 0 errors, p99 under 250 ms on PostgreSQL.

Run: ``python benchmarks/load.py [--db sqlite|postgresql] [--duration 60] [--rate 200] [--workers N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections import defaultdict
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

#: Share of the arrival rate per request kind; allocation runs come on their own clock.
MIX = {
    "list_tasks": 0.20,
    "get_task": 0.10,
    "list_workers": 0.08,
    "explanation": 0.08,
    "transparency": 0.07,
    "me": 0.07,
    "post_task": 0.25,
    "bid": 0.10,
    "assignments": 0.05,
}
EXPECTED = defaultdict(lambda: {200}, {"post_task": {201}, "bid": {201, 409}, "allocate": {200, 201, 202}})
TASK_TEXTS = [
    "Write a blog post about home composting for beginners",
    "Translate a product manual from German into English",
    "Design a logo and business card for a bakery",
    "Build a small Shopify store with ten products",
    "Clean up a spreadsheet of customer addresses",
    "Edit a ten minute YouTube video with captions",
    "Assemble flat-pack furniture in a two bedroom flat",
    "Bookkeeping for a small cafe: reconcile last quarter",
]


# ----------------------------------------------------------------------------------------------
# databases


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def sqlite_database(workdir: Path):  # type: ignore[no-untyped-def]
    yield f"sqlite:///{workdir / 'load.db'}"


@contextmanager
def postgres_cluster(workdir: Path):  # type: ignore[no-untyped-def]
    """A throwaway PostgreSQL cluster on loopback (the server tests' own); the URL of an empty database.

    Durable like a deployment (fsync and full-page writes on, unlike the tests), with ``synchronous_commit``
    off: a crash may lose the last commits, never corrupt, like SQLite's WAL with ``synchronous=NORMAL``.
    """
    import psycopg

    from _postgres import throwaway_postgres

    settings = "-c fsync=on -c full_page_writes=on -c max_connections=200 -c shared_buffers=256MB"
    with throwaway_postgres(settings=settings, who="load.py --db postgresql") as cluster:
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE gigshift")
        yield cluster.database_url("gigshift")


# ----------------------------------------------------------------------------------------------
# the server


@contextmanager
def server(url: str, *, workers: int, workdir: Path):  # type: ignore[no-untyped-def]
    """``gigshift serve`` on a free port, as a subprocess; its base URL once /healthz answers."""
    import httpx

    port = _free_port()
    env = {**os.environ, "GIGSHIFT_SECRET_KEY": secrets.token_urlsafe(48)}
    log = (workdir / "server.log").open("w")
    exe = Path(sys.executable).with_name("gigshift")  # the gigshift of this Python, whatever PATH says
    command = [str(exe) if exe.is_file() else sys.executable, *([] if exe.is_file() else ["-m", "gigshift"])]
    command += ["serve", "--db", url, "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                sys.exit(f"load.py: the server exited ({process.returncode}); log: {workdir / 'server.log'}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                sys.exit("load.py: the server did not answer /healthz within 120 s")
            time.sleep(0.3)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


# ----------------------------------------------------------------------------------------------
# the load


@dataclass
class Fixture:
    """What the requests are about: tokens per role and ids read from the seeded database."""

    tokens: dict[str, str]
    worker_id: str
    client_id: str
    task_ids: list[str]
    decided_task_ids: list[str]
    worker_ids: list[str]
    run_id: str
    posted: list[str] = field(default_factory=list)  # tasks this run posted, for bids
    bidders: dict[str, int] = field(default_factory=dict)  # task -> next bidder index


@dataclass
class Result:
    kind: str
    status: int  # 0: no answer (transport error or timeout)
    latency_s: float
    error: str | None = None
    due_s: float = 0.0  # when it was due, in seconds since the measured load began


def seeded_ids(url: str) -> dict[str, object]:
    import sqlalchemy as sa

    from gigshift.server._db import make_engine
    from gigshift.server._models import AllocationRun, Decision, Task, Worker

    engine = make_engine(url)
    with engine.connect() as conn:
        tasks = conn.execute(sa.select(Task.task_id).order_by(Task.task_id)).scalars().all()
        decided = conn.execute(sa.select(Decision.task_id).distinct().order_by(Decision.task_id)).scalars().all()
        workers = (
            conn.execute(
                sa.select(Worker.worker_id).where(Worker.hourly_rate_usd.is_not(None)).order_by(Worker.worker_id)
            )
            .scalars()
            .all()
        )
        run_id = conn.execute(sa.select(AllocationRun.run_id).limit(1)).scalar_one()
    engine.dispose()
    return {"task_ids": tasks, "decided_task_ids": decided, "worker_ids": workers, "run_id": run_id}


def request_for(kind: str, fx: Fixture, rng: random.Random) -> tuple[str, str, str, dict | None, dict | None]:
    """(role, method, path, query, json) of one request of this kind."""
    if kind == "list_tasks":
        role = rng.choice(["operator", "client", "worker"])
        return role, "GET", "/api/v1/tasks", {"limit": 50, "offset": rng.randrange(0, 200)}, None
    if kind == "get_task":
        return "operator", "GET", f"/api/v1/tasks/{rng.choice(fx.task_ids)}", None, None
    if kind == "list_workers":
        return "operator", "GET", "/api/v1/workers", {"limit": 50, "offset": rng.randrange(0, 250)}, None
    if kind == "explanation":
        if rng.random() < 0.5:
            return "worker", "GET", "/api/v1/explanations", {"worker_id": fx.worker_id}, None
        return "operator", "GET", "/api/v1/explanations", {"task_id": rng.choice(fx.decided_task_ids)}, None
    if kind == "transparency":
        return rng.choice(["worker", "client"]), "GET", "/api/v1/transparency", None, None
    if kind == "me":
        return rng.choice(["worker", "client", "operator", "auditor"]), "GET", "/api/v1/me", None, None
    if kind == "post_task":
        task_id = f"load-{uuid.uuid4().hex[:12]}"
        body: dict[str, object] = {"task_id": task_id, "budget_usd": round(rng.uniform(50, 900), 2)}
        if rng.random() < 0.5:
            body |= {"category": rng.choice(["copywriting", "data-entry", "translation", "graphic-design"])}
        else:
            body |= {"text": rng.choice(TASK_TEXTS), "location": "Leeds"}
        body["expected_hours"] = round(rng.uniform(1, 20), 1)
        return "client", "POST", "/api/v1/tasks", None, body
    if kind == "bid":
        # a task this run posted (and was told is stored), each bidder once per task: a 409 means an
        # allocation run assigned it first
        task_id = rng.choice(fx.posted[-200:]) if fx.posted else rng.choice(fx.task_ids)
        n = fx.bidders.get(task_id, 0)
        fx.bidders[task_id] = n + 1
        worker_id = fx.worker_ids[(zlib.crc32(task_id.encode()) + n) % len(fx.worker_ids)]
        body = {"task_id": task_id, "worker_id": worker_id, "price_usd": round(rng.uniform(40, 800), 2)}
        return "operator", "POST", "/api/v1/bids", None, body
    if kind == "assignments":
        return "auditor", "GET", f"/api/v1/allocations/{fx.run_id}/assignments", {"limit": 100}, None
    raise ValueError(f"kind: unknown request kind {kind!r}")


async def send(session, fx: Fixture, kind: str, spec, due: float, start: float, results: list[Result]) -> None:  # type: ignore[no-untyped-def]
    import aiohttp

    role, method, path, query, body = spec
    headers = {"Authorization": f"Bearer {fx.tokens[role]}"}
    if kind == "allocate":
        headers["Idempotency-Key"] = f"load-{uuid.uuid4().hex}"
    try:
        async with session.request(method, path, params=query, json=body, headers=headers) as response:
            status, error = response.status, None
            text = await response.text()
        if status not in EXPECTED[kind]:
            error = text[:200]
        elif kind == "post_task":
            fx.posted.append(body["task_id"])
    except (TimeoutError, aiohttp.ClientError) as exc:
        status, error = 0, f"{type(exc).__name__}: {exc}"
    results.append(Result(kind, status, time.perf_counter() - due, error, due - start))


async def drive(  # type: ignore[no-untyped-def]
    base: str, fx: Fixture, *, duration: float, rate: float, allocate_every: float, seed: int, connections: int
):
    """Open loop: every request at its due time, whatever the ones before it are doing."""
    import aiohttp

    rng = random.Random(seed)
    kinds, weights = list(MIX), list(MIX.values())
    n = int(duration * rate)
    schedule = rng.choices(kinds, weights=weights, k=n)
    # aiohttp, not httpx: the generator shares the server's two cores, and aiohttp's client costs several
    # times less CPU per request. The pool is bounded; requests that wait for a connection still count
    # their latency from their due time.
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=60)
    results: list[Result] = []
    pending: set[asyncio.Task] = set()
    async with aiohttp.ClientSession(base_url=base, connector=connector, timeout=timeout) as session:
        start = time.perf_counter() + 0.5
        runs = [start + allocate_every * (k + 0.5) for k in range(int(duration / allocate_every))]
        events = sorted([(start + i / rate, kind) for i, kind in enumerate(schedule)] + [(t, "allocate") for t in runs])
        for due, kind in events:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            spec = ("operator", "POST", "/api/v1/allocations", None, {}) if kind == "allocate" else None
            spec = spec or request_for(kind, fx, rng)
            task = asyncio.create_task(send(session, fx, kind, spec, due, start, results))
            pending.add(task)
            task.add_done_callback(pending.discard)
        sent_at = time.perf_counter()
        if pending:
            await asyncio.wait(pending, timeout=120)
        elapsed = time.perf_counter() - start
    return results, len(events), elapsed, sent_at - start


def log_in(base: str, logins) -> dict[str, str]:  # type: ignore[no-untyped-def]
    import httpx

    tokens = {}
    for login in logins:
        response = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": login.email, "password": login.password}, timeout=60
        )
        response.raise_for_status()
        tokens[login.role] = response.json()["access_token"]
    return tokens


# ----------------------------------------------------------------------------------------------
# the report


def percentile(values: Sequence[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q)) if len(values) else float("nan")


def report(results: list[Result], *, sent: int, elapsed: float, send_span: float, args, label: str) -> int:  # type: ignore[no-untyped-def]
    errors = [r for r in results if r.status not in EXPECTED[r.kind]]
    by_status: dict[str, int] = defaultdict(int)
    for r in errors:
        by_status[str(r.status or "no answer")] += 1
    print(f"\n## Load: {label}, {args.rate:g} requests/s for {args.duration:g} s, {args.workers} server process(es)\n")
    print(f"load average (1, 5, 15 min) at the start: {args.load_before}; at the end: {_load()}")
    print(
        f"sent {sent}, completed {len(results)}, errors {len(errors)}"
        + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(by_status.items()))})" if errors else "")
        + f"; throughput {len(results) / elapsed:.1f}/s (sending took {send_span:.1f} s)\n"
    )
    per_request = args.server_cpu_s / max(len(results), 1) * 1000
    print(
        f"server CPU {args.server_cpu_s:.1f} s = {per_request:.1f} ms per request (on {os.cpu_count()} cores: at most "
        f"~{os.cpu_count() * 1000 / per_request:.0f} requests/s with nothing else running); this load generator's "
        f"CPU {args.client_cpu_s:.1f} s"
        + ("" if args.stolen_s is None else f"; CPU stolen by the hypervisor meanwhile {args.stolen_s:.1f} s")
        + "\n"
    )
    print("| kind | sent | 2xx | 409 | errors | p50 ms | p95 ms | p99 ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    groups: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        groups[r.kind].append(r)
    for kind in [*MIX, "allocate", "all"]:
        rows = results if kind == "all" else groups.get(kind, [])
        if not rows:
            continue
        ms = [r.latency_s * 1000 for r in rows]
        ok = sum(200 <= r.status < 300 for r in rows)
        conflict = sum(r.status == 409 for r in rows)
        bad = sum(r.status not in EXPECTED[r.kind] for r in rows)
        name = f"**{kind}**" if kind == "all" else kind
        print(
            f"| {name} | {len(rows)} | {ok} | {conflict} | {bad} | {percentile(ms, 50):.1f} | {percentile(ms, 95):.1f}"
            f" | {percentile(ms, 99):.1f} | {max(ms):.1f} |"
        )
    print(during_runs(results))
    for r in errors[:5]:
        print(f"error: {r.kind} -> {r.status or 'no answer'}: {r.error}")
    missing = sent - len(results)
    if missing:
        print(f"error: {missing} requests got no answer before the end")
    return 1 if errors or missing else 0


def during_runs(results: list[Result]) -> str:
    """Latency of the requests due while an allocation request was in flight, beside the others'."""
    import numpy as np

    runs = np.array([(r.due_s, r.due_s + r.latency_s) for r in results if r.kind == "allocate"]).reshape(-1, 2)
    due = np.array([r.due_s for r in results if r.kind != "allocate"])
    ms = np.array([r.latency_s * 1000 for r in results if r.kind != "allocate"])
    busy = ((due[:, None] >= runs[:, 0]) & (due[:, None] <= runs[:, 1])).any(axis=1)
    parts = [
        f"{label} {part.size} requests, p50 {percentile(part, 50):.1f} ms, p99 {percentile(part, 99):.1f} ms"
        for label, part in (("during an allocation request:", ms[busy]), ("at other times:", ms[~busy]))
        if part.size
    ]
    return "\n" + "; ".join(parts) + "\n"


def write_timeline(results: list[Result], path: Path) -> None:
    with path.open("w") as out:
        out.write("due_s,kind,status,latency_ms\n")
        for r in sorted(results, key=lambda r: r.due_s):
            out.write(f"{r.due_s:.4f},{r.kind},{r.status},{r.latency_s * 1000:.2f}\n")


def server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by the server and its worker processes."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def stolen_s() -> float | None:
    """CPU seconds the hypervisor has taken from this virtual machine so far (all cores; Linux), else None.

    A shared machine's p99 follows its noisy neighbours: time stolen during the run explains a slow one.
    """
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--db-url", default=None, help="An existing empty database instead of a throwaway one.")
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds of load.")
    parser.add_argument("--rate", type=float, default=200.0, help="Requests per second (open loop).")
    parser.add_argument("--workers", type=int, default=2, help="Server processes (one per core).")
    parser.add_argument("--allocate-every", type=float, default=5.0, help="Seconds between allocation runs.")
    parser.add_argument("--warmup", type=float, default=5.0, help="Seconds at a quarter of the rate, not measured.")
    parser.add_argument("--connections", type=int, default=64, help="Most connections the client opens at once.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="Keep the work directory (server log) after a clean run.")
    parser.add_argument("--timeline", type=Path, default=None, help="CSV of every request (due s, kind, status, ms).")
    args = parser.parse_args()
    if args.duration <= 0 or args.rate <= 0 or args.allocate_every <= 0:
        parser.error("--duration, --rate and --allocate-every must be > 0")
    args.load_before = _load()

    from gigshift.server import load_demo

    workdir = Path(tempfile.mkdtemp(prefix="gigshift-load-"))
    code = 2
    try:
        database = sqlite_database if args.db == "sqlite" else postgres_cluster
        with database(workdir) if args.db_url is None else _given(args.db_url) as url:
            clock = time.perf_counter()
            logins = load_demo(url)
            print(f"seeded the demo market in {time.perf_counter() - clock:.1f} s ({args.db})", flush=True)
            ids = seeded_ids(url)
            with server(url, workers=args.workers, workdir=workdir) as (base, pid):
                tokens = log_in(base, logins)
                by_role = {login.role: login for login in logins}
                fx = Fixture(
                    tokens=tokens,
                    worker_id=by_role["worker"].worker_id,
                    client_id=by_role["client"].client_id,
                    **ids,  # type: ignore[arg-type]
                )
                if args.warmup > 0:  # a running server: the atlas loaded, connections open, code paths warm
                    asyncio.run(
                        drive(
                            base,
                            fx,
                            duration=args.warmup,
                            rate=args.rate / 4,
                            allocate_every=1e9,
                            seed=0,
                            connections=args.connections,
                        )
                    )
                print(f"load average before the measured run: {_load()}", flush=True)
                cpu_before, own_before, stolen_before = server_cpu_s(pid), time.process_time(), stolen_s()
                results, sent, elapsed, span = asyncio.run(
                    drive(
                        base,
                        fx,
                        duration=args.duration,
                        rate=args.rate,
                        allocate_every=args.allocate_every,
                        seed=args.seed,
                        connections=args.connections,
                    )
                )
                args.server_cpu_s = server_cpu_s(pid) - cpu_before
                args.client_cpu_s = time.process_time() - own_before
                stolen_after = stolen_s()
                args.stolen_s = None if stolen_before is None or stolen_after is None else stolen_after - stolen_before
            code = report(results, sent=sent, elapsed=elapsed, send_span=span, args=args, label=args.db)
            if args.timeline is not None:
                write_timeline(results, args.timeline)
    except BaseException:
        code = 2
        raise
    finally:
        if code or args.keep:  # kept for the post-mortem
            print(f"server log: {workdir / 'server.log'}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return code


@contextmanager
def _given(url: str):  # type: ignore[no-untyped-def]
    yield url


if __name__ == "__main__":
    sys.exit(main())
