"""Result objects of the market-based advice (niches, price, peers): tidy tables plus provenance."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import polars as pl

from gigshift._html import esc, table_html
from gigshift._provenance import Provenance
from gigshift._tables import finite

# the figures behind a niche's score, in the order the niches table and its JSON show them
NICHE_METRICS = (
    "n_tasks",
    "market_growth_pct",
    "oli_trend_pct",
    "bls_change_pct",
    "bids_per_task",
    "workers_per_task",
    "ai_substitution_share",
    "exposure_beta",
    "median_winning_rate_usd",
    "n_won",
    "pay_ratio",
    "fit",
)


def _dumps(body: dict[str, object]) -> str:
    return json.dumps(finite(body), allow_nan=False, ensure_ascii=False, default=str)


def _usd(value: float | None) -> str:
    return "–" if value is None else f"${value:,.2f}"


@dataclass(frozen=True, slots=True)
class PriceResult:
    """A suggested hourly rate range for one profile in one category, or why there is none.

    ``range`` has one row per quantile (the range's lower end, the median, its upper end): ``rate_usd``
    with the confidence interval ``ci_lo, ci_hi`` and ``se_log`` (standard error of the log rate).
    It is empty when ``is_enough`` is false (too few winning bids); ``nearest`` then lists the closest
    categories that have enough. ``coefficients`` holds the quantile regressions (log rate per unit).
    """

    category: str
    category_name: str
    profile: dict[str, object]
    coverage: float
    confidence: float
    sample: dict[str, object]
    nearest: pl.DataFrame  # slug, name, mode, similarity, n_winning_bids
    is_enough: bool
    range: pl.DataFrame
    coefficients: pl.DataFrame
    notes: tuple[str, ...]
    provenance: Provenance = field(repr=False)
    adjustment: float | None = None  # median for this profile / median for the typical winner - 1

    def tidy(self) -> pl.DataFrame:
        return self.range

    @property
    def low(self) -> float | None:
        return self.range["rate_usd"][0] if self.is_enough else None

    @property
    def median(self) -> float | None:
        return self.range["rate_usd"][1] if self.is_enough else None

    @property
    def high(self) -> float | None:
        return self.range["rate_usd"][2] if self.is_enough else None

    def to_dict(self) -> dict[str, object]:
        suggested = None
        if self.is_enough:
            rows = self.range.to_dicts()
            suggested = {
                "coverage": self.coverage,
                "low_usd_hourly": rows[0]["rate_usd"],
                "median_usd_hourly": rows[1]["rate_usd"],
                "high_usd_hourly": rows[2]["rate_usd"],
                "confidence": self.confidence,
                "low_ci": [rows[0]["ci_lo"], rows[0]["ci_hi"]],
                "median_ci": [rows[1]["ci_lo"], rows[1]["ci_hi"]],
                "high_ci": [rows[2]["ci_lo"], rows[2]["ci_hi"]],
                "adjustment_vs_typical_winner": self.adjustment,
            }
        return {
            "category": self.category,
            "category_name": self.category_name,
            "profile": self.profile,
            "is_enough": self.is_enough,
            "range": suggested,
            "quantiles": self.range.to_dicts(),
            "sample": self.sample,
            "nearest": self.nearest.to_dicts(),
            "coefficients": self.coefficients.to_dicts(),
            "notes": list(self.notes),
            "provenance": self.provenance.to_dict(),
        }

    def to_json(self) -> str:
        return _dumps(self.to_dict())

    def headline(self) -> str:
        return self.notes[0]

    def to_markdown(self) -> str:
        lines = [f"**Rate for {self.category_name} ({self.category})**", "", self.headline(), ""]
        if self.is_enough:
            lines += ["| quantile | rate (USD/h) | CI |", "| --- | --- | --- |"]
            lines += [
                f"| {r['quantile']:.2f} | {r['rate_usd']:.2f} | {r['ci_lo']:.2f} to {r['ci_hi']:.2f} |"
                for r in self.range.iter_rows(named=True)
            ]
        lines += ["", *[f"- {n}" for n in self.notes[1:]]]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """An HTML fragment for reports: the headline, the range with its intervals, and the notes."""
        parts = [f"<p><strong>{esc(self.headline())}</strong></p>"]
        if self.is_enough:
            shown = self.range.select(
                pl.format("{}th percentile", (pl.col("quantile") * 100).round(0).cast(pl.Int64)).alias("quantile"),
                "rate_usd",
                pl.col("ci_lo").alias(f"{self.confidence:.0%} CI low"),
                pl.col("ci_hi").alias(f"{self.confidence:.0%} CI high"),
            )
            parts.append(table_html(shown, formats={c: ".2f" for c in shown.columns[1:]}))
        elif self.nearest.height:
            parts.append(table_html(self.nearest, formats={"similarity": ".2f"}))
        if len(self.notes) > 1:
            parts.append("<ul>" + "".join(f"<li class='muted'>{esc(n)}</li>" for n in self.notes[1:]) + "</ul>")
        return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class PeersResult:
    """Entrants matched with mentors, with the reasons, the mentors' loads and the candidate edges.

    ``matches`` has one row per entrant (``outcome``: matched, mentors_full or no_candidate): the
    mentor, the shared category, the score and its components, the mentor's rank among the entrant's
    candidates, the runner-up and the margin over it, and ``why``. ``mentors`` has one row per mentor
    (capacity, mentees, candidate entrants); ``edges`` every scored candidate pair the solver saw.
    ``fairness`` holds selection rates per group when a fairness attribute was given.
    """

    matches: pl.DataFrame
    mentors: pl.DataFrame
    edges: pl.DataFrame
    objective: float
    fairness: pl.DataFrame | None
    price_of_fairness_pct: float | None
    settings: dict[str, object]
    notes: tuple[str, ...]
    provenance: Provenance = field(repr=False)

    def tidy(self) -> pl.DataFrame:
        return self.matches

    @property
    def pairs(self) -> pl.DataFrame:
        """The matched pairs only."""
        return self.matches.filter(pl.col("outcome") == "matched")

    def summary(self) -> dict[str, object]:
        counts = dict(self.matches.group_by("outcome").len().iter_rows())
        return {
            "n_entrants": self.matches.height,
            "n_matched": counts.get("matched", 0),
            "n_mentors_full": counts.get("mentors_full", 0),
            "n_no_candidate": counts.get("no_candidate", 0),
            "n_mentors": self.mentors.height,
            "n_mentors_used": self.mentors.filter(pl.col("n_mentees") > 0).height,
            "n_candidate_pairs": self.edges.height,
            "objective": self.objective,
            "price_of_fairness_pct": self.price_of_fairness_pct,
        }

    def to_dict(self) -> dict[str, object]:
        return {
            "summary": self.summary(),
            "matches": self.matches.to_dicts(),
            "mentors": self.mentors.to_dicts(),
            "fairness": None if self.fairness is None else self.fairness.to_dicts(),
            "settings": self.settings,
            "notes": list(self.notes),
            "provenance": self.provenance.to_dict(),
        }

    def to_json(self) -> str:
        return _dumps(self.to_dict())

    def to_markdown(self) -> str:
        lines = ["**Peers**", "", *[f"- {n}" for n in self.notes], "", "| entrant | mentor | category | score | why |"]
        lines.append("| --- | --- | --- | --- | --- |")
        lines += [
            f"| {r['entrant_id']} | {r['mentor_id']} | {r['category']} | {r['score']:.3f} | {r['why']} |"
            for r in self.pairs.iter_rows(named=True)
        ]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """An HTML fragment: the notes and the matched pairs with their reasons."""
        parts = ["<ul>" + "".join(f"<li>{esc(n)}</li>" for n in self.notes) + "</ul>"]
        if self.pairs.height:
            shown = self.pairs.select("entrant_id", "mentor_id", "category", "score", "rank", "margin", "why")
            parts.append(table_html(shown, formats={"score": ".3f", "margin": ".3f"}))
        return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class NichesResult:
    """The niches a worker could serve on a market, best first, with every component and the reasons.

    ``niches`` has one row per niche (``kind``: category or skill): its ``rank``, ``score``, the
    components ``score_demand``, ``score_competition``, ``score_exposure``, ``score_pay`` (each in
    [0, 1]; score = sum of weight x component), the figures behind them and ``why``. ``n_candidates``
    counts every niche the worker could serve (``niches`` holds the top ones).
    """

    worker: dict[str, object]
    niches: pl.DataFrame
    n_candidates: int
    weights: dict[str, float]
    settings: dict[str, object]
    notes: tuple[str, ...]
    provenance: Provenance = field(repr=False)

    def tidy(self) -> pl.DataFrame:
        return self.niches

    def components(self) -> pl.DataFrame:
        """Long table: one row per niche and component, with its weight and its contribution to the score."""
        long = self.niches.select("rank", "niche_id", *(f"score_{k}" for k in self.weights)).unpivot(
            index=["rank", "niche_id"], variable_name="component", value_name="value"
        )
        long = long.with_columns(pl.col("component").str.strip_prefix("score_"))
        weights = pl.DataFrame({"component": list(self.weights), "weight": list(self.weights.values())})
        return (
            long.join(weights, on="component")
            .with_columns(contribution=pl.col("weight") * pl.col("value"))
            .sort("rank", "component")
        )

    def to_dict(self) -> dict[str, object]:
        components = tuple(self.weights)
        metrics = NICHE_METRICS
        rows = [
            {
                "rank": r["rank"],
                "niche_id": r["niche_id"],
                "kind": r["kind"],
                "category": r["category"],
                "skill": r["skill"],
                "label": r["label"],
                "score": r["score"],
                "components": {k: r[f"score_{k}"] for k in components},
                "metrics": {m: r[m] for m in metrics},
                "is_listed": r["is_listed"],
                "why": r["why"],
            }
            for r in self.niches.iter_rows(named=True)
        ]
        return {
            "worker": self.worker,
            "niches": rows,
            "n_candidates": self.n_candidates,
            "weights": self.weights,
            "settings": self.settings,
            "notes": list(self.notes),
            "provenance": self.provenance.to_dict(),
        }

    def to_json(self) -> str:
        return _dumps(self.to_dict())

    def to_markdown(self) -> str:
        lines = ["| # | niche | score | demand | competition | AI exposure | pay | why |"]
        lines.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
        lines += [
            f"| {r['rank']} | {r['label']} | {r['score']:.2f} | {r['score_demand']:.2f} | "
            f"{r['score_competition']:.2f} | {r['score_exposure']:.2f} | {r['score_pay']:.2f} | {r['why']} |"
            for r in self.niches.iter_rows(named=True)
        ]
        return "\n".join([*[f"- {n}" for n in self.notes], "", *lines]) + "\n"

    def to_html(self) -> str:
        """An HTML fragment: the ranked niches with their components and reasons, then the notes."""
        shown = self.niches.select(
            "rank",
            pl.col("label").alias("niche"),
            "score",
            pl.col("score_demand").alias("demand"),
            pl.col("score_competition").alias("competition"),
            pl.col("score_exposure").alias("AI exposure"),
            pl.col("score_pay").alias("pay"),
            pl.col("median_winning_rate_usd").alias("median rate (USD/h)"),
            "why",
        )
        notes = "<ul>" + "".join(f"<li class='muted'>{esc(n)}</li>" for n in self.notes) + "</ul>"
        table = table_html(shown, formats={c: ".2f" for c in shown.columns if c not in ("rank", "niche", "why")})
        return (table if shown.height else "<p>No niche to rank (see the notes).</p>") + notes
