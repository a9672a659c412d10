"""The atlas report: categories ranked by exposure under both lenses, human vs GPT-4 agreement,
per-category task breakdowns, and the sources and licences behind every figure."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import polars as pl

import gigshift
from gigshift._errors import GigshiftError
from gigshift._html import esc, figure_html, page, table_html, write_atomic

_LENS_COLOURS = {"gpt4": "#6c3483", "human": "#17a589"}
_LABEL_COLOURS = {"E1": "#c0392b", "E2": "#e67e22", "E0": "#2e86c1"}


def _ranking_figure(cats: pl.DataFrame) -> object:
    import plotly.graph_objects as go

    ordered = cats.sort("gpt4_beta")
    fig = go.Figure()
    for lens, name in (("gpt4", "GPT-4 labels"), ("human", "human labels")):
        fig.add_bar(
            y=ordered["name"].to_list(),
            x=ordered[f"{lens}_beta"].to_list(),
            orientation="h",
            name=name,
            marker_color=_LENS_COLOURS[lens],
            customdata=np.stack([ordered[f"{lens}_alpha"].to_numpy(), ordered[f"{lens}_gamma"].to_numpy()], 1),
            hovertemplate="%{y}<br>beta %{x:.2f} · alpha %{customdata[0]:.2f} · gamma %{customdata[1]:.2f}"
            f"<extra>{name}</extra>",
        )
    fig.update_layout(
        barmode="group",
        height=max(500, 22 * ordered.height),
        margin={"l": 10, "r": 10, "t": 30},
        xaxis={"title": "exposure beta = E1 + ½·E2 (share of the category's tasks)", "range": [0, 1]},
        legend={"orientation": "h", "y": 1.02, "x": 0},
        template="plotly_white",
    )
    return fig


def _breakdown_figure(cats: pl.DataFrame, lens: str) -> object:
    import plotly.graph_objects as go

    ordered = cats.sort(f"{lens}_beta")
    fig = go.Figure()
    for code, name in (
        ("e1", "E1: AI can do it alone"),
        ("e2", "E2: faster with AI tools"),
        ("e0", "E0: the human edge"),
    ):
        fig.add_bar(
            y=ordered["name"].to_list(),
            x=ordered[f"{lens}_share_{code}"].to_list(),
            orientation="h",
            name=name,
            marker_color=_LABEL_COLOURS[code.upper()],
            hovertemplate="%{y}: %{x:.0%}" + f"<extra>{name}</extra>",
        )
    fig.update_layout(
        barmode="stack",
        height=max(500, 16 * ordered.height),
        margin={"l": 10, "r": 10, "t": 30},
        xaxis={"tickformat": ".0%", "range": [0, 1]},
        template="plotly_white",
        legend={"orientation": "h", "y": 1.02, "x": 0},
    )
    return fig


def _agreement_figure(occ: pl.DataFrame, cats: pl.DataFrame) -> object:
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_scatter(
        x=occ["human_beta"].to_list(),
        y=occ["gpt4_beta"].to_list(),
        mode="markers",
        name="O*NET occupations (published scores)",
        text=occ["title"].to_list(),
        marker={"size": 5, "color": "#a0a8b8", "opacity": 0.6},
        hovertemplate="%{text}<br>human %{x:.2f} · GPT-4 %{y:.2f}<extra></extra>",
    )
    fig.add_scatter(
        x=cats["human_beta"].to_list(),
        y=cats["gpt4_beta"].to_list(),
        mode="markers",
        name="gig categories (from their tasks)",
        text=cats["name"].to_list(),
        marker={"size": 10, "color": _LENS_COLOURS["gpt4"], "symbol": "diamond"},
        hovertemplate="%{text}<br>human %{x:.2f} · GPT-4 %{y:.2f}<extra></extra>",
    )
    fig.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#555"}, name="agreement", hoverinfo="skip"
    )
    fig.update_layout(
        height=560,
        template="plotly_white",
        xaxis={"title": "human beta", "range": [-0.03, 1.03]},
        yaxis={"title": "GPT-4 beta", "range": [-0.03, 1.03]},
        legend={"orientation": "h", "y": 1.05},
    )
    return fig


def _agreement_stats(tasks: pl.DataFrame, occ: pl.DataFrame, cats: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import cohen_kappa_score

    labelled = tasks.filter(pl.col("is_labelled"))
    g = labelled["gpt4_label"].cast(pl.String).to_numpy()
    h = labelled["human_label"].cast(pl.String).to_numpy()
    confusion = (
        labelled.group_by("human_label", "gpt4_label")
        .len()
        .with_columns(pl.col("human_label").cast(pl.String), pl.col("gpt4_label").cast(pl.String))
        .pivot(on="gpt4_label", index="human_label", values="len", sort_columns=True)
        .sort("human_label")
        .rename({"human_label": "human \\ GPT-4"})
        .fill_null(0)
    )
    kappa = cohen_kappa_score(h, g)
    exact = float(np.mean(g == h))
    occ_r = pearsonr(occ["human_beta"].to_numpy(), occ["gpt4_beta"].to_numpy()).statistic
    occ_rho = spearmanr(occ["human_beta"].to_numpy(), occ["gpt4_beta"].to_numpy()).statistic
    cat_rho = spearmanr(cats["human_beta"].to_numpy(), cats["gpt4_beta"].to_numpy()).statistic
    text = (
        f"Over {labelled.height:,} labelled tasks, GPT-4 and the human annotators give the same label to "
        f"{exact:.1%} (Cohen's κ = {kappa:.2f}). Across {occ.height} occupations the published beta scores "
        f"correlate at Pearson r = {occ_r:.2f} (Spearman ρ = {occ_rho:.2f}); across the {cats.height} gig "
        f"categories the rankings agree at Spearman ρ = {cat_rho:.2f}."
    )
    return confusion, text


def _category_details(slug: str) -> str:
    from gigshift.taxonomy import category

    cat = category(slug)
    parts = [
        f"<details id='cat-{esc(slug)}'><summary>{esc(cat.name)} <span class='muted'>({esc(slug)}, "
        f"{esc(cat.category_class)}) · GPT-4 β {cat.gpt4.beta:.2f} · human β {cat.human.beta:.2f}</span>"
        "</summary>",
        f"<p>{esc(cat.description)}</p>",
        table_html(
            cat.occupations.select("soc_code", "title", "weight", "n_tasks", "gpt4_beta", "human_beta"),
            formats={"weight": ".2f", "gpt4_beta": ".2f", "human_beta": ".2f"},
        ),
        "<div class='cols'>",
    ]
    for code, heading in (
        ("E1", "What AI can do (E1)"),
        ("E2", "What AI speeds up (E2)"),
        ("E0", "The human edge (E0)"),
    ):
        rows = cat.tasks.filter(pl.col("gpt4_label").cast(pl.String) == code)
        items = "".join(
            f"<li>{esc(r['task'])} <span class='muted'>(human: {esc(r['human_label'])})</span></li>"
            for r in rows.iter_rows(named=True)
        )
        parts.append(
            f"<div><h4><span class='pill {code}'>{code}</span> {heading} · {rows.height}</h4>"
            f"<ul>{items or '<li class=muted>none</li>'}</ul></div>"
        )
    parts.append(
        "</div><p class='muted'>Labels by GPT-4 (Eloundou et al. 2024); the human label of each task "
        "is shown beside it.</p></details>"
    )
    return "".join(parts)


def atlas_html() -> str:
    """The complete atlas report as one self-contained HTML string."""
    from gigshift.taxonomy import all_sources, categories, occupations, tasks

    cats = categories()
    occ = occupations().filter(pl.col("has_exposure_scores"))
    confusion, agreement = _agreement_stats(tasks(), occ, cats)
    ranking = cats.sort("gpt4_beta", descending=True).select(
        "slug",
        "name",
        pl.col("class").cast(pl.String),
        pl.col("mode").cast(pl.String),
        "gpt4_beta",
        "human_beta",
        "gpt4_share_e1",
        "gpt4_share_e2",
        "gpt4_share_e0",
        "n_tasks",
        "n_occupations",
    )
    sources = pl.DataFrame([s.to_dict() for s in all_sources()]).select("name", "version", "licence", "citation", "url")
    body = [
        "<h1>gigshift atlas: AI exposure of gig work</h1>",
        f"<p class='lead'>{cats.height} gig categories, from software development to dog walking, built from "
        f"O*NET 29.3 occupations and tasks and scored with the published task-level exposure labels of Eloundou "
        f"et al. (2024). A task is <b>E1</b> when a large language model alone could halve the time it takes, "
        f"<b>E2</b> when tools built on such a model could, and <b>E0</b> otherwise: the human edge. "
        f"Each category is scored under two lenses: labels given by GPT-4 and labels given by human "
        f"annotators.</p>",
        "<nav><a href='#ranking'>Ranking</a><a href='#agreement'>Human vs GPT-4</a>"
        "<a href='#breakdown'>Task breakdown</a><a href='#categories'>Categories</a>"
        "<a href='#method'>Method</a><a href='#sources'>Sources and licences</a></nav>",
        "<h2 id='ranking'>Categories ranked by exposure</h2>",
        "<p>beta = share of E1 tasks + half the share of E2 tasks, the paper's central measure. Hover for "
        "alpha (E1 only) and gamma (E1 + E2).</p>",
        figure_html(_ranking_figure(cats), "fig-ranking"),
        table_html(ranking, formats={c: ".2f" for c in ranking.columns if "beta" in c or "share" in c}),
        "<h2 id='agreement'>Do humans and GPT-4 agree?</h2>",
        f"<p>{esc(agreement)}</p>",
        figure_html(_agreement_figure(occ, cats), "fig-agreement"),
        "<h3>Task labels: human (rows) against GPT-4 (columns)</h3>",
        table_html(confusion),
        "<h2 id='breakdown'>What AI can do, what it speeds up, and the human edge</h2>",
        "<h3>GPT-4 labels</h3>",
        figure_html(_breakdown_figure(cats, "gpt4"), "fig-breakdown-gpt4"),
        "<h3>Human labels</h3>",
        figure_html(_breakdown_figure(cats, "human"), "fig-breakdown-human"),
        "<h2 id='categories'>Each category's tasks</h2>",
        *[_category_details(slug) for slug in cats.sort("gpt4_beta", descending=True)["slug"].to_list()],
        "<h2 id='method'>Method</h2>",
        "<ul><li>Each category draws on 1-4 O*NET-SOC occupations with weights w<sub>o</sub> (summing to 1) and a "
        "hand-picked set of each occupation's tasks T<sub>o</sub> that describe the gig work "
        "(<code>categories.yaml</code>). Each task weighs w<sub>o</sub>/|T<sub>o</sub>|.</li>"
        "<li>Shares of E1, E2 and E0 are the weighted shares of the tasks' labels; alpha = E1, "
        "beta = E1 + ½·E2, gamma = E1 + E2, as in Eloundou et al. (2024).</li>"
        "<li>Occupation scores are shown exactly as published (<code>occ_level.csv</code>); they weight tasks "
        "by O*NET task ratings, which are not in the public data, so a category's beta and the weighted mean of "
        "its occupations' published beta can differ.</li>"
        "<li>Task labels were made on an O*NET 27.x task list and are joined to O*NET 29.3 on Task ID; 29.3 tasks "
        "without labels are left out of the aggregation.</li></ul>",
        "<h2 id='sources'>Sources and licences</h2>",
        table_html(sources),
        f"<p class='muted'>Generated by gigshift {esc(gigshift.__version__)}. No network access is needed to view "
        "this page: its JavaScript (Plotly) is inlined.</p>",
    ]
    return page("gigshift atlas", "".join(body))


def write_atlas_report(out_dir: str | os.PathLike[str]) -> Path:
    """Write ``index.html`` (and ``categories.json``) into ``out_dir``; return the HTML path."""
    from gigshift.taxonomy import categories

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise GigshiftError(f"--out {out_dir}: exists and is not a directory")
    html_text = atlas_html()
    cats = categories().with_columns(pl.col("class").cast(pl.String), pl.col("mode").cast(pl.String))
    write_atomic(out_dir / "categories.json", json.dumps({"categories": cats.to_dicts()}, allow_nan=False))
    return write_atomic(out_dir / "index.html", html_text)
