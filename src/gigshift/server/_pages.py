"""The web dashboard: server-rendered pages per role over the same service functions as the API.

Pages authenticate with a session cookie holding the same signed token the API issues (HttpOnly,
SameSite=Strict, Secure behind https) and authorise through :func:`gigshift.server._roles.resolve_actor`,
so one role table decides for API and pages alike. Every form carries a CSRF token: an HMAC of a
random cookie under the server key (a signed double submit), checked before any POST does anything;
a missing or forged token is a 403 page. The pages use no script at all: a running allocation's page
refreshes itself with ``<meta http-equiv="refresh">``, which the content security policy allows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from gigshift._errors import GigshiftError
from gigshift.server import _advice, _allocations, _api, _audits, _pay, _policies, _store
from gigshift.server._models import AllocationRun, AuditReport, Bid, PayPoolConsent, Rating, Task, Worker
from gigshift.server._roles import Actor, get_session, resolve_actor
from gigshift.server._schemas import AllocationIn, AuditIn, BidIn, PolicyIn, RatingIn, TaskIn
from gigshift.server._security import TokenError, read_token
from gigshift.server._store import ApiError

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
SESSION_COOKIE = "gigshift_session"
CSRF_COOKIE = "gigshift_csrf"
CSRF_FIELD = "csrf_token"
HOMES = {"worker": "/worker", "client": "/client", "operator": "/operator", "auditor": "/auditor"}
GROUPS = ("sex", "race_ethnicity", "age_band", "country")
MODES = ("exact", "greedy", "dispatch")
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,200}$")
POOL_K = 11  # pool figures behind fewer workers are withheld (the API's default too)

templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescapes
pages = APIRouter(include_in_schema=False)

_MARKDOWN = MarkdownIt("js-default")  # raw HTML in the text is escaped and unsafe links refused


def markdown(text: str, *, below: int = 3) -> Markup:
    """Markdown (the transparency statement) as HTML inside a page section headed ``<h{below}>``.

    Its headings move under the section's; a table's column alignment becomes a class, as the Content
    Security Policy refuses inline styles; tables scroll sideways on a phone, as the pages' own do.
    """
    html = _MARKDOWN.render(text)
    html = re.sub(r"<(/?)h([1-6])>", lambda m: f"<{m[1]}h{min(int(m[2]) + below, 6)}>", html)
    html = re.sub(r' style="text-align:(left|right|center)"', r' class="align-\1"', html)
    html = html.replace("<table>", '<div class="scroll" role="region" aria-label="Table" tabindex="0"><table>')
    return Markup(html.replace("</table>", "</table></div>"))


templates.env.filters["markdown"] = markdown


class PageError(Exception):
    """An error shown as an HTML page with its status (never a 500 for a caller's mistake)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class LoginNeededError(Exception):
    """No (valid) session: the page redirects to the login form."""


# ----------------------------------------------------------------------------------------------
# sessions and CSRF


def _csrf_for(request: Request, nonce: str) -> str:
    key = request.app.state.secret_key.encode()
    return hmac.new(key, b"csrf:" + nonce.encode(), hashlib.sha256).hexdigest()


def _csrf_nonce(request: Request) -> str:
    nonce = getattr(request.state, "csrf_nonce", None) or request.cookies.get(CSRF_COOKIE)
    if not nonce or len(nonce) > 200:
        nonce = secrets.token_urlsafe(32)
    request.state.csrf_nonce = nonce
    return nonce


def _cookie_options(request: Request) -> dict[str, Any]:
    return {"httponly": True, "samesite": "strict", "secure": request.url.scheme == "https", "path": "/"}


def render(request: Request, name: str, *, status: int = 200, actor: Actor | None = None, **context: Any) -> Response:
    """A template, with the CSRF token for its forms (and its cookie, when new)."""
    nonce = _csrf_nonce(request)
    response = templates.TemplateResponse(
        request,
        name,
        {"actor": actor, "csrf_token": _csrf_for(request, nonce), "csrf_field": CSRF_FIELD, "homes": HOMES, **context},
        status_code=status,
    )
    if request.cookies.get(CSRF_COOKIE) != nonce:
        response.set_cookie(CSRF_COOKIE, nonce, max_age=8 * 3600, **_cookie_options(request))
    return response


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matches the cookie's; otherwise a 403 page."""
    try:
        form = await request.form()
    except Exception:  # a body that is not a form
        raise PageError(400, "the request body is not a form") from None
    nonce = request.cookies.get(CSRF_COOKIE)
    sent = form.get(CSRF_FIELD)
    if not nonce or not isinstance(sent, str) or not hmac.compare_digest(sent, _csrf_for(request, nonce)):
        raise PageError(403, "the form's security token is missing or wrong: reload the page and try again")
    return form


def page_actor(request: Request) -> Actor:
    """The logged-in caller of a page, checked against the role table like an API caller."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginNeededError
    try:
        return resolve_actor(request, token)
    except HTTPException as exc:
        if exc.status_code == 401:
            raise LoginNeededError from None
        raise PageError(exc.status_code, str(exc.detail)) from None
    except ApiError as exc:
        raise PageError(exc.status, exc.message) from None


Viewer = Annotated[Actor, Depends(page_actor)]
Form = Annotated[FormData, Depends(checked_form)]
Db = Annotated[Session, Depends(get_session)]


def _api_call(fn, *args: Any, **kwargs: Any) -> Any:  # type: ignore[no-untyped-def]
    """Call an API handler; its errors become page errors."""
    try:
        return fn(*args, **kwargs)
    except ApiError as exc:
        raise PageError(exc.status, exc.message) from None
    except GigshiftError as exc:
        raise PageError(422, str(exc)) from None


def _optional(fn, *args: Any, **kwargs: Any) -> tuple[Any, str | None]:  # type: ignore[no-untyped-def]
    """Call an API handler whose 404/422 is an expected state (no decision yet); return (value, message)."""
    try:
        return fn(*args, **kwargs), None
    except ApiError as exc:
        if exc.status in (404, 422):
            return None, exc.message
        raise PageError(exc.status, exc.message) from None


def _tasks(actor: Actor, session: Session, *, limit: int) -> list[dict[str, Any]]:
    """The tasks the caller may see, as the API lists them (plain dicts for the templates)."""
    return _items(_api_call(_api.visible_tasks, actor, session, status=None, category=None, limit=limit, offset=0))


def _items(listed: Any) -> list[dict[str, Any]]:
    """The items of an API page (a dict or a Pydantic page), as plain dicts."""
    items = listed["items"] if isinstance(listed, dict) else listed.items
    return [t if isinstance(t, dict) else t.model_dump(mode="json") for t in items]


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ----------------------------------------------------------------------------------------------
# login and logout


@pages.get("/")
def index(request: Request) -> Response:
    try:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            return _see_other(HOMES[read_token(token, secret_key=request.app.state.secret_key)["role"]])
    except (TokenError, KeyError):
        pass
    return _see_other("/login")


def _safe_next(raw: object) -> str | None:
    """A same-site path to return to after login, never another site (``//host``, ``/\\host``)."""
    if not isinstance(raw, str) or not raw.startswith("/") or raw.startswith(("//", "/\\")) or len(raw) > 300:
        return None
    return None if raw.startswith(("/login", "/logout")) else raw


@pages.get("/login")
def login_form(request: Request) -> Response:
    return render(request, "login.html", title="Log in", next=_safe_next(request.query_params.get("next")))


@pages.post("/login")
def login_submit(request: Request, form: Form) -> Response:
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    credentials = SimpleNamespace(username=email, password=password)
    with request.app.state.write_sessions() as session:
        try:
            token = _api.login(request, credentials, session).access_token  # type: ignore[arg-type]
        except ApiError as exc:
            wanted = _safe_next(form.get("next"))
            context = {"title": "Log in", "error": exc.message, "email": email, "next": wanted}
            return render(request, "login.html", status=exc.status, **context)
    role = read_token(token, secret_key=request.app.state.secret_key)["role"]
    response = _see_other(_safe_next(form.get("next")) or HOMES[role])
    response.set_cookie(SESSION_COOKIE, token, max_age=8 * 3600, **_cookie_options(request))
    return response


@pages.post("/logout")
def logout(request: Request, form: Form) -> Response:
    response = _see_other("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ----------------------------------------------------------------------------------------------
# worker


def _worker_home(request: Request, actor: Actor, session: Session, *, status: int = 200, **context: Any) -> Response:
    tasks = _tasks(actor, session, limit=200)
    mine = [t for t in tasks if t["assigned_worker_id"] == actor.worker_id]
    open_tasks = [t for t in tasks if t["status"] == "open"]
    statement, no_statement = _optional(
        _pay.worker_statement, session, actor=actor, worker_id=actor.worker_id, k=POOL_K
    )
    earned = sum(t["budget_usd"] or 0 for t in mine)
    bids = {b.task_id: b for b in session.execute(sa.select(Bid).where(Bid.worker_id == actor.worker_id)).scalars()}
    ratings = session.execute(
        sa.select(Rating, Task.title)
        .join(Task, Task.task_id == Rating.task_id)
        .where(Rating.worker_id == actor.worker_id)
        .order_by(Rating.created_at.desc(), Rating.id.desc())
        .limit(50)
    ).all()
    return render(
        request,
        "worker.html",
        status=status,
        actor=actor,
        title="My work",
        mine=mine,
        open_tasks=open_tasks[:50],
        earned=earned,
        sentences=(statement or {}).get("sentences", []),
        no_statement=no_statement,
        bids=bids,
        ratings=ratings,
        consent=_pay.consent_in_force(session, actor.worker_id or ""),
        **context,
    )


@pages.get("/worker")
def worker_home(request: Request, actor: Viewer, session: Db, bid: str | None = None) -> Response:
    placed = bid if bid is not None and 0 < len(bid) <= 64 else None
    return _worker_home(request, actor, session, placed=placed, values={})


@pages.post("/worker/bids")
def worker_bid(request: Request, actor: Viewer, form: Form, session: Db) -> Response:
    values = {k: str(form.get(k, "")).strip() for k in ("task_id", "price_usd", "note")}
    try:
        price = _number(form, "price_usd")
        if price is None:
            raise PageError(422, "price_usd: give your price in USD")
        body = BidIn(task_id=values["task_id"], price_usd=price, note=values["note"] or None)
        _api.post_bid(body, actor, session)
    except ValidationError as exc:
        session.rollback()
        return _worker_home(request, actor, session, status=422, bid_error=_first_error(exc), values=values)
    except (ApiError, PageError) as exc:
        session.rollback()
        return _worker_home(request, actor, session, status=exc.status, bid_error=exc.message, values=values)
    return _see_other(f"/worker?bid={quote(values['task_id'], safe='')}#open")


def _consents(session: Session, worker_id: str) -> list[PayPoolConsent]:
    query = sa.select(PayPoolConsent).where(PayPoolConsent.worker_id == worker_id)
    return list(session.execute(query.order_by(PayPoolConsent.given_at.desc(), PayPoolConsent.id.desc())).scalars())


@pages.get("/worker/pay-pool")
def worker_pay_pool(request: Request, actor: Viewer, session: Db) -> Response:
    worker_id = actor.worker_id or ""
    history = _consents(session, worker_id)
    in_force = next((c for c in history if c.revoked_at is None), None)
    n_pooled = session.execute(
        sa.select(sa.func.count(sa.distinct(PayPoolConsent.worker_id)))
        .join(Worker, Worker.worker_id == PayPoolConsent.worker_id)
        .where(Worker.organisation_id == actor.organisation_id, PayPoolConsent.revoked_at.is_(None))
    ).scalar_one()
    return render(
        request,
        "pay_pool.html",
        actor=actor,
        title="My contribution to the pay pool",
        consent=in_force,
        history=history,
        terms=_pay.POOL_TERMS,
        n_pooled=n_pooled,
        k=POOL_K,
        done=request.query_params.get("done") if request.query_params.get("done") in ("joined", "revoked") else None,
    )


@pages.post("/worker/pay-pool")
def worker_join_pool(request: Request, actor: Viewer, form: Form, session: Db) -> Response:
    _api_call(_api.join_pay_pool, actor.worker_id, actor, session, Response())
    return _see_other("/worker/pay-pool?done=joined")


@pages.post("/worker/pay-pool/revoke")
def worker_revoke_pool(request: Request, actor: Viewer, form: Form, session: Db) -> Response:
    _api_call(_api.leave_pay_pool, actor.worker_id, actor, session)
    return _see_other("/worker/pay-pool?done=revoked")


@pages.get("/worker/why")
def worker_why(request: Request, actor: Viewer, session: Db, task_id: str | None = None) -> Response:
    if task_id is not None and not (0 < len(task_id) <= 64):
        raise PageError(422, "task_id: give a task id of 1 to 64 characters")
    if task_id is None:
        found, missing = _optional(_api.explanation, actor, session, task_id=None, worker_id=actor.worker_id)
    else:
        found, missing = _optional(_api.explanation, actor, session, task_id=task_id, worker_id=None)
    return render(
        request,
        "why.html",
        actor=actor,
        title="Why did I (not) get this task" if task_id else "Why I got (or missed) tasks",
        task_id=task_id,
        found=found,
        missing=missing,
    )


@pages.get("/worker/advice")
def worker_advice(request: Request, actor: Viewer, session: Db) -> Response:
    advice, missing = _optional(_api.worker_advice, actor.worker_id, actor, session, category=None, top=5)
    pricing = None
    if advice is not None:
        worker = _store.worker_in_org(session, actor, actor.worker_id or "")
        pricing = _advice.price_range(
            session, organisation_id=actor.organisation_id, worker=worker, category=advice["category"]
        )
    return render(
        request,
        "advice.html",
        actor=actor,
        title="My AI exposure, career paths and price",
        advice=advice,
        missing=missing,
        pricing=pricing,
    )


@pages.get("/worker/statement")
def worker_statement(request: Request, actor: Viewer, session: Db) -> Response:
    statement, missing = _optional(_pay.worker_statement, session, actor=actor, worker_id=actor.worker_id, k=POOL_K)
    return render(
        request, "statement.html", actor=actor, title="My pay statement", statement=statement, missing=missing
    )


# ----------------------------------------------------------------------------------------------
# client


def _client_home(request: Request, actor: Actor, session: Session, *, status: int = 200, **context: Any) -> Response:
    tasks = _tasks(actor, session, limit=100)
    return render(request, "client.html", status=status, actor=actor, title="My tasks", tasks=tasks, **context)


@pages.get("/client")
def client_home(request: Request, actor: Viewer, session: Db) -> Response:
    return _client_home(request, actor, session, values={})


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "form"
    if first["type"] == "string_pattern_mismatch":  # the regex itself would tell a user nothing
        return f"{where}: use letters, digits and . _ : - only, starting with a letter or digit"
    return f"{where}: {first['msg']}"


def _number(form: FormData, name: str) -> float | None:
    raw = str(form.get(name, "")).strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise PageError(422, f"{name}: not a number: {raw[:40]!r}") from None


@pages.post("/client/tasks")
def client_post_task(request: Request, actor: Viewer, form: Form, session: Db) -> Response:
    values = {k: str(form.get(k, "")) for k in ("title", "text", "category", "budget_usd", "expected_hours")}
    try:
        body = TaskIn(
            title=values["title"].strip() or None,
            text=values["text"].strip() or None,
            category=values["category"].strip() or None,
            budget_usd=_number(form, "budget_usd"),  # type: ignore[arg-type]
            expected_hours=_number(form, "expected_hours"),
            is_remote=form.get("is_remote") == "on",
        )
        task = _api.create_task(body, actor, session)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        return _client_home(request, actor, session, status=422, error=message, values=values)
    except (ApiError, PageError) as exc:
        session.rollback()
        return _client_home(request, actor, session, status=422, error=exc.message, values=values)
    return _see_other(f"/client/tasks/{quote(task.task_id, safe='')}")


def _client_task(
    request: Request, task_id: str, actor: Actor, session: Session, *, status: int = 200, **context: Any
) -> Response:
    task = _api_call(_api.visible_task, task_id, actor, session)
    found, missing = _optional(_api.explanation, actor, session, task_id=task_id, worker_id=None)
    rating = session.execute(sa.select(Rating).where(Rating.task_id == task_id)).scalar_one_or_none()
    return render(
        request,
        "client_task.html",
        status=status,
        actor=actor,
        title=f"Task {task_id}",
        task=task,
        found=found,
        missing=missing,
        rating=rating,
        **{"values": {}, **context},
    )


@pages.get("/client/tasks/{task_id}")
def client_task(request: Request, task_id: str, actor: Viewer, session: Db) -> Response:
    return _client_task(request, task_id, actor, session, rated=request.query_params.get("rated") == "1")


@pages.post("/client/tasks/{task_id}/rating")
def client_rate(request: Request, task_id: str, actor: Viewer, form: Form, session: Db) -> Response:
    values = {k: str(form.get(k, "")).strip() for k in ("stars", "comment")}
    try:
        if not values["stars"].isdigit():
            raise PageError(422, "stars: choose 1 to 5 stars")
        _api.post_rating(
            task_id, RatingIn(stars=int(values["stars"]), comment=values["comment"] or None), actor, session
        )
    except ValidationError as exc:
        session.rollback()
        return _client_task(request, task_id, actor, session, status=422, rating_error=_first_error(exc), values=values)
    except (ApiError, PageError) as exc:
        session.rollback()
        if isinstance(exc, ApiError) and exc.status == 404:
            raise PageError(404, exc.message) from None
        return _client_task(
            request, task_id, actor, session, status=exc.status, rating_error=exc.message, values=values
        )
    return _see_other(f"/client/tasks/{quote(task_id, safe='')}?rated=1#rating")


# ----------------------------------------------------------------------------------------------
# operator


def _recent_runs(session: Session, actor: Actor) -> list[AllocationRun]:
    query = (
        sa.select(AllocationRun)
        .where(AllocationRun.organisation_id == actor.organisation_id)
        .order_by(AllocationRun.created_at.desc())
        .limit(10)
    )
    return list(session.execute(query).scalars())


@pages.get("/operator")
def operator_home(request: Request, actor: Viewer, session: Db) -> Response:
    policy = _api_call(_api.transparency_of, actor, session)
    runs = _recent_runs(session, actor)
    return render(
        request,
        "operator.html",
        actor=actor,
        title="Allocation",
        policy=policy,
        runs=runs,
        versions=[p["version"] for p in _policies.list_policies(session, actor.organisation_id)],
        # A fresh key per form: submitting the same form twice replays the first run instead of starting another.
        idempotency_key=secrets.token_urlsafe(18),
    )


@pages.post("/operator/allocations")
def operator_run(request: Request, actor: Viewer, form: Form, background_tasks: BackgroundTasks) -> Response:
    raw_seed = str(form.get("seed", "")).strip()
    if raw_seed and not raw_seed.isdigit():
        raise PageError(422, f"seed: a whole number from 0, got {raw_seed[:40]!r}")
    key = str(form.get("idempotency_key", "")).strip() or None
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise PageError(422, "idempotency_key: 8 to 200 letters, digits, - or _; reload the page for a fresh one")
    version = str(form.get("policy_version", "")).strip() or None
    try:
        body = AllocationIn(
            seed=int(raw_seed) if raw_seed else None,
            background=form.get("background") == "on" or None,
            policy_version=version,
        )
    except ValidationError as exc:
        raise PageError(422, _first_error(exc)) from None
    engine = request.app.state.engine
    wanted = _api_call(
        _allocations.request_run,
        engine,
        actor=actor,
        body=body,
        idempotency_key=key,
        background_threshold=request.app.state.background_threshold,
    )
    if wanted.execute and wanted.background:
        background_tasks.add_task(_allocations.execute_in_background, engine, wanted.run_id)
    elif wanted.execute:
        _allocations.execute_run(engine, wanted.run_id)
    return _see_other(f"/operator/allocations/{quote(wanted.run_id, safe='')}")


def _policies_page(request: Request, actor: Actor, session: Session, *, status: int = 200, **context: Any) -> Response:
    items = _policies.list_policies(session, actor.organisation_id)
    active = next(p for p in items if p["is_active"])
    return render(
        request,
        "policies.html",
        status=status,
        actor=actor,
        title="Allocation policies",
        policies=items,
        active=active,
        groups=GROUPS,
        modes=MODES,
        **{"values": {}, **context},
    )


@pages.get("/operator/policies")
def operator_policies(request: Request, actor: Viewer, session: Db) -> Response:
    done = request.query_params.get("done")
    version = request.query_params.get("version", "")[:100]
    notice = {"created": f"Version {version} is stored.", "activated": f"Version {version} is now the active policy."}
    return _policies_page(request, actor, session, notice=notice.get(done or ""))


@pages.post("/operator/policies")
def operator_create_policy(request: Request, actor: Viewer, form: Form, session: Db) -> Response:
    values = {k: str(v).strip() for k, v in form.items() if k != CSRF_FIELD and isinstance(v, str)}
    try:
        weights = {}
        for name in _allocations.active_policy(session, actor.organisation_id).weights:
            weight = _number(form, f"weight_{name}")
            if weight is None:
                raise PageError(422, f"weights.{name}: give a weight (0 leaves the component out)")
            weights[name] = weight
        fairness: dict[str, Any] = {"attribute": values.get("fairness_attribute") or None}
        for name in ("min_impact_ratio", "min_group_share"):
            given = _number(form, name)
            if given is not None:
                fairness[name] = given
        body = PolicyIn(
            version=values.get("version", ""),
            description=values.get("description") or None,
            weights=weights,
            mode=values.get("mode") or None,  # type: ignore[arg-type]
            fairness=fairness,  # type: ignore[arg-type]  # validated as PolicyFairnessIn: errors say fairness.*
            activate=values.get("activate") == "on",
        )
        created = _policies.create_policy(session, actor=actor, body=body)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        return _policies_page(request, actor, session, status=422, error=_first_error(exc), values=values)
    except (ApiError, PageError) as exc:
        session.rollback()
        return _policies_page(request, actor, session, status=exc.status, error=exc.message, values=values)
    done = "activated" if created["is_active"] else "created"
    return _see_other(f"/operator/policies?done={done}&version={quote(created['version'], safe='')}")


@pages.post("/operator/policies/{version}/activate")
def operator_activate_policy(request: Request, version: str, actor: Viewer, form: Form, session: Db) -> Response:
    _api_call(_policies.activate_policy, session, actor=actor, version=version)
    session.commit()
    return _see_other(f"/operator/policies?done=activated&version={quote(version, safe='')}")


@pages.get("/operator/allocations/{run_id}")
def operator_run_status(request: Request, run_id: str, actor: Viewer, session: Db) -> Response:
    run = _api_call(_api.get_allocation, run_id, actor, session)
    assignments = _items(_api_call(_api.run_assignments, run_id, actor, session, limit=50, offset=0))
    return render(
        request,
        "run.html",
        actor=actor,
        title=f"Allocation run {run_id}",
        run=run,
        assignments=assignments,
        refresh=run.status in ("queued", "running"),
    )


PALETTE = ("#0b5394", "#a10000", "#2d6a1f", "#7a3e9d", "#8a5a00", "#005f66", "#4a4a4a")
DASHES = ("", "7 4", "2 4", "9 3 2 3")


def _trend(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Coordinates of an impact-ratio-per-run line chart (drawn as SVG by the template: no script)."""
    left, top, width, height = 48, 14, 380, 200  # narrow, so that labels stay legible when a phone scales it down
    step = width / max(len(runs) - 1, 1)
    categories = sorted({g["category"] for r in runs for g in r["groups"]})
    series = []
    for i, category in enumerate(categories):
        points = [
            (round(left + j * step, 1), round(top + (1 - min(g["impact_ratio"], 1.0)) * height, 1), g["impact_ratio"])
            for j, run in enumerate(runs)
            for g in run["groups"]
            if g["category"] == category and g["impact_ratio"] is not None
        ]
        series.append(
            {"category": category, "points": points, "colour": PALETTE[i % len(PALETTE)], "dash": DASHES[i % 4]}
        )
    ticks = [(round(top + (1 - v) * height, 1), v) for v in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)]
    labels = [(round(left + j * step, 1), j + 1) for j in range(len(runs))]
    box = {"left": left, "top": top, "width": width, "height": height, "bottom": top + height}
    return {"series": series, "ticks": ticks, "labels": labels, "box": box, "categories": categories}


@pages.get("/operator/fairness")
def operator_fairness(
    request: Request, actor: Viewer, session: Db, attribute: str = "sex", suppress_below: str = "10"
) -> Response:
    if attribute not in GROUPS:
        raise PageError(422, f"attribute: one of {', '.join(GROUPS)}; got {attribute[:40]!r}")
    if not suppress_below.strip().isdigit() or not 5 <= int(suppress_below) <= 100_000:
        raise PageError(422, f"suppress_below: a whole number from 5 to 100000, got {suppress_below[:40]!r}")
    runs = _audits.impact_over_time(
        session, organisation_id=actor.organisation_id, attribute=attribute, suppress_below=int(suppress_below)
    )
    return render(
        request,
        "fairness.html",
        actor=actor,
        title="Fairness over time",
        runs=runs,
        chart=_trend(runs),
        attribute=attribute,
        suppress_below=int(suppress_below),
        groups=GROUPS,
    )


# ----------------------------------------------------------------------------------------------
# auditor


@pages.get("/auditor")
def auditor_home(request: Request, actor: Viewer, session: Db) -> Response:
    reports = session.execute(
        sa.select(AuditReport.id, AuditReport.created_at)
        .where(AuditReport.organisation_id == actor.organisation_id)
        .order_by(AuditReport.id.desc())
        .limit(10)
    ).all()
    return render(
        request, "auditor.html", actor=actor, title="Bias audit (LL144)", groups=GROUPS, reports=reports, values={}
    )


def _day(form: FormData, name: str, *, end: bool = False) -> datetime | None:
    raw = str(form.get(name, "")).strip()
    if not raw:
        return None
    try:
        day = datetime.fromisoformat(raw).date()
    except ValueError:
        raise PageError(422, f"{name}: not a date (YYYY-MM-DD): {raw[:40]!r}") from None
    return datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=UTC)


@pages.post("/auditor/audits")
def auditor_run(request: Request, actor: Viewer, form: Form, session: Db) -> Response:
    groups = [g for g in form.getlist("groups") if isinstance(g, str)]
    try:
        body = AuditIn(
            groups=groups,  # type: ignore[arg-type]
            intersect=form.get("intersect") == "on",
            since=_day(form, "since"),
            until=_day(form, "until", end=True),
            suppress_below=int(_number(form, "suppress_below") or 10),
            n_bootstrap=int(_number(form, "n_bootstrap") or 0),
            description=str(form.get("description", ""))[:2000],
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise PageError(422, f"{'.'.join(str(p) for p in first['loc']) or 'form'}: {first['msg']}") from None
    audit_id, _text = _api_call(_audits.run_audit, session, actor=actor, body=body)
    session.commit()
    return _see_other(f"/auditor/audits/{audit_id}")


def _report(session: Session, actor: Actor, audit_id: int) -> AuditReport:
    report = session.get(AuditReport, audit_id)
    if report is None or report.organisation_id != actor.organisation_id:
        raise PageError(404, f"audit_id: no audit report {audit_id}")
    return report


@pages.get("/auditor/audits/{audit_id}")
def auditor_report(request: Request, audit_id: int, actor: Viewer, session: Db) -> Response:
    report = _report(session, actor, audit_id)
    data = json.loads(report.report_json)
    return render(request, "report.html", actor=actor, title=f"Audit report {audit_id}", audit_id=audit_id, report=data)


@pages.get("/auditor/audits/{audit_id}/report.json")
def auditor_download(audit_id: int, actor: Viewer, session: Db) -> Response:
    report = _report(session, actor, audit_id)
    return Response(
        content=report.report_json,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="gigshift-audit-{audit_id}.json"'},
    )


# ----------------------------------------------------------------------------------------------
# errors as pages


async def page_error(request: Request, exc: PageError) -> Response:
    return render(request, "error.html", status=exc.status, title=f"Error {exc.status}", message=exc.message)


async def login_needed(request: Request, _exc: LoginNeededError) -> Response:
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return _see_other("/login?next=" + quote(wanted, safe=""))
