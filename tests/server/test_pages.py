"""The web dashboard through TestClient: each role sees its pages and is refused the others'; CSRF is enforced."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from gigshift.server._roles import PAGE_ROLES

PASSWORD = "correct horse battery staple"
LOGINS = ("worker", "client", "operator", "auditor")
HOME = {"worker": "/worker", "client": "/client", "operator": "/operator", "auditor": "/auditor"}


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found, html[:500]
    return found.group(1)


def _email(api, who: str) -> str:  # type: ignore[no-untyped-def]
    with api.app.state.engine.connect() as conn:
        return conn.execute(sa.text("SELECT email FROM users WHERE id = :i"), {"i": api.seed.users[who]}).scalar_one()


def _login(api, who: str) -> str:  # type: ignore[no-untyped-def]
    """Log in through the form; return a CSRF token for the session's forms."""
    client = api.client
    token = _csrf(client.get("/login").text)
    response = client.post(
        "/login", data={"email": _email(api, who), "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == HOME[api.seed.roles[who]]
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    return token


def _url(api, path: str, audit_id: int = 1) -> str:  # type: ignore[no-untyped-def]
    return (
        path.replace("{task_id}", api.seed.client_task_id)
        .replace("{run_id}", api.seed.run_id)
        .replace("{audit_id}", str(audit_id))
        .replace("{version}", "v1")
    )


def test_pages_need_a_login(sqlite_api):
    for method, path in PAGE_ROLES:
        response = sqlite_api.client.request(method, _url(sqlite_api, path), follow_redirects=False)
        assert response.status_code == 303, (path, response.text)
        assert response.headers["location"].startswith("/login")


def test_login_with_a_wrong_password_shows_the_form_again(sqlite_api):
    token = _csrf(sqlite_api.client.get("/login").text)
    response = sqlite_api.client.post(
        "/login", data={"email": _email(sqlite_api, "worker"), "password": "wrong password!", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "incorrect email or password" in response.text
    assert "gigshift_session" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize("who", LOGINS)
def test_each_role_sees_its_pages_and_is_refused_the_others(api, who):
    sqlite_api = api  # on both backends
    _login(sqlite_api, who)
    home = sqlite_api.client.get("/", follow_redirects=True)
    assert home.status_code == 200 and home.url.path == HOME[who]
    assert "content-security-policy" in home.headers and "http" not in home.headers["content-security-policy"]
    for (method, path), rule in PAGE_ROLES.items():
        if method != "GET" or "{audit_id}" in path:
            continue
        response = sqlite_api.client.get(_url(sqlite_api, path))
        if who in rule:
            assert response.status_code == 200, (who, path, response.text[:2000])
            assert response.headers["content-type"].startswith("text/html")
        else:
            assert response.status_code == 403, (who, path, response.status_code)
            assert f"role &#39;{who}&#39; may not GET" in response.text


def test_a_forged_or_missing_csrf_token_is_a_403_page(api):
    sqlite_api = api  # on both backends
    token = _login(sqlite_api, "operator")
    before = sqlite_api.count("allocation_runs")
    for data in ({}, {"csrf_token": "0" * 64}, {"csrf_token": token[:-1] + ("0" if token[-1] != "0" else "1")}):
        response = sqlite_api.client.post("/operator/allocations", data=data)
        assert response.status_code == 403, response.text
        assert "security token" in response.text and response.headers["content-type"].startswith("text/html")
    # a token for another browser's cookie does not fit this one
    session = sqlite_api.client.cookies.get("gigshift_session")
    sqlite_api.client.cookies.clear()
    sqlite_api.client.cookies.set("gigshift_session", session)
    sqlite_api.client.cookies.set("gigshift_csrf", "someone-elses-cookie")
    response = sqlite_api.client.post("/operator/allocations", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 403
    assert sqlite_api.count("allocation_runs") == before


def test_client_posts_a_task_categorised_from_its_text(sqlite_api):
    token = _login(sqlite_api, "client")
    text = "Translate our product manual from German into English"
    response = sqlite_api.client.post(
        "/client/tasks",
        data={"csrf_token": token, "title": "Manual translation", "text": text, "budget_usd": "250", "is_remote": "on"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = sqlite_api.client.get(response.headers["location"])
    assert page.status_code == 200 and "Manual translation" in page.text
    assert "Categories suggested from the text" in page.text
    bad = sqlite_api.client.post("/client/tasks", data={"csrf_token": token, "text": text, "budget_usd": "lots"})
    assert bad.status_code == 422 and "budget_usd" in bad.text


def test_operator_runs_an_allocation_and_sees_its_status(sqlite_api):
    token = _login(sqlite_api, "operator")
    home = sqlite_api.client.get("/operator")
    assert "Transparency statement" in home.text
    response = sqlite_api.client.post("/operator/allocations", data={"csrf_token": token, "seed": "3"})
    assert response.status_code == 200 and "/operator/allocations/" in str(response.url)
    assert "Status:" in response.text and "completed" in response.text


def test_the_transparency_statement_is_shown_as_html_not_markdown(sqlite_api):
    """The statement is Markdown: the operator's page shows its headings, table and emphasis as HTML, under the
    section's own heading, without inline styles (refused by the Content Security Policy)."""
    from gigshift.server._pages import markdown

    _login(sqlite_api, "operator")
    html = sqlite_api.client.get("/operator").text
    statement = html.split('<div class="statement">', 1)[1].split("</section>", 1)[0]
    assert "<h4>How tasks are allocated" in statement and "<h5>Main parameters" in statement
    assert "<table>" in statement and "<th>component</th>" in statement and "<strong>" in statement
    assert "| --- |" not in statement and "# How" not in statement and "style=" not in statement
    hostile = markdown(
        "# Title\n\n<script>alert(1)</script> [x](javascript:alert(1))\n\n| a | b |\n| - | -: |\n| 1 | 2 |"
    )
    assert "<script>" not in hostile and 'href="javascript' not in hostile and "&lt;script&gt;" in hostile
    assert '<td class="align-right">2</td>' in hostile and "<h4>Title</h4>" in hostile


def test_worker_asks_why_and_sees_advice_and_statement(sqlite_api):
    _login(sqlite_api, "worker")
    why = sqlite_api.client.get("/worker/why", params={"task_id": sqlite_api.seed.client_task_id})
    assert why.status_code == 200
    assert "The answer" in why.text or "no allocation decision" in why.text
    overall = sqlite_api.client.get("/worker/why")
    assert overall.status_code == 200 and "The answer" in overall.text
    # the scope check of the role table applies to pages too
    other = sqlite_api.client.get("/worker/why", params={"worker_id": sqlite_api.seed.other_worker_id})
    assert other.status_code == 403


def test_auditor_runs_a_report_and_downloads_it(sqlite_api):
    token = _login(sqlite_api, "auditor")
    data = {"csrf_token": token, "groups": "sex", "n_bootstrap": "0", "suppress_below": "10"}
    response = sqlite_api.client.post("/auditor/audits", data={**data, "since": "2000-01-01", "until": "2999-12-31"})
    assert response.status_code == 200, response.text
    audit_id = int(str(response.url).rstrip("/").rsplit("/", 1)[1])
    download = sqlite_api.client.get(f"/auditor/audits/{audit_id}/report.json")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    assert isinstance(json.loads(download.text), dict)
    assert "Findings" in response.text and '<title id="chart-title">Impact ratio by group</title>' in response.text
    past = sqlite_api.client.post("/auditor/audits", data={**data, "since": "2000-01-01", "until": "2000-12-31"})
    assert past.status_code == 422 and "no completed allocation decisions" in past.text
    empty = sqlite_api.client.post("/auditor/audits", data={"csrf_token": token, "n_bootstrap": "0"})
    assert empty.status_code == 422 and "groups" in empty.text


def test_logout_ends_the_page_session(sqlite_api):
    token = _login(sqlite_api, "auditor")
    response = sqlite_api.client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    again = sqlite_api.client.get("/auditor", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/login")


def test_bad_page_parameters_are_an_html_page_not_a_500(sqlite_api):
    _login(sqlite_api, "auditor")
    response = sqlite_api.client.get("/auditor/audits/not-a-number")
    assert response.status_code == 422 and response.headers["content-type"].startswith("text/html")
    assert "audit_id" in response.text
    assert sqlite_api.client.get("/auditor/audits/999999").status_code == 404
    api_error = sqlite_api.get("/api/v1/audits/not-a-number", "auditor")
    assert api_error.status_code == 422 and api_error.json()["field"] == "audit_id"


def test_the_session_cookie_is_secure_behind_https(sqlite_api):
    from fastapi.testclient import TestClient

    with TestClient(sqlite_api.app, base_url="https://testserver") as client:
        token = _csrf(client.get("/login").text)
        response = client.post(
            "/login",
            data={"email": _email(sqlite_api, "client"), "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
    assert response.status_code == 303
    session = [c for c in response.headers.get_list("set-cookie") if c.startswith("gigshift_session=")]
    assert session and "Secure" in session[0] and "HttpOnly" in session[0]


@pytest.mark.parametrize("wanted, landing", [("/worker/advice", "/worker/advice"), ("//evil.example/x", "/worker")])
def test_login_returns_to_the_page_asked_for_on_this_site_only(sqlite_api, wanted, landing):
    first = sqlite_api.client.get(wanted if wanted.startswith("/w") else "/worker", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/login?next=")
    token = _csrf(sqlite_api.client.get("/login", params={"next": wanted}).text)
    data = {"email": _email(sqlite_api, "worker"), "password": PASSWORD, "csrf_token": token, "next": wanted}
    response = sqlite_api.client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == landing


def test_client_sees_the_assignment_and_its_explanation(sqlite_api):
    _login(sqlite_api, "client")
    page = sqlite_api.client.get(f"/client/tasks/{sqlite_api.seed.client_task_id}")
    assert page.status_code == 200
    assert "The assignment and its explanation" in page.text and "The assigned candidate" in page.text
    other = sqlite_api.client.get(f"/client/tasks/{sqlite_api.seed.other_client_task_id}")
    assert other.status_code == 404 and other.headers["content-type"].startswith("text/html")


def test_an_audit_period_without_a_time_zone_is_a_422_not_a_500(sqlite_api):
    body = {"groups": ["sex"], "n_bootstrap": 0, "since": "2000-01-01T00:00:00"}
    response = sqlite_api.post("/api/v1/audits", "auditor", json=body)
    assert response.status_code == 422 and response.json()["field"] == "since"
    body["since"] = "2000-01-01T00:00:00Z"
    assert sqlite_api.post("/api/v1/audits", "auditor", json=body).status_code == 201


def _rows(api, query: str, **params: object) -> list[tuple]:  # type: ignore[no-untyped-def]
    with api.app.state.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(query), params)]


def test_worker_revokes_and_rejoins_the_pay_pool(sqlite_api):
    token = _login(sqlite_api, "worker")
    worker_id = sqlite_api.seed.worker_id
    page = sqlite_api.client.get("/worker/pay-pool")
    assert page.status_code == 200 and "Your paid jobs are in the pool" in page.text
    assert "Consent given" in page.text and "What revoking does" in page.text
    revoked = sqlite_api.client.post("/worker/pay-pool/revoke", data={"csrf_token": token})
    assert revoked.status_code == 200 and "Your paid jobs are not in the pool" in revoked.text
    assert "You revoked your consent" in revoked.text and "Join the pay pool" in revoked.text
    query = "SELECT revoked_at IS NULL FROM pay_pool_consents WHERE worker_id = :w ORDER BY id"
    assert _rows(sqlite_api, query, w=worker_id) == [(False,)]
    # revoking twice is refused and writes nothing
    again = sqlite_api.client.post("/worker/pay-pool/revoke", data={"csrf_token": token})
    assert again.status_code == 404 and "no consent to the pay pool in force" in again.text
    joined = sqlite_api.client.post("/worker/pay-pool", data={"csrf_token": token})
    assert joined.status_code == 200 and "You joined the pay pool" in joined.text
    assert _rows(sqlite_api, query, w=worker_id) == [(False,), (True,)]
    assert "in force" in joined.text  # the history lists both consents
    forged = sqlite_api.client.post("/worker/pay-pool/revoke", data={"csrf_token": "0" * 64})
    assert forged.status_code == 403 and _rows(sqlite_api, query, w=worker_id) == [(False,), (True,)]
    # the pages act on the worker's own consent only; naming another worker is refused
    other = sqlite_api.seed.other_worker_id
    assert sqlite_api.client.get("/worker/pay-pool", params={"worker_id": other}).status_code == 403
    refused = sqlite_api.client.post("/worker/pay-pool/revoke", params={"worker_id": other}, data={"csrf_token": token})
    assert refused.status_code == 403
    assert _rows(
        sqlite_api, "SELECT count(*) FROM pay_pool_consents WHERE worker_id = :w AND revoked_at IS NULL", w=other
    ) == [(1,)]


def test_worker_bids_on_an_open_task_with_a_note(sqlite_api):
    token = _login(sqlite_api, "worker")
    task_id = sqlite_api.seed.open_task_id
    home = sqlite_api.client.get("/worker")
    assert 'action="/worker/bids"' in home.text and f'value="{task_id}"' in home.text
    before = sqlite_api.count("bids")
    cases = [
        ({"price_usd": "lots"}, 422, "price_usd: not a number"),
        ({"price_usd": "-5"}, 422, "price_usd"),
        ({"price_usd": ""}, 422, "price_usd: give your price"),
        ({"price_usd": "40", "note": "x" * 501}, 422, "note"),
        ({"price_usd": "40", "task_id": "t-no-such-task"}, 404, "no task"),
    ]
    for extra, status, message in cases:
        data = {"csrf_token": token, "task_id": task_id, **extra}
        response = sqlite_api.client.post("/worker/bids", data=data)
        assert response.status_code == status, (extra, response.text[:500])
        assert message in response.text and "Your bid was not placed" in response.text
    assert sqlite_api.count("bids") == before
    data = {"csrf_token": token, "task_id": task_id, "price_usd": "45.50", "note": "Can start tomorrow"}
    assert sqlite_api.client.post("/worker/bids", data={**data, "csrf_token": "f" * 64}).status_code == 403
    placed = sqlite_api.client.post("/worker/bids", data=data)
    assert placed.status_code == 200 and f"Your bid on task {task_id} is in" in placed.text
    assert "You bid $45.50: “Can start tomorrow”" in placed.text
    query = "SELECT worker_id, price_usd, note FROM bids WHERE task_id = :t"
    assert _rows(sqlite_api, query, t=task_id) == [(sqlite_api.seed.worker_id, 45.5, "Can start tomorrow")]
    twice = sqlite_api.client.post("/worker/bids", data=data)
    assert twice.status_code == 409 and "has bid on task" in twice.text
    assert sqlite_api.count("bids") == before + 1


def test_client_rates_the_work_and_the_worker_sees_it(sqlite_api):
    token = _login(sqlite_api, "client")
    seed = sqlite_api.seed
    query = (
        "SELECT a.task_id FROM assignments a JOIN tasks t USING (task_id) WHERE t.client_id = :c AND a.worker_id = :w"
    )
    task_id = _rows(sqlite_api, query, c=seed.client_id, w=seed.worker_id)[0][0]  # the seeded run gave it to them
    page = sqlite_api.client.get(f"/client/tasks/{task_id}")
    assert "Rate the work" in page.text and 'name="stars"' in page.text
    url = f"/client/tasks/{task_id}/rating"
    for data, message in (({"stars": "6"}, "stars"), ({}, "stars: choose"), ({"stars": "0"}, "stars")):
        bad = sqlite_api.client.post(url, data={"csrf_token": token, **data, "comment": "kept"})
        assert bad.status_code == 422 and message in bad.text and "Your rating was not saved" in bad.text
        assert ">kept</textarea>" in bad.text  # what was typed is kept
    assert sqlite_api.client.post(url, data={"csrf_token": "a" * 64, "stars": "4"}).status_code == 403
    assert sqlite_api.count("ratings") == 0
    # another client's task is refused and writes nothing
    other = sqlite_api.seed.other_client_task_id
    refused = sqlite_api.client.post(f"/client/tasks/{other}/rating", data={"csrf_token": token, "stars": "1"})
    assert refused.status_code == 404 and sqlite_api.count("ratings") == 0
    saved = sqlite_api.client.post(url, data={"csrf_token": token, "stars": "4", "comment": "Quick & careful"})
    assert saved.status_code == 200 and "your rating is saved" in saved.text and "4 of 5 stars" in saved.text
    assert 'name="stars"' not in saved.text  # rated once
    again = sqlite_api.client.post(url, data={"csrf_token": token, "stars": "1"})
    assert again.status_code == 409 and "rated already" in again.text and sqlite_api.count("ratings") == 1
    assert _rows(sqlite_api, "SELECT worker_id, client_id, stars FROM ratings") == [(seed.worker_id, seed.client_id, 4)]
    sqlite_api.client.cookies.clear()
    _login(sqlite_api, "worker")
    home = sqlite_api.client.get("/worker").text
    assert "Ratings of my work" in home and "4 of 5 stars" in home and "Quick &amp; careful" in home
    sqlite_api.client.cookies.clear()
    _login(sqlite_api, "worker2")  # another worker does not see it
    assert "Quick &amp; careful" not in sqlite_api.client.get("/worker").text


def _form_key(html: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def test_operator_creates_a_policy_version_activates_it_and_runs_with_it(sqlite_api):
    token = _login(sqlite_api, "operator")
    page = sqlite_api.client.get("/operator/policies")
    assert page.status_code == 200 and "default-2026.1" in page.text and "(shipped default)" in page.text
    weights = {f"weight_{c}": "1" for c in ("skill_match", "price_fit", "rating", "reliability", "experience")}
    form = {"csrf_token": token, "version": "2026.2-waiting", "weight_waiting": "3", **weights, "mode": "exact"}
    form |= {"fairness_attribute": "sex", "min_impact_ratio": "0.8", "min_group_share": "0.02"}
    bad = [
        ({"weight_rating": "-1"}, 422, "weights.rating"),
        ({"weight_rating": "heavy"}, 422, "weight_rating: not a number"),
        ({"min_impact_ratio": "1.5"}, 422, "fairness.min_impact_ratio"),
        ({"mode": "greedy"}, 422, "fairness.attribute"),  # parity needs the exact solver: the engine's own rule
        ({"fairness_attribute": "shoe_size"}, 422, "fairness.attribute"),
        ({"version": "no spaces please"}, 422, "version: use letters"),
        ({"version": "default-2026.1"}, 409, "exists already"),
        ({"mode": "fastest"}, 422, "mode"),
    ]
    for change, status, message in bad:
        response = sqlite_api.client.post("/operator/policies", data={**form, **change})
        assert response.status_code == status, (change, response.text[:300])
        assert message in response.text and "The version was not stored" in response.text, change
    assert sqlite_api.count("policies") == 0
    assert sqlite_api.client.post("/operator/policies", data={**form, "csrf_token": "b" * 64}).status_code == 403
    created = sqlite_api.client.post("/operator/policies", data=form)
    assert created.status_code == 200 and "Version 2026.2-waiting is stored." in created.text
    stored = sqlite_api.get("/api/v1/policies", "operator").json()["items"]
    assert [(p["version"], p["is_active"], p["is_stored"]) for p in stored] == [
        ("2026.2-waiting", False, True),
        ("default-2026.1", True, False),
    ]
    assert stored[0]["weights"]["waiting"] == 3.0 and stored[0]["fairness_attribute"] == "sex"
    # a run may use it before it is active; the form's key makes a double submit replay the first run
    home = sqlite_api.client.get("/operator").text
    key = _form_key(home)
    assert len(key) >= 20 and key != _form_key(sqlite_api.client.get("/operator").text)  # fresh for each visit
    run = {"csrf_token": token, "seed": "5", "policy_version": "2026.2-waiting", "idempotency_key": key}
    first = sqlite_api.client.post("/operator/allocations", data=run)
    again = sqlite_api.client.post("/operator/allocations", data=run)
    assert first.status_code == again.status_code == 200 and first.url == again.url
    assert "2026.2-waiting" in first.text
    assert _rows(sqlite_api, "SELECT count(*) FROM allocation_runs WHERE idempotency_key = :k", k=key) == [(1,)]
    unknown = sqlite_api.client.post(
        "/operator/allocations", data={**run, "policy_version": "nope", "idempotency_key": "k" * 20}
    )
    assert unknown.status_code == 404 and "no policy version" in unknown.text
    activated = sqlite_api.client.post("/operator/policies/2026.2-waiting/activate", data={"csrf_token": token})
    assert activated.status_code == 200 and "Version 2026.2-waiting is now the active policy." in activated.text
    assert "Active policy: 2026.2-waiting" in sqlite_api.client.get("/operator").text
    assert sqlite_api.client.post("/operator/policies/nope/activate", data={"csrf_token": token}).status_code == 404
    # back to the shipped default: it is stored on activation
    sqlite_api.client.post("/operator/policies/default-2026.1/activate", data={"csrf_token": token})
    active = [
        (p["version"], p["is_stored"])
        for p in sqlite_api.get("/api/v1/policies", "auditor").json()["items"]
        if p["is_active"]
    ]
    assert active == [("default-2026.1", True)]


def _people_rates(api, run_id: str, attribute: str) -> dict[str, tuple[int, float]]:  # type: ignore[no-untyped-def]
    """Workers with a decision in the run and the share of them selected, per group: straight from SQL."""
    query = """
        SELECT g.value, count(DISTINCT d.worker_id),
               count(DISTINCT CASE WHEN d.is_selected THEN d.worker_id END)
        FROM decisions d JOIN worker_group_attributes g ON g.worker_id = d.worker_id AND g.attribute = :a
        WHERE d.run_id = :r GROUP BY g.value
    """
    return {value: (n, selected / n) for value, n, selected in _rows(api, query, a=attribute, r=run_id)}


def test_operator_sees_impact_ratios_per_run_with_small_groups_hidden(sqlite_api):
    from gigshift.server._audits import impact_over_time

    token = _login(sqlite_api, "operator")
    for i in range(2):  # two more runs on freshly posted work
        for j in range(6):
            body = {"category": "translation", "budget_usd": 60 + j, "task_id": f"t-fair-{i}-{j}"}
            assert sqlite_api.post("/api/v1/tasks", "client", json=body).status_code == 201
        sqlite_api.client.post("/operator/allocations", data={"csrf_token": token, "seed": str(i)})
    with sqlite_api.app.state.read_sessions() as session:
        runs = impact_over_time(session, organisation_id=1, attribute="sex", suppress_below=10)
    assert len(runs) == 3 and runs[0]["run_id"] == sqlite_api.seed.run_id  # oldest first
    for run in runs:
        truth = {v: nr for v, nr in _people_rates(sqlite_api, run["run_id"], "sex").items() if nr[0] >= 10}
        shown = {g["category"]: (g["n"], g["rate"]) for g in run["groups"]}
        assert shown.keys() == truth.keys()
        for category, (n, rate) in truth.items():
            assert shown[category][0] == n and shown[category][1] == pytest.approx(rate, abs=1e-12)
        top = max((r for _, r in truth.values()), default=0)
        for g in run["groups"]:
            assert g["impact_ratio"] == pytest.approx(g["rate"] / top, abs=1e-12)
    page = sqlite_api.client.get("/operator/fairness", params={"attribute": "sex"})
    assert page.status_code == 200
    assert '<title id="trend-title">Impact ratio by sex, per run</title>' in page.text
    assert page.text.count('<a href="/operator/allocations/') >= 3
    # a group under the threshold in a run is never shown for it
    small = _people_rates(sqlite_api, sqlite_api.seed.run_id, "race_ethnicity")
    hidden = [v for v, (n, _) in small.items() if n < 10]
    assert hidden
    races = sqlite_api.client.get("/operator/fairness", params={"attribute": "race_ethnicity"}).text
    assert all(f">{v}<" not in races for v in hidden)
    nothing = sqlite_api.client.get("/operator/fairness", params={"attribute": "country", "suppress_below": "1000"})
    assert nothing.status_code == 200 and "nothing can be shown without identifying people" in nothing.text
    for params, message in (({"attribute": "shoe_size"}, "attribute"), ({"suppress_below": "2"}, "suppress_below")):
        bad = sqlite_api.client.get("/operator/fairness", params=params)
        assert bad.status_code == 422 and message in bad.text


def test_worker_sees_a_price_range_from_the_platforms_winning_bids(sqlite_api):
    seed = sqlite_api.seed
    _login(sqlite_api, "worker")
    first = sqlite_api.client.get("/worker/advice")
    assert first.status_code == 200 and "My price range" in first.text
    assert "too little data" in first.text  # the small demo market has few winners per category
    # plant 40 winners in the worker's category at hourly rates spread evenly over 20..30 USD
    category = sqlite_api.get(f"/api/v1/workers/{seed.worker_id}", "worker").json()["categories"][0]
    winners = [r[0] for r in _rows(sqlite_api, "SELECT worker_id FROM workers WHERE hourly_rate_usd IS NOT NULL")]
    with sqlite_api.app.state.engine.begin() as conn:
        for i in range(40):
            task_id, rate = f"t-price-{i}", 20 + 10 * i / 39
            conn.execute(
                sa.text(
                    "INSERT INTO tasks (task_id, organisation_id, client_id, category, category_source, "
                    "required_skills, budget_usd, expected_hours, posted_at, is_remote, status, created_at, "
                    "updated_at) VALUES (:t, 1, :c, :cat, 'given', '[]', 100, 2, :now, 1, 'assigned', :now, :now)"
                ),
                {"t": task_id, "c": seed.client_id, "cat": category, "now": "2026-11-01 00:00:00"},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO assignments (run_id, task_id, worker_id, score, price_usd, created_at) "
                    "VALUES (:r, :t, :w, 0.5, :p, :now)"
                ),
                {"r": seed.run_id, "t": task_id, "w": winners[i % len(winners)], "p": 2 * rate, "now": "2026-11-01"},
            )
    page = sqlite_api.client.get("/worker/advice").text
    found = re.search(r"\$([0-9.]+) – \$([0-9.]+) <span class=\"muted\">an hour; median \$([0-9.]+)", page)
    assert found, page[page.find("My price range") :][:800]
    low, high, median = (float(x) for x in found.groups())
    assert 19 <= low < median < high <= 31 and 23 <= median <= 27, (low, median, high)
