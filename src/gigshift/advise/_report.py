"""The career card: one self-contained HTML page (Plotly inlined, no network) for one worker's work.

Sections: how exposed the work is and how its tasks split (:func:`~gigshift.advise.tasks`); career paths
with what to learn (:func:`~gigshift.advise.paths`); the Online Labour Index trend of the work's online
class (:func:`gigshift.insights.trends`); and, given a market, the niches and rate ranges of the work's gig
category there (:func:`~gigshift.advise.niches`, :func:`~gigshift.advise.price`).

Work that is not one gig category (an occupation, or free text) is placed in the category whose member
occupations carry the most of its weight (the atlas's occupation weights); its profile on the market is
that category with the technology skills O*NET lists for its occupations and the category's leading
O*NET skills.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import polars as pl

import gigshift
from gigshift._html import esc, figure_html, page
from gigshift._provenance import Provenance
from gigshift._tables import finite
from gigshift.advise._market_results import NichesResult, PriceResult
from gigshift.advise._origin import Origin, OriginKind
from gigshift.advise._results import PathsResult, TasksResult

_CALLER = "career_card"
#: The two profiles the card prices: a newcomer and an established worker.
PRICE_PROFILES: tuple[tuple[str, float | None, int], ...] = (
    ("new: no rating yet, no jobs", None, 0),
    ("established: rating 4.8, 25 jobs", 4.8, 25),
)
_GROUP_COLOURS = {"ai_can_do": "#c0392b", "ai_speeds_up": "#e67e22", "human_edge": "#2e86c1"}


@dataclass(frozen=True)
class CareerCard:
    """Everything on one worker's career card, and the page itself (:meth:`to_html`).

    ``category`` is the gig category the work maps to (None when no category holds its occupations);
    ``online_class`` its Online Labour Index class (None for on-location work). ``trend``, ``niches`` and
    ``prices`` are None or empty when the card has no such section (``notes`` say why).
    """

    origin: Origin
    tasks: TasksResult
    paths: PathsResult
    category: str | None
    category_name: str | None
    online_class: str | None
    trend: object | None  # gigshift.insights.TrendsResult
    niches: NichesResult | None
    prices: tuple[tuple[str, PriceResult], ...]
    notes: tuple[str, ...]
    provenance: Provenance = field(repr=False)
    market_provenance: Provenance | None = field(default=None, repr=False)

    def tidy(self) -> pl.DataFrame:
        """The card's headline figures, one row per figure: section, figure, value (as text)."""
        rows = [
            ("origin", "title", self.origin.label),
            ("exposure", "beta (GPT-4)", f"{self.origin.exposure['gpt4']['beta']:.3f}"),
            ("exposure", "beta (human)", f"{self.origin.exposure['human']['beta']:.3f}"),
        ]
        rows += [("tasks", g["label"], f"{g['share']:.3f}") for g in self.tasks.groups.iter_rows(named=True)]
        rows += [
            ("paths", f"#{i}", r["title"]) for i, r in enumerate(self.paths.paths.head(5).iter_rows(named=True), 1)
        ]
        if self.niches is not None:
            rows += [("niches", f"#{r['rank']}", r["label"]) for r in self.niches.niches.head(5).iter_rows(named=True)]
        for label, result in self.prices:
            value = "too little data" if not result.is_enough else f"{result.low:.2f}-{result.high:.2f}"
            rows.append(("price", label, value))
        return pl.DataFrame(rows, schema={"section": pl.String, "figure": pl.String, "value": pl.String}, orient="row")

    def to_dict(self) -> dict[str, object]:
        trend = None
        if self.trend is not None:
            series = self.trend.series.filter(pl.col("class") == self.online_class)  # type: ignore[attr-defined]
            events = self.trend.events.filter(pl.col("class") == self.online_class)  # type: ignore[attr-defined]
            trend = {
                "online_class": self.online_class,
                "series": series.with_columns(pl.col("date").cast(pl.String)).to_dicts(),
                "events": events.with_columns(pl.col("date").cast(pl.String)).to_dicts(),
            }
        return {
            "origin": self.origin.to_dict(),
            "category": self.category,
            "tasks": self.tasks.to_dict(),
            "paths": self.paths.to_dict(),
            "trend": trend,
            "niches": None if self.niches is None else self.niches.to_dict(),
            "prices": [{"label": label, **result.to_dict()} for label, result in self.prices],
            "notes": list(self.notes),
            "provenance": self.provenance.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(finite(self.to_dict()), allow_nan=False, ensure_ascii=False, default=str)

    def to_html(self) -> str:
        """The whole card as one self-contained HTML page."""
        return page(f"Career card: {self.origin.label}", _body(self))


# -- building -----------------------------------------------------------------------------------------------------


def _category_of(origin: Origin) -> tuple[str | None, str | None]:
    """The gig category holding most of the origin's weight (slug, name), or (None, None)."""
    from gigshift.taxonomy import categories
    from gigshift.taxonomy._atlas import _definitions

    names = dict(categories().select("slug", "name").iter_rows())
    if origin.kind == "category":
        return origin.key, names.get(origin.key)
    _, members = _definitions()
    share = (
        members.unique(["slug", "soc_code"])
        .join(origin.members.select("soc_code", origin_weight="weight"), on="soc_code")
        .group_by("slug")
        .agg(score=(pl.col("occupation_weight") * pl.col("origin_weight")).sum())
        .sort(["score", "slug"], descending=[True, False])
    )
    if share.height == 0:
        return None, None
    slug = share["slug"][0]
    return slug, names.get(slug)


def _online_class(category: str | None, origin: Origin) -> str | None:
    from gigshift.advise._model import default_model
    from gigshift.taxonomy import categories

    if category is not None:
        row = categories().filter(pl.col("slug") == category).row(0, named=True)
        if str(row["mode"]) == "online":
            return str(row["class"])
        return None
    occ = default_model().occupations.select("soc_code", "occupation_class")
    classes = (
        origin.members.join(occ, on="soc_code")
        .drop_nulls("occupation_class")
        .group_by("occupation_class")
        .agg(pl.col("weight").sum())
        .sort(["weight", "occupation_class"], descending=[True, False])
    )
    return classes["occupation_class"][0] if classes.height else None


def _profile_skills(origin: Origin, category: str) -> list[str]:
    """Technology skills of the origin's occupations, and the category's eight most important O*NET skills."""
    from gigshift.advise._model import default_model
    from gigshift.taxonomy import category as lookup_category

    model = default_model()
    rows = origin.members["i"].to_numpy()
    items = np.unique(model.technology[rows].indices)
    tech = model.technology_items["item"].gather(items).to_list()
    onet = lookup_category(category).skills.sort(["importance", "skill"], descending=[True, False]).head(8)
    return sorted(set(tech) | set(onet["skill"].to_list()))


def career_card(
    origin: str,
    *,
    by: OriginKind = "auto",
    market: object | None = None,
    assignments: object | None = None,
    top: int = 8,
    seed: int | None = None,
) -> CareerCard:
    """Everything a worker's career card shows, computed from the atlas and, optionally, a market.

    Parameters
    ----------
    origin : str
        An O*NET-SOC code, a gig category slug or a description of the work.
    by : {"auto", "occupation", "category", "text"}, default="auto"
        How to read ``origin``.
    market : gigshift.market.Market, optional
        A market: adds the niches and rate ranges of the work's category there.
    assignments : DataFrame, optional
        The market's filled tasks (see :func:`price`).
    top : int, default=8
        Paths and niches shown.
    seed : int, optional
        Seeds the allocation engine's tie lottery when it picks a market's winners.

    Returns
    -------
    CareerCard
        ``to_html()`` is the page; ``to_json()`` the figures behind it.

    Raises
    ------
    NotFoundError, GigshiftError
        As :func:`paths` (unknown code or slug, unreadable text) and :func:`price` (bad assignments).

    Examples
    --------
    >>> card = career_card("27-3091.00")
    >>> card.category, card.online_class
    ('translation', 'writing-translation')
    >>> "<script src" in card.to_html()
    False
    """
    from gigshift.advise._marketdata import check_market
    from gigshift.advise._niches import niches
    from gigshift.advise._paths import paths
    from gigshift.advise._price import price
    from gigshift.advise._tasks import tasks
    from gigshift.insights import trends

    if market is not None:
        market = check_market(market, caller=_CALLER)
    task_split = tasks(origin, by=by)
    org = task_split.origin
    career = paths(origin, by=by, top=top)
    slug, name = _category_of(org)
    online = _online_class(slug, org)
    notes: list[str] = []
    trend = None
    if online is not None:
        trend = trends(classes=[online])
    else:
        notes.append(
            "this work is done on location: the Online Labour Index counts online projects only, so there is no "
            "online trend for it"
        )
    found_niches, prices = None, []
    if market is not None and slug is None:
        notes.append("no gig category holds this work's occupations: the market sections are left out")
    elif market is not None:
        skills = _profile_skills(org, slug)  # type: ignore[arg-type]
        found_niches = niches(market, categories=[slug], skills=skills, assignments=assignments, top=top, seed=seed)
        for label, rating, jobs in PRICE_PROFILES:  # two profiles
            prices.append(
                (label, price(market, category=slug, rating=rating, jobs=jobs, assignments=assignments, seed=seed))
            )
    elif slug is not None:
        notes.append("no market given: niches and rate ranges need one (gigshift advise report --market DIR)")
    provenance = Provenance(
        sources=career.provenance.sources,
        method=(
            "career card: advise.tasks, advise.paths, insights.trends"
            + (", advise.niches and advise.price on the given market" if market is not None else "")
        ),
        gigshift_version=gigshift.__version__,
        seed=seed,
    )
    return CareerCard(
        origin=org,
        tasks=task_split,
        paths=career,
        category=slug,
        category_name=name,
        online_class=online,
        trend=trend,
        niches=found_niches,
        prices=tuple(prices),
        notes=tuple(notes),
        provenance=provenance,
        market_provenance=None if market is None else market.provenance,  # type: ignore[attr-defined]
    )


# -- rendering ----------------------------------------------------------------------------------------------------


def _sources_line(prov: Provenance) -> str:
    names = "; ".join(f"{s.name} ({s.version}, {s.licence})" for s in prov.sources)
    return f"<p class='muted'>Sources: {esc(names or 'the tables given')}. Method: {esc(prov.method)}.</p>"


def _split_figure(card: CareerCard) -> str:
    import plotly.graph_objects as go

    groups = card.tasks.groups
    fig = go.Figure()
    for g in groups.iter_rows(named=True):  # three groups
        fig.add_bar(
            x=[g["share"]],
            y=["your work"],
            orientation="h",
            name=f"{g['label']} ({g['n_tasks']} tasks)",
            marker_color=_GROUP_COLOURS[g["group"]],
            hovertemplate=f"{g['label']}: %{{x:.0%}}<extra></extra>",
        )
    fig.update_layout(
        barmode="stack",
        height=190,
        margin={"l": 10, "r": 10, "t": 10, "b": 30},
        xaxis={"tickformat": ".0%", "range": [0, 1]},
        legend={"orientation": "h", "y": -0.5},
        template="plotly_white",
    )
    return figure_html(fig, "task-split")


def _paths_figure(card: CareerCard) -> str:
    import plotly.graph_objects as go

    shown = card.paths.paths
    if shown.height == 0:
        return ""
    origin = card.origin
    fig = go.Figure()
    fig.add_scatter(
        x=shown["gpt4_beta"].to_list(),
        y=shown["wage_ratio"].fill_null(1.0).to_list(),
        mode="markers+text",
        text=[t if len(t) < 28 else t[:26] + "…" for t in shown["title"].to_list()],
        textposition="top center",
        marker={"size": (10 + 30 * shown["similarity"].fill_null(0)).to_list(), "color": "#17a589", "opacity": 0.7},
        name="paths (size: similarity)",
        hovertemplate="%{text}<br>beta %{x:.2f}, pay x%{y:.2f}<extra></extra>",
    )
    fig.add_scatter(
        x=[origin.exposure["gpt4"]["beta"]],
        y=[1.0],
        mode="markers+text",
        text=["you"],
        textposition="bottom center",
        marker={"size": 16, "color": "#c0392b", "symbol": "diamond"},
        name="your work",
    )
    fig.update_layout(
        height=420,
        template="plotly_white",
        margin={"l": 10, "r": 10, "t": 20, "b": 40},
        xaxis={"title": "exposure beta (GPT-4 labels): lower is less exposed"},
        yaxis={"title": "pay against yours (BLS median wage ratio)"},
        legend={"orientation": "h", "y": 1.08},
    )
    return figure_html(fig, "paths")


def _trend_figure(card: CareerCard) -> str:
    import plotly.graph_objects as go

    series = card.trend.series.filter(pl.col("class") == card.online_class).sort("date")  # type: ignore[attr-defined]
    events = card.trend.events.filter(pl.col("class") == card.online_class)  # type: ignore[attr-defined]
    fig = go.Figure()
    fig.add_scatter(
        x=series["date"].to_list(),
        y=series["level"].to_list(),
        mode="lines",
        name="projects posted (index)",
        line={"color": "#a0a8b8"},
    )
    fig.add_scatter(
        x=series["date"].to_list(),
        y=series["trend"].to_list(),
        mode="lines",
        name="trend (STL)",
        line={"color": "#6c3483", "width": 3},
    )
    for event in events.select("event", "date").unique().sort("date").iter_rows(named=True):  # one by default
        fig.add_vline(x=event["date"].isoformat(), line_dash="dash", line_color="#555")
        fig.add_annotation(x=event["date"].isoformat(), y=1, yref="paper", text=event["event"], showarrow=False)
    fig.update_layout(
        height=340,
        template="plotly_white",
        margin={"l": 10, "r": 10, "t": 20, "b": 30},
        yaxis={"title": "Online Labour Index (100 = May 2016, all classes)"},
        legend={"orientation": "h", "y": 1.1},
    )
    return figure_html(fig, "trend")


def _price_figure(card: CareerCard) -> str:
    import plotly.graph_objects as go

    shown = [(label, r) for label, r in card.prices if r.is_enough]
    if not shown:
        return ""
    fig = go.Figure()
    for label, r in shown:
        rows = r.range.to_dicts()
        fig.add_scatter(
            x=[rows[0]["rate_usd"], rows[2]["rate_usd"]],
            y=[label, label],
            mode="lines",
            line={"width": 14, "color": "#aed6f1"},
            showlegend=False,
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=[rows[1]["rate_usd"]],
            y=[label],
            mode="markers",
            marker={"size": 14, "color": "#1f618d"},
            error_x={
                "type": "data",
                "array": [rows[1]["ci_hi"] - rows[1]["rate_usd"]],
                "arrayminus": [rows[1]["rate_usd"] - rows[1]["ci_lo"]],
            },
            name=label,
            showlegend=False,
            hovertemplate=f"{label}: median $%{{x:.2f}}/h<extra></extra>",
        )
    fig.update_layout(
        height=120 + 60 * len(shown),
        template="plotly_white",
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        xaxis={"title": f"hourly rate, USD ({shown[0][1].coverage:.0%} range and median with its CI)"},
    )
    return figure_html(fig, "price")


def _body(card: CareerCard) -> str:
    o = card.origin
    g, h = o.exposure["gpt4"], o.exposure["human"]
    wage = f"${o.wage_usd_hourly:.2f}/h BLS median" if o.wage_usd_hourly else "no BLS wage"
    parts = [
        f"<h1>Career card: {esc(o.label)}</h1>",
        "<p class='lead'>"
        f"Exposure to AI (beta: the share of tasks an LLM can do or speed up a lot): <strong>{g['beta']:.2f}</strong> "
        f"by GPT-4's labels, <strong>{h['beta']:.2f}</strong> by human labels (Eloundou et al. 2024). "
        f"E1 share (AI alone): {g['alpha']:.0%} / {h['alpha']:.0%}. {esc(wage)}; job zone {o.job_zone or '–'}."
        + (f" Gig category: {esc(card.category_name)}." if card.category_name else "")
        + "</p>",
        "<nav><a href='#tasks'>tasks</a><a href='#paths'>paths</a><a href='#trend'>online trend</a>"
        + ("<a href='#market'>market</a>" if card.niches is not None else "")
        + "</nav>",
        "<h2 id='tasks'>Exposure and the task split</h2>",
        _split_figure(card),
        card.tasks.to_html(),
        _sources_line(card.tasks.provenance),
        "<h2 id='paths'>Career paths, and what to learn for each</h2>",
        _paths_figure(card),
        card.paths.to_html(),
        _sources_line(card.paths.provenance),
        "<h2 id='trend'>Online demand for this kind of work</h2>",
    ]
    if card.trend is not None:
        lines = [line for line in card.trend.findings() if line.startswith(_class_name(card))]  # type: ignore[attr-defined]
        parts += [
            _trend_figure(card),
            "<ul>" + "".join(f"<li>{esc(line)}</li>" for line in lines) + "</ul>",
            _sources_line(card.trend.provenance),  # type: ignore[attr-defined]
        ]
    if card.niches is not None:
        parts += [
            f"<h2 id='market'>On this market: niches in and around {esc(card.category_name)}</h2>",
            card.niches.to_html(),
            "<h3>Rate ranges from winning bids</h3>",
            _price_figure(card),
        ]
        for label, result in card.prices:
            parts += [f"<h4>{esc(label)}</h4>", result.to_html()]
        if card.market_provenance is not None:
            parts.append(f"<p class='muted'>Market: {esc(card.market_provenance.method)}.</p>")
    if card.notes:
        parts += ["<h2>Notes</h2>", "<ul>" + "".join(f"<li>{esc(n)}</li>" for n in card.notes) + "</ul>"]
    parts.append(
        f"<p class='muted'>gigshift {esc(gigshift.__version__)}. Every figure on this page is computed offline from "
        "the shipped public tables (O*NET 29.3, GPTs-are-GPTs labels, BLS OEWS and projections, the Online Labour "
        "Index) and the market tables given.</p>"
    )
    return "\n".join(p for p in parts if p)


def _class_name(card: CareerCard) -> str:
    series = card.trend.series.filter(pl.col("class") == card.online_class)  # type: ignore[attr-defined]
    return str(series["name"][0]) if series.height else ""
