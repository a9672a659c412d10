"""The audit of a decision table: LL144 rates and impact ratios, fairlearn metrics, disparities, exposure."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

import gigshift
from gigshift._errors import GigshiftError
from gigshift._provenance import Provenance
from gigshift._tables import as_polars, finite, require_columns
from gigshift.audit._exposure import exposure_table
from gigshift.audit._input import prepare
from gigshift.audit._rates import ViewResult, analyse_view, cell_counts, group_cells, views

SMALL_SHARE = 0.02  # LL144 lets an auditor set aside categories under 2% of the data


@dataclass(frozen=True)
class AuditResult:
    """A bias audit: LL144 table, fairness metrics with intervals, disparities and findings.

    Attributes
    ----------
    groups : polars.DataFrame
        The LL144 table, one row per category of each attribute and intersection: attribute,
        category, n, n_selected, share, rate (selection or scoring rate), impact_ratio, excluded,
        small, ci_lo, ci_hi (bootstrap interval of the rate), impact_ratio_ci_lo/hi.
    unknown : dict
        Rows whose value is missing, per attribute (left out of that attribute's rates).
    metrics : dict
        Per attribute: fairlearn's demographic parity and (with labels) equalized odds and equal
        opportunity, differences and ratios, between groups and to the overall rate.
    metric_ci : dict
        Bootstrap intervals of those metrics.
    by_group : polars.DataFrame
        Per category: selection rate and, with labels, TPR and FPR (fairlearn's ``by_group``).
    disparities : polars.DataFrame
        Aequitas-style: each group's metric over the reference group's, and whether it lies within
        [tolerance, 1 / tolerance].
    exposure : polars.DataFrame or None
        With ``rank=``: position-discounted exposure per group in ranked candidate lists.
    """

    groups: pl.DataFrame
    unknown: dict[str, int]
    metrics: dict[str, dict[str, float | None]]
    metric_ci: dict[str, dict[str, list[float | None]]]
    by_group: pl.DataFrame
    disparities: pl.DataFrame
    exposure: pl.DataFrame | None
    kind: str
    n_rows: int
    median_score: float | None
    settings: dict[str, object]
    audit_date: date | None
    source: str
    description: str
    provenance: Provenance
    reference: dict[str, str] = field(default_factory=dict)

    def tidy(self) -> pl.DataFrame:
        return self.groups

    def findings(self) -> list[str]:
        """Plain-language findings, most important first."""
        rate_word = "selection rate" if self.kind == "selection" else "scoring rate"
        threshold = float(self.settings["four_fifths"])  # type: ignore[arg-type]
        out = []
        flagged = self.groups.filter(
            pl.col("impact_ratio").is_not_null() & (pl.col("impact_ratio") < threshold) & ~pl.col("excluded")
        ).with_columns(
            conclusive=pl.col("impact_ratio_ci_hi").is_not_null() & (pl.col("impact_ratio_ci_hi") < threshold)
        )
        # Findings whose whole interval is below the threshold come first: they are not chance.
        flagged = flagged.sort(["conclusive", "impact_ratio"], descending=[True, False])
        for r in flagged.iter_rows(named=True):
            certainty = ""
            if r["impact_ratio_ci_hi"] is not None:
                interval = f"{r['impact_ratio_ci_lo']:.2f}-{r['impact_ratio_ci_hi']:.2f}"
                certainty = (
                    f", and its whole {self.settings['confidence']:.0%} interval ({interval}) is below it"
                    if r["conclusive"]
                    else f", but its {self.settings['confidence']:.0%} interval ({interval}) includes {threshold:g}: "
                    "this may be chance"
                )
            small = " Few people: read with care." if r["small"] else ""
            out.append(
                f"{r['attribute']} = {r['category']}: impact ratio {r['impact_ratio']:.2f}, below the four-fifths "
                f"threshold ({threshold:g}){certainty}; {rate_word} {r['rate']:.1%} from {r['n']:,} people.{small}"
            )
        if not flagged.height:
            out.append(f"No category has an impact ratio below {threshold:g}.")
        for attribute, values in self.metrics.items():
            eo = values.get("equalized_odds_difference")
            if eo is not None and eo > 0.1:
                out.append(
                    f"{attribute}: equalized odds difference {eo:.2f}: among equally qualified people, "
                    "selection differs by group."
                )
        for attribute, n in self.unknown.items():
            if n:
                out.append(f"{attribute}: {n:,} rows with no value, left out of its rates.")
        excluded = self.groups.filter(pl.col("excluded"))
        if excluded.height:
            names = ", ".join(f"{r['attribute']}={r['category']} (n {r['n']})" for r in excluded.iter_rows(named=True))
            out.append(f"Excluded from impact ratios (under {SMALL_SHARE:.0%} of the data): {names}.")
        small = self.groups.filter(pl.col("small") & ~pl.col("excluded"))
        if small.height:
            out.append(
                f"{small.height} categor{'y has' if small.height == 1 else 'ies have'} fewer than "
                f"{self.settings['min_n']} people; their rates are shown with wide intervals, not as precise."
            )
        if self.exposure is not None:
            low = self.exposure.filter(pl.col("exposure_ratio") < threshold)
            for r in low.iter_rows(named=True):
                out.append(
                    f"{r['attribute']} = {r['category']}: mean exposure in rankings {r['exposure_ratio']:.2f} of the "
                    f"best-placed group ({r['exposure_share']:.1%} of exposure for "
                    f"{r['item_share']:.1%} of ranked items)."
                )
        return out

    def to_dict(self) -> dict[str, object]:
        groups = [
            {
                "attribute": r["attribute"],
                "category": r["category"],
                "n": r["n"],
                "n_selected": r["n_selected"],
                "rate": r["rate"],
                "impact_ratio": r["impact_ratio"],
                "excluded": r["excluded"],
                "small": r["small"],
                "ci": [r["ci_lo"], r["ci_hi"]],
                "impact_ratio_ci": [r["impact_ratio_ci_lo"], r["impact_ratio_ci_hi"]],
            }
            for r in self.groups.iter_rows(named=True)
        ]
        return {
            "audit_date": None if self.audit_date is None else self.audit_date.isoformat(),
            "source": self.source,
            "description": self.description,
            "kind": self.kind,
            "n_rows": self.n_rows,
            "median_score": self.median_score,
            "groups": groups,
            "unknown": self.unknown,
            "metrics": self.metrics,
            "metric_ci": self.metric_ci,
            "by_group": self.by_group.to_dicts(),
            "disparities": self.disparities.to_dicts(),
            "reference": self.reference,
            "exposure": None if self.exposure is None else self.exposure.to_dicts(),
            "findings": self.findings(),
            "settings": self.settings,
            "provenance": self.provenance.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(finite(self.to_dict()), allow_nan=False)

    def to_markdown(self) -> str:
        rate = "Selection rate" if self.kind == "selection" else "Scoring rate"
        lines = [
            f"# Bias audit ({'date not given' if self.audit_date is None else self.audit_date.isoformat()})",
            "",
            f"- Data: {self.source} ({self.n_rows:,} {'people' if self.settings.get('person') else 'rows'}). "
            f"{self.description}".rstrip(),
            f"- Outcome: {'selected (0/1)' if self.kind == 'selection' else 'score above the sample median'}"
            + (f" (median {self.median_score:.4g})" if self.median_score is not None else ""),
            f"- Intervals: {self.settings['n_bootstrap']} bootstrap replicates within groups, "
            f"{self.settings['confidence']:.0%}, seed {self.settings['seed']}",
            "",
            "## Findings",
            "",
            *[f"- {f}" for f in self.findings()],
            "",
            "## Impact ratios (LL144)",
            "",
            f"| attribute | category | n | {rate.lower()} | 95% CI | impact ratio | excluded |",
            "| --- | --- | ---: | ---: | --- | ---: | --- |",
        ]
        for r in self.groups.iter_rows(named=True):
            ci = "" if r["ci_lo"] is None else f"{r['ci_lo']:.3f}-{r['ci_hi']:.3f}"
            ratio = "" if r["impact_ratio"] is None else f"{r['impact_ratio']:.3f}"
            small = " (small)" if r["small"] else ""
            lines.append(
                f"| {r['attribute']} | {r['category']} | {r['n']:,}{small} | {r['rate']:.3f} | {ci} | {ratio} | "
                f"{'yes' if r['excluded'] else ''} |"
            )
        lines += ["", "Unknown (no value): " + ", ".join(f"{k} {v:,}" for k, v in self.unknown.items()), ""]
        lines += ["## Fairness metrics", "", "| attribute | metric | value | 95% CI |", "| --- | --- | ---: | --- |"]
        for attribute, values in self.metrics.items():
            for name, value in values.items():
                ci = self.metric_ci.get(attribute, {}).get(name)
                ci_text = "" if not ci or ci[0] is None else f"{ci[0]:.3f}-{ci[1]:.3f}"
                shown = "" if value is None else f"{value:.4f}"
                lines.append(f"| {attribute} | {name} | {shown} | {ci_text} |")
        return "\n".join(lines) + "\n"

    def to_html(self, path: str | Path | None = None) -> str:
        """The self-contained HTML report (Plotly inlined); written to ``path`` when given."""
        from gigshift.audit._report import audit_html

        text = audit_html(self)
        if path is not None:
            from gigshift._html import write_atomic

            write_atomic(Path(path), text)
        return text


def audit(
    decisions: object,
    groups: Sequence[str],
    *,
    intersect: bool = False,
    selected: str | None = None,
    score: str | None = None,
    label: str | None = None,
    weight: str | None = None,
    person: str | None = None,
    rank: str | None = None,
    exclude_small: bool = False,
    min_n: int = 30,
    reference: dict[str, str] | None = None,
    tolerance: float = 0.8,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    seed: int | None = None,
    audit_date: date | None = None,
    source: str = "decisions",
    description: str = "",
) -> AuditResult:
    """Audit decisions for unequal treatment of groups, as in an LL144 bias audit and beyond.

    Parameters
    ----------
    decisions : DataFrame or Arrow table
        One row per candidate and decision (the allocation engine's ``decision_log`` works as is).
    groups : list of str
        Group attributes, e.g. ``["sex", "race_ethnicity"]``; rows missing a value are left out of
        that attribute's rates and counted in ``unknown``.
    intersect : bool, default=False
        Also audit the intersection of all attributes (categories joined with ``+`` in the order given).
    selected, score : str
        Exactly one: a 0/1 decision column (selection rate) or a numeric score (scoring rate: the
        share strictly above the full sample's median, as LL144 defines it; ties at the median do
        not count as above).
    label : str, optional
        A 0/1 ground truth (e.g. qualified): adds TPR, FPR, equalized odds and equal opportunity.
    weight : str, optional
        Row weights (fairlearn's ``sample_weight``).
    person : str, optional
        Count people rather than rows: a person is selected if any of their rows is.
    rank : str, optional
        Position in ranked candidate lists (1 = top): adds exposure fairness.
    exclude_small : bool, default=False
        Set aside categories under 2% of an attribute's known rows from impact ratios (LL144 allows
        it); they are still reported with their n and rate.
    min_n : int, default=30
        Categories with fewer people are flagged ``small``: their rates are shown with intervals,
        not as precise figures.
    reference : dict, optional
        Reference category per attribute for the disparities; default the largest category.
    tolerance : float, default=0.8
        A disparity within [tolerance, 1 / tolerance] counts as fair (Aequitas' default band).
    n_bootstrap : int, default=200
        Bootstrap replicates, rows resampled within each group; 0 turns intervals off.
    confidence : float, default=0.95
    seed : int, optional
    audit_date, source, description
        Shown in the report. The engine never reads the clock: the CLI passes today's date.

    Returns
    -------
    AuditResult
    """
    frame = as_polars(decisions, name=source)
    if not 0 < confidence < 1:
        raise GigshiftError(f"audit: confidence must be in (0, 1); got {confidence!r}")
    if not 0 < tolerance <= 1:
        raise GigshiftError(f"audit: tolerance must be in (0, 1]; got {tolerance!r}")
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int) or n_bootstrap < 0:
        raise GigshiftError(f"audit: n_bootstrap must be an integer >= 0; got {n_bootstrap!r}")
    groups = [groups] if isinstance(groups, str) else list(groups)
    prepared = prepare(
        frame,
        groups=groups,
        selected=selected,
        score=score,
        label=label,
        weight=weight,
        person=person,
        source=source,
    )
    if label is not None:
        _check_labels(prepared.frame, source=source, label=label)
    cells = cell_counts(prepared)
    all_views = views(prepared.attributes, intersect=intersect)
    root = np.random.SeedSequence(seed)
    results: dict[str, ViewResult] = {}
    for view, child in zip(all_views, root.spawn(len(all_views)), strict=True):
        gc = group_cells(cells, view, has_label=prepared.has_label)
        if not gc.categories:
            raise GigshiftError(f"{source}: attribute {view.name!r} has no rows with a value; nothing to audit")
        results[view.name] = analyse_view(
            gc,
            view,
            exclude_small=exclude_small,
            small_share=SMALL_SHARE,
            min_n=min_n,
            n_bootstrap=n_bootstrap,
            confidence=confidence,
            rng=np.random.default_rng(child),
        )
    ll144 = pl.concat([r.ll144 for r in results.values()])
    by_group = pl.concat([r.by_group for r in results.values()], how="diagonal")
    references = _references(ll144, reference or {}, source=source)
    disparities = _disparities(by_group, references, tolerance)
    exposure = None
    if rank is not None:
        require_columns(frame, {"rank": rank}, source=source)
        exposure = exposure_table(frame, all_views, rank=rank, source=source)
    settings: dict[str, object] = {
        "intersect": intersect,
        "exclude_small": exclude_small,
        "small_share": SMALL_SHARE,
        "min_n": min_n,
        "n_bootstrap": n_bootstrap,
        "confidence": confidence,
        "tolerance": tolerance,
        "four_fifths": 0.8,
        "seed": root.entropy if isinstance(root.entropy, int) else None,
        "selected": selected,
        "score": score,
        "label": label,
        "weight": weight,
        "person": person,
        "rank": rank,
    }
    provenance = Provenance(
        sources=(),
        method=(
            "LL144 selection/scoring rates and impact ratios; fairlearn metric definitions; "
            "bootstrap within groups (multinomial cell counts)"
        ),
        gigshift_version=gigshift.__version__,
        seed=settings["seed"],  # type: ignore[arg-type]
    )
    return AuditResult(
        groups=ll144,
        unknown={name: r.n_unknown for name, r in results.items()},
        metrics={name: r.metrics for name, r in results.items()},
        metric_ci={name: r.metric_ci for name, r in results.items()},
        by_group=by_group,
        disparities=disparities,
        exposure=exposure,
        kind=prepared.kind,
        n_rows=prepared.n_rows,
        median_score=prepared.median_score,
        settings=settings,
        audit_date=audit_date,
        source=source,
        description=description,
        provenance=provenance,
        reference=references,
    )


def _check_labels(frame: pl.DataFrame, *, source: str, label: str) -> None:
    counts = frame.group_by("label").len()
    present = set(counts.get_column("label").to_list())
    if present != {0, 1}:
        only = ", ".join(str(v) for v in sorted(present))
        raise GigshiftError(
            f"{source}: label column {label!r} holds only {only}; TPR and FPR need both qualified (1) and not (0)"
        )


def _references(ll144: pl.DataFrame, given: dict[str, str], *, source: str) -> dict[str, str]:
    out = {}
    for attribute in ll144.get_column("attribute").unique(maintain_order=True).to_list():
        rows = ll144.filter(pl.col("attribute") == attribute)
        if attribute in given:
            if given[attribute] not in rows.get_column("category").to_list():
                known = ", ".join(rows.get_column("category").to_list())
                raise GigshiftError(
                    f"{source}: reference {given[attribute]!r} is not a category of {attribute!r} ({known})"
                )
            out[attribute] = given[attribute]
        else:
            out[attribute] = rows.sort(["n", "category"], descending=[True, False]).item(0, "category")
    unknown = set(given) - set(out)
    if unknown:
        raise GigshiftError(f"{source}: reference given for {sorted(unknown)}, which is not an audited attribute")
    return out


def _disparities(by_group: pl.DataFrame, references: dict[str, str], tolerance: float) -> pl.DataFrame:
    metrics = [m for m in ("selection_rate", "tpr", "fpr") if m in by_group.columns]
    long = by_group.unpivot(index=["attribute", "category"], on=metrics, variable_name="metric", value_name="value")
    ref = pl.DataFrame({"attribute": list(references), "reference": list(references.values())})
    ref_values = long.join(ref, left_on=["attribute", "category"], right_on=["attribute", "reference"]).select(
        "attribute", "metric", reference_value="value"
    )
    out = (
        long.join(ref, on="attribute")
        .join(ref_values, on=["attribute", "metric"])
        .with_columns(
            disparity=pl.when(pl.col("reference_value") > 0).then(pl.col("value") / pl.col("reference_value"))
        )
        .with_columns(
            is_fair=pl.col("disparity").is_between(tolerance, 1 / tolerance)
            if tolerance < 1
            else pl.col("disparity") == 1
        )
    )
    return out.select(
        "attribute", "category", "metric", "value", "reference", "reference_value", "disparity", "is_fair"
    ).sort("attribute", "metric", "category")
