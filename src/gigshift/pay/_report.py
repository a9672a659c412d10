"""The pay audit's and the worker statement's self-contained HTML (Plotly inlined through gigshift._html)."""

from __future__ import annotations

from typing import Any

import polars as pl

from gigshift._html import esc, figure_html, page, table_html

_COLOURS = ("#2e86c1", "#c0392b", "#27ae60", "#8e44ad", "#e67e22", "#16a085")
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 30, "b": 30}, "legend": {"orientation": "h", "y": -0.2}}


def _distribution_chart(distribution: pl.DataFrame, currency: str) -> str:
    import plotly.graph_objects as go

    if distribution.height == 0:
        return "<p class='muted'>No platform has enough workers for a released distribution.</p>"
    labels = {
        "hourly_engaged": "per engaged hour",
        "hourly_logged_in": "per logged-in hour",
        "hourly_net": "net, per logged-in hour",
    }
    fig = go.Figure()
    for i, platform in enumerate(distribution.get_column("platform").unique().sort().to_list()):
        rows = distribution.filter(pl.col("platform") == platform)
        fig.add_trace(
            go.Box(
                name=platform,
                x=[labels.get(m, m) for m in rows["metric"]],
                q1=rows["p25"].to_list(),
                median=rows["p50"].to_list(),
                q3=rows["p75"].to_list(),
                lowerfence=rows["p10"].to_list(),
                upperfence=rows["p90"].to_list(),
                marker_color=_COLOURS[i % len(_COLOURS)],
                boxpoints=False,
            )
        )
    fig.update_layout(
        boxmode="group",
        height=380,
        yaxis_title=f"{currency} per hour",
        **_LAYOUT,
    )
    return figure_html(fig, "pay-distribution")


def _weekly_chart(
    weekly: pl.DataFrame, column: str, title: str, div: str, *, percent: bool, changes: pl.DataFrame | None = None
) -> str:
    import plotly.graph_objects as go

    shown = weekly.filter(pl.col(column).is_not_null()) if column in weekly.columns else weekly.head(0)
    if shown.height == 0:
        return f"<p class='muted'>No released {esc(title.lower())} (too few workers, or no data).</p>"
    fig = go.Figure()
    for i, platform in enumerate(shown.get_column("platform").unique().sort().to_list()):
        rows = shown.filter(pl.col("platform") == platform).sort("week")
        fig.add_trace(
            go.Scatter(
                x=rows["week"].to_list(),
                y=rows[column].to_list(),
                mode="lines+markers",
                name=platform,
                line={"color": _COLOURS[i % len(_COLOURS)]},
            )
        )
    for r in changes.iter_rows(named=True) if changes is not None else []:
        fig.add_vline(x=r["date"], line_dash="dash", line_color="#555")
        fig.add_annotation(x=r["date"], y=1, yref="paper", text=f"{r['platform']}: {r['metric']} {r['change']:+.0%}",
                           showarrow=False, yanchor="bottom")  # fmt: skip
    fig.update_layout(height=320, yaxis_title=title, yaxis_tickformat=".1%" if percent else None, **_LAYOUT)
    return figure_html(fig, div)


def _standards_chart(platforms: pl.DataFrame, names: list[str]) -> str:
    import plotly.graph_objects as go

    rows = platforms.filter(~pl.col("suppressed"))
    if rows.height == 0 or not names:
        return "<p class='muted'>No standards configured, or no platform with enough workers.</p>"
    fig = go.Figure()
    for i, platform in enumerate(rows["platform"].to_list()):
        row = rows.filter(pl.col("platform") == platform).row(0, named=True)
        fig.add_trace(
            go.Bar(
                name=platform,
                x=names,
                y=[row.get(f"below_{n}") for n in names],
                marker_color=_COLOURS[i % len(_COLOURS)],
                hovertemplate="%{x}: %{y:.1%} of worker-weeks below<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="group", height=340, yaxis_title="share of worker-weeks below", yaxis_tickformat=".0%", **_LAYOUT
    )
    return figure_html(fig, "standards")


def _privacy_box(privacy: dict[str, Any]) -> str:
    dp = privacy.get("differential_privacy")
    facts = [
        ("Smallest group any figure describes", f"{privacy['k']} workers"),
        ("Figures withheld", f"{privacy['cells_withheld']} of {privacy['cells']} cells "
                             f"({privacy['cells_withheld_primary']} too small, the rest to protect them)"),
        ("Privacy budget (epsilon) spent", f"{privacy['epsilon_spent']:.3g} of {privacy['budget']:.3g}"),
        ("Privacy budget left", f"{privacy['epsilon_left']:.3g}"),
    ]  # fmt: skip
    if dp:
        facts.append(("This release", f"epsilon {dp['epsilon']:.3g}, {dp['mechanism']} noise on cell sums"))
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts)
    return f"<p class='lead'>{esc(privacy['statement'])}</p><table><tbody>{rows}</tbody></table>"


