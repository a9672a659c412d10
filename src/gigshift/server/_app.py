"""The FastAPI application: one factory, security headers, a body-size limit and JSON errors that name the field.

The app keeps no state between requests beyond its connection pool and settings: every record
lives in the database, so several processes (or hosts, on PostgreSQL) can serve one database.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import gigshift
from gigshift._errors import GigshiftError
from gigshift.server._allocations import stale_after
from gigshift.server._api import api, public
from gigshift.server._db import POOL_SIZE, make_engine, read_engine, read_session_factory, resolve_url, session_factory
from gigshift.server._migrate import check_current
from gigshift.server._security import resolve_secret_key
from gigshift.server._store import ApiError

log = logging.getLogger("gigshift.server")

MAX_BODY_BYTES = 1_000_000
BACKGROUND_THRESHOLD = 1000  # open tasks above which a run goes to the background by default

#: No external source of anything: pages may use only what this server serves.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "cache-control": "no-store",
}


class _TooLarge(HTTPException):
    """Raised while the body streams in; FastAPI re-raises HTTPExceptions from body parsing as they are."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"request body over {limit} bytes")


_SECURITY_HEADER_BYTES = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]


class GuardMiddleware:
    """Refuse bodies over ``max_body_bytes`` (by Content-Length, or while streaming) and add security headers."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope.get("headers") or [] if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await self._send_with_headers(self._too_large(), scope, receive, send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise _TooLarge(self.max_body_bytes)
            return message

        async def secured_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _SECURITY_HEADER_BYTES if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, limited_receive, secured_send)
        except _TooLarge:
            if not started:
                await self._send_with_headers(self._too_large(), scope, receive, send)

    def _too_large(self) -> JSONResponse:
        return JSONResponse({"detail": f"request body over {self.max_body_bytes} bytes", "field": "body"}, 413)

    @staticmethod
    async def _send_with_headers(response: JSONResponse, scope: Scope, receive: Receive, send: Send) -> None:
        for key, value in SECURITY_HEADERS.items():
            response.headers[key] = value
        await response(scope, receive, send)


def _field(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form", "[key]")]
    return ".".join(parts) or str(loc[0] if loc else "body")


def _error(status: int, message: str, field: str | None, **extra: object) -> JSONResponse:
    return JSONResponse({"detail": message, "field": field, **extra}, status_code=status)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = exc.errors()
    first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
    if not request.url.path.startswith("/api/"):  # a dashboard page: an HTML error page
        from gigshift.server._pages import PageError, page_error

        message = f"{_field(first.get('loc', ()))}: {first.get('msg', 'invalid')}"
        return await page_error(request, PageError(422, message))
    if first.get("type") == "json_invalid":
        return _error(400, f"body: not valid JSON ({first.get('ctx', {}).get('error', 'parse error')})", "body")
    field = _field(first.get("loc", ()))
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    detail = [{"field": _field(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type")} for e in errors]
    return _error(422, f"{field}: {first.get('msg', 'invalid')}{more}", field, errors=detail)


async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
    response = _error(exc.status, exc.message, exc.field)
    if exc.status == 429:
        response.headers["Retry-After"] = "60"
    return response


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    field = "body" if exc.status_code == 413 else None
    response = _error(exc.status_code, str(exc.detail), field)
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    if exc.status_code == 405:
        # Starlette names only the first route matching the path, but a path may have one route per method.
        response.headers["Allow"] = ", ".join(_allowed_methods(request))
    return response


def _allowed_methods(request: Request) -> list[str]:
    from starlette.routing import Match

    methods: set[str] = set()
    for route in request.app.router.routes:
        if getattr(route, "methods", None) and route.matches(request.scope)[0] != Match.NONE:
            methods.update(route.methods)
    return sorted(methods)


async def _gigshift_error(_request: Request, exc: GigshiftError) -> JSONResponse:
    return _error(422, str(exc), None)


async def _bug(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return _error(500, "internal error; the server log has the details", None)


ENV_REQUEST_THREADS = "GIGSHIFT_REQUEST_THREADS"
REQUEST_THREADS = 4


def request_threads() -> int:
    """Threads per server process for the handlers (``$GIGSHIFT_REQUEST_THREADS``, or 4)."""
    raw = os.environ.get(ENV_REQUEST_THREADS, "").strip()
    if not raw:
        return REQUEST_THREADS
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise GigshiftError(f"{ENV_REQUEST_THREADS}: expected a whole number of threads from 1 to 1000, got {raw!r}")
    return int(raw)


def create_app(
    database_url: str | None = None,
    *,
    secret_key: str | None = None,
    dev: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
    background_threshold: int = BACKGROUND_THRESHOLD,
) -> FastAPI:
    """The gigshift service on a migrated database.

    Parameters
    ----------
    database_url : str, optional
        ``sqlite:///FILE`` or ``postgresql://...``; default ``$GIGSHIFT_DATABASE_URL``, else
        ``sqlite:///gigshift.db``. The database must be at the newest migration (``gigshift db upgrade``).
    secret_key : str, optional
        Token signing key; default ``$GIGSHIFT_SECRET_KEY``. With ``dev`` only, one is generated
        and kept in the database, with a warning.
    dev : bool, default=False
        Development mode (``gigshift serve --demo``).
    max_body_bytes : int, default=1_000_000
        Larger request bodies get 413.
    background_threshold : int, default=1000
        Allocation runs over more open tasks than this run as background jobs unless the request says.

    The handlers run on ``$GIGSHIFT_REQUEST_THREADS`` threads (default 4; ``gigshift serve --threads``);
    background allocation runs on threads of their own.
    """
    url = resolve_url(database_url)
    threads = request_threads()
    # The caller check runs on the event loop, which also hands the handlers' connections back: were every
    # connection held by a handler, it would wait for one that only it can return.
    engine = make_engine(url, pool_size=max(POOL_SIZE, threads + POOL_SIZE // 2))
    check_current(engine)
    stale_after()  # a bad GIGSHIFT_STALE_AFTER_S stops the start, not the first allocation run
    _one_blas_thread()
    app = FastAPI(
        title="gigshift",
        version=gigshift.__version__,
        summary="Fair, explained task allocation, audits and advice for gig platforms and co-ops.",
        docs_url=None,  # the Swagger and ReDoc pages load scripts from a CDN; /openapi.json describes the API
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=_warm_up,
    )
    app.state.engine = engine
    app.state.read_engine = read_engine(engine)
    app.state.read_sessions = read_session_factory(engine)
    app.state.write_sessions = session_factory(engine, write=True)
    app.state.secret_key = resolve_secret_key(engine, secret_key=secret_key, dev=dev)
    app.state.background_threshold = background_threshold
    app.state.request_threads = threads
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(GigshiftError, _gigshift_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _bug)
    app.add_middleware(GuardMiddleware, max_body_bytes=max_body_bytes)

    @app.get("/healthz", tags=["health"], summary="Liveness and database check")
    def healthz() -> dict[str, object]:
        import sqlalchemy as sa

        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return {"status": "ok", "version": gigshift.__version__, "database": engine.dialect.name}

    app.include_router(public)
    app.include_router(api)
    _mount_pages(app)
    return app


@asynccontextmanager
async def _warm_up(_app: FastAPI) -> AsyncIterator[None]:
    """Load the atlas and the allocation engine as the server starts, in the background, rather than in the
    first task posts and the first run; then set aside what they loaded from the garbage collector."""
    threading.Thread(target=_warm, name="gigshift-warm-up", daemon=True).start()
    import anyio.to_thread

    # Few threads serve the (synchronous) handlers: their work holds the GIL but for the database's answers,
    # and forty threads taking turns at it cost more CPU per request than four (benchmarks/load.py).
    anyio.to_thread.current_default_thread_limiter().total_tokens = _app.state.request_threads
    yield


def _warm() -> None:
    from gigshift.server._store import _category_table
    from gigshift.taxonomy import lookup

    try:
        _category_table()
        lookup("translate a website into Spanish", top=1)
        import gigshift.allocate  # noqa: F401  (the engine's imports: a second of the first run otherwise)
    except Exception:  # only speed is at stake: the first request that needs them loads them
        log.exception("loading the atlas and the allocation engine at start-up failed")
    # What the process has loaded by now lives as long as it does. A full collection walked these quarter of a
    # million objects in 170 ms, holding the GIL and so every request of the process; frozen, they are skipped.
    gc.collect()
    gc.freeze()


def _one_blas_thread() -> None:
    """Requests already run in parallel threads and processes; a BLAS or OpenMP pool inside each call only
    oversubscribes the cores. On a busy two-core machine an atlas lookup (a task posted as text) took
    120 ms with two OpenBLAS threads and 21 ms with one."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


def _mount_pages(app: FastAPI) -> None:
    """The web dashboard (gigshift.server._pages): its routes, stylesheet and HTML error pages."""
    from fastapi.staticfiles import StaticFiles

    from gigshift.server import _pages

    app.add_exception_handler(_pages.PageError, _pages.page_error)  # type: ignore[arg-type]
    app.add_exception_handler(_pages.LoginNeededError, _pages.login_needed)  # type: ignore[arg-type]
    app.include_router(_pages.pages)
    app.mount("/static", StaticFiles(directory=_pages.STATIC_DIR), name="static")


def from_environment() -> FastAPI:
    """``uvicorn --factory gigshift.server._app:from_environment``: settings from GIGSHIFT_* variables only."""
    return create_app(os.environ.get("GIGSHIFT_DATABASE_URL"))
