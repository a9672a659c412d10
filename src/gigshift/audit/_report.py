"""The audit's self-contained HTML report: LL144 summary table, findings, charts (Plotly inlined)."""

from __future__ import annotations

import polars as pl

from gigshift._html import esc, figure_html, page, table_html


def _impact_chart(groups: pl.DataFrame, threshold: float) -> str:
    import plotly.graph_objects as go

    shown = groups.filter(pl.col("impact_ratio").is_not_null())
    if shown.height == 0:
        return ""
    labels = [f"{a}: {c}" for a, c in zip(shown["attribute"], shown["category"], strict=True)]
    ratio = shown.get_column("impact_ratio").to_list()
    hi = [(h - r) if h is not None else 0 for h, r in zip(shown["impact_ratio_ci_hi"], ratio, strict=True)]
    lo = [(r - low) if low is not None else 0 for low, r in zip(shown["impact_ratio_ci_lo"], ratio, strict=True)]
    colours = ["#c0392b" if r < threshold else "#2e86c1" for r in ratio]
    fig = go.Figure(
        go.Bar(
            x=ratio,
            y=labels,
            orientation="h",
            marker_color=colours,
            error_x={"type": "data", "array": hi, "arrayminus": lo},
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    fig.add_vline(x=threshold, line_dash="dash", line_color="#555", annotation_text=f"four-fifths ({threshold:g})")
    fig.update_layout(
        height=max(260, 26 * len(labels) + 80),
        margin={"l": 10, "r": 10, "t": 30, "b": 30},
        xaxis_title="impact ratio (rate / highest rate), with bootstrap interval",
        yaxis={"autorange": "reversed"},
    )
    return figure_html(fig, "impact-ratios")


def audit_html(result) -> str:  # type: ignore[no-untyped-def]
    """The whole report as one HTML page."""
    rate_word = "Selection rate" if result.kind == "selection" else "Scoring rate"
    threshold = float(result.settings["four_fifths"])
    summary_rows = [
        ("Audit date", "not given" if result.audit_date is None else result.audit_date.isoformat()),
        ("Data source", result.source),
        ("Description", result.description or "–"),
        ("Rows audited", f"{result.n_rows:,}" + (" people" if result.settings.get("person") else " decisions")),
        (
            "Outcome",
            "selected (0/1)"
            if result.kind == "selection"
            else f"score above the sample median ({result.median_score:.4g})",
        ),
        ("Unknown (no value)", ", ".join(f"{k}: {v:,}" for k, v in result.unknown.items())),
        (
            "Intervals",
            f"{result.settings['n_bootstrap']} bootstrap replicates within groups, "
            f"{result.settings['confidence']:.0%}, seed {result.settings['seed']}",
        ),
    ]
    summary = (
        "<table><tbody>"
        + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in summary_rows)
        + "</tbody></table>"
    )
    findings = "<ul>" + "".join(f"<li>{esc(f)}</li>" for f in result.findings()) + "</ul>"
    sections = [
        f"<h1>Bias audit</h1><p class='lead'>{esc(rate_word)}s and impact ratios by group, in the form of a "
        "New York City Local Law 144 bias audit, with fairness metrics (fairlearn definitions) and bootstrap "
        "intervals.</p>",
        summary,
        "<h2>Findings</h2>",
        findings,
        "<h2>Impact ratios</h2>",
        _impact_chart(result.groups, threshold),
    ]
    for attribute in result.groups.get_column("attribute").unique(maintain_order=True).to_list():
        rows = result.groups.filter(pl.col("attribute") == attribute).select(
            "category",
            "n",
            "n_selected",
            pl.col("rate").alias(rate_word.lower()),
            pl.format("{}–{}", pl.col("ci_lo").round(3), pl.col("ci_hi").round(3)).alias("95% interval"),
            "impact_ratio",
            pl.when(pl.col("excluded")).then(pl.lit("yes (under 2% of data)")).otherwise(pl.lit("")).alias("excluded"),
            pl.when(pl.col("small")).then(pl.lit("small n")).otherwise(pl.lit("")).alias("note"),
        )
        sections += [f"<h3>{esc(attribute)}</h3>", table_html(rows)]
    excluded = result.groups.filter(pl.col("excluded"))
    if excluded.height:
        sections += [
            "<p class='muted'>Categories under 2% of the data are set aside from the impact-ratio calculation, as "
            "LL144 allows an auditor to do; they are listed above with their n and rate.</p>"
        ]
    metric_rows = [
        {
            "attribute": attribute,
            "metric": name,
            "value": value,
            "interval": "–".join(
                f"{v:.3f}" for v in result.metric_ci.get(attribute, {}).get(name, []) if v is not None
            ),
        }
        for attribute, values in result.metrics.items()
        for name, value in values.items()
    ]
    sections += ["<h2>Fairness metrics</h2>", table_html(pl.DataFrame(metric_rows))]
    sections += [
        f"<h2>Disparities against a reference group (fair within [{result.settings['tolerance']:g}, "
        f"{1 / result.settings['tolerance']:.3g}])</h2>",
        table_html(result.disparities),
    ]
    if result.exposure is not None:
        sections += ["<h2>Exposure in ranked candidate lists</h2>", table_html(result.exposure)]
    sections.append(
        f"<p class='muted'>gigshift {esc(result.provenance.gigshift_version)}; method: "
        f"{esc(result.provenance.method)}.</p>"
    )
    return page("gigshift bias audit", "".join(sections))