def audit_html(result) -> str:  # type: ignore[no-untyped-def]
    """The whole pay audit as one page."""
    p = result.pool
    cur = p.get("currency") or ""
    names = result.standards.get_column("name").to_list()
    costs = result.config.get("expenses", {}).get("source")
    sections = [
        "<h1>Collective pay audit</h1>",
        f"<p class='lead'>{p['workers']:,} workers pooled {p['jobs']:,} jobs on {esc(', '.join(p['platforms']))} "
        f"from {esc(p['period'][0])} to {esc(p['period'][1])} (weeks start on Monday, {esc(p.get('time_zone'))}; "
        f"money in {esc(cur)}).</p>",
        "<h2>Privacy</h2>",
        _privacy_box(result.privacy),
        "<h2>Findings</h2>",
        "<ul>" + "".join(f"<li>{esc(f)}</li>" for f in result.findings()) + "</ul>",
        "<h2>Hourly pay</h2>",
        "<p>Earnings (pay, tips and bonuses) per hour on jobs, per hour logged in (waiting included), and after fees "
        "and costs per hour logged in, across worker-weeks. Boxes hold the middle half of worker-weeks, whiskers "
        "run from the 10th to the 90th percentile.</p>",
        _distribution_chart(result.distribution, cur),
        "<h2>Utilisation</h2>",
        "<p>The share of logged-in time spent on jobs.</p>",
        _weekly_chart(result.weekly, "utilisation", "utilisation", "utilisation", percent=True),
        "<h2>Take rate over time</h2>",
        "<p>The platform's share of what clients paid (1 - worker pay / client price), over jobs whose price is "
        "known.</p>",
        _weekly_chart(result.weekly, "take_rate", "take rate", "take-rate", percent=True),
        "<h2>Detected pay changes</h2>",
    ]
    if result.changes.height:
        sections += [
            _weekly_chart(
                result.weekly, "pay_per_km", f"pay per km ({cur})", "pay-per-km", percent=False, changes=result.changes
            ),
            table_html(
                result.changes.with_columns(
                    pl.col("change").round(3), pl.col("ci_lo").round(3), pl.col("ci_hi").round(3)
                )
            ),
        ]
    elif not result.settings.get("detect", True):
        sections.append("<p class='muted'>Change detection was not run for this release.</p>")
    else:
        sections.append("<p>No change to the pay algorithm was detected.</p>")
    sections += [
        "<h2>Standards met</h2>",
        _standards_chart(result.platforms, names),
        table_html(result.standards.select("name", "value", "pay", "hours", "source")),
    ]
    if result.gaps.height:
        sections += [
            "<h2>Group pay gaps</h2>",
            "<p>Oaxaca-Blinder decomposition of the gap in log pay per engaged hour between the two largest groups "
            "of each attribute: the <em>explained</em> part comes from where and what people work, the "
            "<em>unexplained</em> part is unequal pay for the same kind of work.</p>",
            table_html(
                result.gaps.with_columns(
                    pl.col("controls")
                    .list.eval(pl.element().str.replace(r"^share .*", "share of hours by kind of work"))
                    .list.unique(maintain_order=True)
                    .list.join(", ")
                ).drop("note")
            ),
        ]
    platform_cols = ["platform", "workers", "hourly_engaged", "hourly_logged_in", "hourly_net", "utilisation",
                     "take_rate", "pay_per_job", "pay_per_km", "pay_per_minute", "tips_share"]  # fmt: skip
    sections += [
        "<h2>Per platform</h2>",
        table_html(result.platforms.select([c for c in platform_cols if c in result.platforms.columns])),
        "<details><summary>Every cell</summary>",
        table_html(
            result.cells.select(
                *result.dims,
                "workers",
                "hourly_engaged",
                "hourly_logged_in",
                "hourly_net",
                "utilisation",
                "take_rate",
                "suppressed",
            )
        ),
        "</details>",
        f"<p class='muted'>gigshift {esc(result.provenance.gigshift_version)}; {esc(result.provenance.method)}; "
        f"seed {esc(result.provenance.seed)}. Costs: {esc(costs or 'none given')}.</p>",
    ]
    return page("gigshift pay audit", "".join(sections))


def statement_html(result) -> str:  # type: ignore[no-untyped-def]
    """One worker's private statement as one page."""
    import plotly.graph_objects as go

    cur = result.currency or ""
    sections = [
        f"<h1>Pay statement for {esc(result.worker_id)}</h1>",
        "<p class='lead'>Your own numbers, computed from your records only, beside the pool's (protected: no pool "
        f"figure describes fewer than {result.k} workers). This page is for you; it is not part of any release.</p>",
        "<ul>" + "".join(f"<li>{esc(s)}</li>" for s in result.sentences()) + "</ul>",
    ]
    weeks = result.weeks
    if weeks.height:
        fig = go.Figure()
        for i, platform in enumerate(weeks.get_column("platform").unique().sort().to_list()):
            mine = weeks.filter(pl.col("platform") == platform).sort("week")
            colour = _COLOURS[i % len(_COLOURS)]
            x = mine["week"].to_list()
            you = {"name": f"you, {platform}", "mode": "lines+markers", "line": {"color": colour}}
            them = {"name": f"pool, {platform}", "mode": "lines", "line": {"color": colour, "dash": "dot"}}
            fig.add_trace(go.Scatter(x=x, y=mine["hourly_logged_in"].to_list(), **you))
            fig.add_trace(go.Scatter(x=x, y=mine["pool_hourly_logged_in"].to_list(), **them))
        fig.update_layout(height=340, yaxis_title=f"{cur} per logged-in hour", **_LAYOUT)
        sections += ["<h2>Week by week</h2>", figure_html(fig, "weeks"), table_html(weeks)]
    sections += ["<h2>Per platform</h2>", table_html(result.platforms)]
    if result.cuts.height:
        sections += ["<h2>Pay changes that hit you</h2>", table_html(result.cuts)]
    sections += [
        "<h2>Your consent</h2>",
        table_html(result.consent),
        f"<p class='muted'>gigshift {esc(result.provenance.gigshift_version)}; {esc(result.provenance.method)}.</p>",
    ]
    return page(f"gigshift pay statement: {result.worker_id}", "".join(sections))
