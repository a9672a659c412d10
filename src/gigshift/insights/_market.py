"""Platform insights from market tables: activity per category and week, a mix-adjusted price index, and
what clients reward.

``market`` takes whichever tables a platform or a gigshift run has (tasks, bids, assignments, the
decision log, a simulation's category table), works out what each can tell, and says what is missing.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

import gigshift
from gigshift._errors import GigshiftError, NotFoundError
from gigshift._provenance import Provenance
from gigshift._tables import check_positive_int, finite
from gigshift.insights._choice import PREFERENCE_SCHEMA, preferences
from gigshift.insights._common import json_rows, md_table
from gigshift.insights._inputs import check_table
from gigshift.insights._log import TaskLog, distinct_per_cell, index_log, task_facts
from gigshift.insights._prices import HEDONIC_SCHEMA, PRICE_SCHEMA, price_index

_CALLER = "market"
ACTIVITY_SCHEMA = {
    "category": pl.String,
    "week": pl.Int64,
    "week_start": pl.Date,
    "n_tasks_posted": pl.Int64,
    "n_tasks_filled": pl.Int64,
    "fill_rate": pl.Float64,
    "bids_per_task": pl.Float64,
    "n_active_workers": pl.Int64,
    "median_time_to_fill_hours": pl.Float64,
}


@dataclass(frozen=True)
class MarketInsights:
    """Activity, prices and client preferences of one market.

    Attributes
    ----------
    activity : polars.DataFrame
        Per category and week (see ``ACTIVITY_SCHEMA``): tasks posted and filled, fill rate, bids per
        task, active workers (distinct workers bidding or considered that week; the simulator's
        active supply), median hours from posting to the winning bid. Null where the tables cannot tell.
    prices : polars.DataFrame
        Per category and week: ``n_priced``, ``median_price_usd``, ``raw_index`` (the median against
        the base week's, x100), ``price_index`` (mix-adjusted, base week = 100) with ``ci_lo, ci_hi``,
        and a ``note`` where a cell is too thin for an index.
    hedonic : polars.DataFrame
        Per category: the characteristic coefficients of the price regression (log price per unit).
    preferences : polars.DataFrame
        Per attribute: the conditional-logit weight ``coef`` (log odds of being chosen per ``unit``),
        ``se``, ``ci_lo, ci_hi``, odds ratio and its interval, p-value, and the attribute's mean.
    choice : dict
        Tasks and candidates used, log likelihoods, McFadden R², whether tasks were sampled.
    kinds : tuple of str
        What the tables are: ``market``, ``allocation run``, ``simulation``.
    notes : tuple of str
        What could not be computed and why, and the choices made.
    """

    activity: pl.DataFrame
    prices: pl.DataFrame
    hedonic: pl.DataFrame
    preferences: pl.DataFrame
    choice: dict[str, object]
    kinds: tuple[str, ...]
    settings: dict[str, object]
    provenance: Provenance
    notes: tuple[str, ...] = field(default_factory=tuple)

    def tidy(self) -> pl.DataFrame:
        """Activity and price index side by side, one row per category and week."""
        prices = self.prices.drop("week_start")
        return (
            self.activity.join(prices, on=["category", "week"], how="full", coalesce=True)
            .select(*ACTIVITY_SCHEMA, *(c for c in prices.columns if c not in ("category", "week")))
            .sort("category", "week")
        )

    def to_dict(self) -> dict[str, object]:
        prices = []
        for row in json_rows(self.prices):
            row["ci"] = [row.pop("ci_lo"), row.pop("ci_hi")]
            prices.append(row)
        prefs = []
        for row in json_rows(self.preferences):
            row["ci"] = [row.pop("ci_lo"), row.pop("ci_hi")]
            row["odds_ratio_ci"] = [row.pop("odds_ratio_ci_lo"), row.pop("odds_ratio_ci_hi")]
            prefs.append(row)
        return {
            "kinds": list(self.kinds),
            "activity": json_rows(self.activity),
            "prices": prices,
            "hedonic": json_rows(self.hedonic),
            "preferences": prefs,
            "choice": self.choice,
            "notes": list(self.notes),
            "settings": self.settings,
            "provenance": self.provenance.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(finite(self.to_dict()), allow_nan=False, default=str)

    def summary(self) -> pl.DataFrame:
        """One row per category: tasks posted and filled, fill rate, bids per task, last price index and its CI."""
        act = self.activity.group_by("category").agg(
            n_tasks_posted=pl.col("n_tasks_posted").sum(),
            n_tasks_filled=pl.col("n_tasks_filled").sum()
            if self.activity["n_tasks_filled"].null_count() == 0
            else pl.lit(None, dtype=pl.Int64),
            bids_per_task=pl.when(pl.col("bids_per_task").is_not_null().any()).then(
                (pl.col("bids_per_task") * pl.col("n_tasks_posted")).sum()
                / pl.col("n_tasks_posted").filter(pl.col("bids_per_task").is_not_null()).sum()
            ),
            n_weeks=pl.len(),
        )
        act = act.with_columns(fill_rate=pl.col("n_tasks_filled") / pl.col("n_tasks_posted"))
        last = (
            self.prices.filter(pl.col("price_index").is_not_null())
            .sort("week")
            .group_by("category")
            .agg(
                last_week=pl.col("week").last(),
                price_index=pl.col("price_index").last(),
                ci_lo=pl.col("ci_lo").last(),
                ci_hi=pl.col("ci_hi").last(),
                raw_index=pl.col("raw_index").last(),
            )
        )
        return act.join(last, on="category", how="full", coalesce=True).sort("category")

    def to_markdown(self) -> str:
        lines = [
            "# Market insights",
            "",
            f"- Tables: {' + '.join(self.kinds)}",
            f"- Method: {self.provenance.method}",
            "",
            "## By category",
            "",
            md_table(
                self.summary(),
                [
                    "category",
                    "n_weeks",
                    "n_tasks_posted",
                    "fill_rate",
                    "bids_per_task",
                    "last_week",
                    "price_index",
                    "ci_lo",
                    "ci_hi",
                    "raw_index",
                ],
                digits=2,
            ),
            "",
            "## What clients reward (conditional logit of who is chosen)",
            "",
        ]
        if self.preferences.height:
            lines += [
                f"{self.choice['n_tasks']:,} tasks, {self.choice['n_candidates']:,} candidates, McFadden R² "
                f"{self.choice['mcfadden_r2']:.3f}.",
                "",
                md_table(self.preferences, ["attribute", "unit", "coef", "ci_lo", "ci_hi", "odds_ratio", "p_value"]),
            ]
        else:
            lines.append("not estimated (see notes)")
        if self.notes:
            lines += ["", "## Notes", "", *[f"- {n}" for n in self.notes]]
        return "\n".join(lines) + "\n"


# -- helpers ---------------------------------------------------------------------------------------------------------


def _resolve_categories(wanted: Sequence[str], present: list[str]) -> list[str]:
    """Slugs to keep; an unknown slug -> NotFoundError (closest slugs), a known one without rows -> GigshiftError."""
    from gigshift.taxonomy import categories

    atlas = categories().get_column("slug").to_list()
    out = []
    for slug in wanted:
        key = str(slug).strip().lower()
        if key in present:
            out.append(key)
            continue
        if key in atlas:
            raise GigshiftError(
                f"{_CALLER}: no rows for category {key!r} in these tables; they hold {len(present)} categories, "
                f"e.g. {', '.join(present[:5])}"
            )
        known = sorted(set(present) | set(atlas))
        raise NotFoundError("category", str(slug), difflib.get_close_matches(key, known, n=3, cutoff=0.5))
    return out


def _week_of(posted: pl.Expr) -> pl.Expr:
    return posted.dt.truncate("1w").dt.date()  # ISO weeks, starting on Monday


def _check_option_number(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low < value < high:
        raise GigshiftError(f"{_CALLER}: {name} must be a number between {low:g} and {high:g}; got {value!r}")
    return float(value)


def market(
    *,
    tasks: object | None = None,
    bids: object | None = None,
    assignments: object | None = None,
    decision_log: object | None = None,
    categories: object | None = None,
    category: str | Sequence[str] | None = None,
    min_cell_tasks: int = 10,
    max_choice_tasks: int = 200_000,
    confidence: float = 0.95,
    seed: int | None = None,
    kinds: Sequence[str] | None = None,
    sources: Mapping[str, str] | None = None,
) -> MarketInsights:
    """Activity per category and week, a mix-adjusted price index, and a model of whom clients choose.

    Give whichever tables you have; each insight uses what it needs and ``notes`` says what is missing.

    Parameters
    ----------
    tasks, bids : DataFrame, optional
        Market tables (``gigshift.market`` schemas). Tasks give posting weeks (ISO weeks, from Monday)
        and characteristics; bids give bids per task, active workers and, with a winner, time to fill.
    assignments : DataFrame, optional
        ``task_id, worker_id, price_usd`` of filled tasks (``gigshift allocate run``).
    decision_log : DataFrame, optional
        One row per candidate and task in the allocation engine's format (``task_id, worker_id,
        category, is_selected``, and ``price_usd``, ``worker_rating`` ... when recorded; a ``week``
        column in a simulation). Feeds the choice model, and activity and prices when there are no tasks.
    categories : DataFrame, optional
        A simulation's per-category, per-week table (``SimulationResult.categories``); when given it is
        the source of the activity table.
    category : str or list of str, optional
        Keep only these category slugs.
    min_cell_tasks : int, default=10
        Fewest priced tasks in a category and week for an index value; thinner cells get a note, not a number.
    max_choice_tasks : int, default=200000
        Above this many tasks the choice model is fitted on a seeded random sample of tasks (standard
        errors are then those of the sample: with 200,000 tasks they are already small).
    confidence : float, default=0.95
    seed : int, optional
        Seed of the task sample; None draws fresh entropy, recorded in ``provenance.seed``.
    kinds : list of str, optional
        What the tables are (from :func:`read_folder`); default worked out from the tables given.
    sources : dict, optional
        Table name -> file name, used in error messages (e.g. ``{"decision_log": "decision_log.parquet"}``).

    Returns
    -------
    MarketInsights

    Raises
    ------
    InputError
        A table misses a required column or holds a bad value (file, row and column named).
    NotFoundError
        An unknown category (closest slugs listed).
    GigshiftError
        No usable table, or a bad parameter.

    Notes
    -----
    **Price.** The price of a task is what was paid (the selected candidate's ``price_usd``, or the
    assignment's) when selections are known, else the client's posted ``budget_usd``.

    **Mix-adjusted index** (time-dummy hedonic method, Eurostat *Handbook on Residential Property
    Prices Indices* 2013, ch. 5; de Haan & Diewert): per category, log price is regressed on week
    dummies and the recorded task characteristics: log expected hours, required-skill count,
    on-location, and area (an indicator for each area with at least ``min_cell_tasks`` tasks). The
    budget is not a characteristic: it is itself a price, and controlling for it would absorb real
    price changes. See :mod:`gigshift.insights._prices` for the interval.

    **Choice model.** Conditional logit per task (see :mod:`gigshift.insights._choice`) over rating
    (stars, with a flag for unrated workers), log price, log2 of 1 + jobs completed, reliability (with
    a flag) and skill match. Candidates the batch assigned to another task are not counted as
    available. It measures whom the platform's process (the client, or the allocation engine) chose
    given the candidates, not why.

    Examples
    --------
    >>> from gigshift.market import synthetic
    >>> m = synthetic(n_workers=300, n_tasks=120, seed=3)
    >>> result = market(tasks=m.tasks, bids=m.bids, seed=0)
    >>> int(result.activity["n_tasks_posted"].sum())
    120
    >>> result.activity["fill_rate"].null_count() == result.activity.height  # no selections given
    True
    """
    min_cell_tasks = check_positive_int("min_cell_tasks", min_cell_tasks, caller=_CALLER)
    max_choice_tasks = check_positive_int("max_choice_tasks", max_choice_tasks, caller=_CALLER)
    confidence = _check_option_number("confidence", confidence, 0.0, 1.0)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise GigshiftError(f"{_CALLER}: seed must be an integer >= 0 or None; got {seed!r}")
    names = {k: k for k in ("tasks", "bids", "assignments", "decision_log", "categories")}
    names.update(sources or {})
    if tasks is None and decision_log is None and categories is None:
        raise GigshiftError(
            f"{_CALLER}: give at least one of tasks (a market), decision_log (an allocation run or a simulation) "
            "or categories (a simulation)"
        )
    task_table = bid_table = None
    if tasks is not None or bids is not None:
        from gigshift.market import validate

        task_table = None if tasks is None else validate(tasks, kind="tasks", source=names["tasks"])
        bid_table = None if bids is None else validate(bids, kind="bids", source=names["bids"])
    assign = None if assignments is None else check_table(assignments, kind="assignments", source=names["assignments"])
    log = None if decision_log is None else check_table(decision_log, kind="decision_log", source=names["decision_log"])
    cats = None if categories is None else check_table(categories, kind="categories", source=names["categories"])
    if kinds is None:
        kinds = [k for k, t in (("market", task_table), ("allocation run", assign)) if t is not None]
        if cats is not None:
            kinds.append("simulation")
        if not kinds:
            kinds = ["decision log"]

    present = sorted(
        set().union(
            *(set(t.get_column("category").unique().to_list()) for t in (task_table, log, cats) if t is not None)
        )
    )
    wanted = None
    if category is not None:
        wanted = _resolve_categories([category] if isinstance(category, str) else list(category), present)
        keep = pl.col("category").is_in(wanted)
        task_table = None if task_table is None else task_table.filter(keep)
        log = None if log is None else log.filter(keep)
        cats = None if cats is None else cats.filter(keep)
        if task_table is not None and bid_table is not None:
            bid_table = bid_table.filter(pl.col("task_id").is_in(task_table.get_column("task_id").implode()))

    notes: list[str] = []
    if bid_table is not None and task_table is None:
        notes.append(f"{names['bids']} is not used without the tasks table, which gives each bid's category and week")
    if assign is not None and task_table is None and log is None:
        notes.append(f"{names['assignments']} is not used without the tasks table or the decision log")
    root = np.random.SeedSequence(seed)
    rng = np.random.default_rng(root)

    from threadpoolctl import threadpool_limits

    indexed = None if log is None else index_log(log)
    facts = _facts(task_table, bid_table, assign, indexed, cats, notes)
    activity = _activity(facts, task_table, bid_table, indexed, cats, notes)
    # The linear algebra here is many small problems: BLAS threads only wait on each other (badly so on a
    # busy machine: 1.3 s instead of 0.04 s for the price index of 1.4 million tasks on 2 shared cores).
    with threadpool_limits(limits=1, user_api="blas"):
        prices, hedonic = _prices(facts, min_cell_tasks, confidence, notes)
        if indexed is not None:
            prefs, choice, choice_notes = preferences(
                indexed, max_tasks=max_choice_tasks, rng=rng, confidence=confidence
            )
            notes.extend(choice_notes)
        else:
            prefs, choice = pl.DataFrame(schema=PREFERENCE_SCHEMA), {"n_tasks": 0, "n_candidates": 0}
            notes.append("no decision log: no model of whom clients choose (it needs every candidate, chosen or not)")
    settings: dict[str, object] = {
        "category": wanted,
        "min_cell_tasks": min_cell_tasks,
        "max_choice_tasks": max_choice_tasks,
        "confidence": confidence,
        "tables": {
            k: names[k]
            for k, t in (
                ("tasks", task_table),
                ("bids", bid_table),
                ("assignments", assign),
                ("decision_log", log),
                ("categories", cats),
            )
            if t is not None
        },
    }
    provenance = Provenance(
        sources=(),
        method=(
            "activity per category and ISO week; price index: time-dummy hedonic regression of log price on week "
            "dummies and task characteristics per category (base = first week with enough tasks); choice model: "
            "conditional logit per task (Newton, inverse-information standard errors)"
        ),
        gigshift_version=gigshift.__version__,
        seed=int(root.entropy),  # type: ignore[arg-type]
        extra={"tables": json.dumps(settings["tables"])},
    )
    return MarketInsights(
        activity=activity,
        prices=prices,
        hedonic=hedonic,
        preferences=prefs,
        choice=choice,
        kinds=tuple(kinds),
        settings=settings,
        provenance=provenance,
        notes=tuple(dict.fromkeys(notes)),
    )


# -- steps -----------------------------------------------------------------------------------------------------------


def _facts(
    tasks: pl.DataFrame | None,
    bids: pl.DataFrame | None,
    assign: pl.DataFrame | None,
    log: TaskLog | None,
    cats: pl.DataFrame | None,
    notes: list[str],
) -> pl.DataFrame | None:
    """One row per task: category, week, week_start, characteristics, is_filled, paid_usd, budget, time to fill."""
    if tasks is None and log is None:
        return None
    from_log = task_facts(log) if log is not None else None
    if tasks is not None:
        first = tasks.select(_week_of(pl.col("posted_at")).min()).item()
        facts = tasks.select(
            "task_id",
            "category",
            "posted_at",
            week_start=_week_of(pl.col("posted_at")),
            week=((_week_of(pl.col("posted_at")) - pl.lit(first)).dt.total_days() // 7).cast(pl.Int64),
            budget_usd="budget_usd",
            log_hours=pl.col("expected_hours").log(),
            n_required_skills=pl.col("required_skills").list.len().cast(pl.Int64),
            is_on_location=~pl.col("is_remote"),
            area=pl.col("location"),
        )
        if from_log is not None:
            keep = [
                c
                for c in ("task_id", "task", "n_candidates", "is_filled", "winner_worker_id", "paid_usd", "n_bids_log")
                if c in from_log.columns
            ]
            facts = facts.join(from_log.select(keep).unique("task_id", keep="first"), on="task_id", how="left")
            facts = facts.with_columns(pl.col("is_filled").fill_null(False))
        elif assign is not None:
            won = assign.select("task_id", winner_worker_id="worker_id", paid_usd="price_usd").unique("task_id")
            facts = facts.join(won, on="task_id", how="left").with_columns(
                is_filled=pl.col("winner_worker_id").is_not_null()
            )
        if bids is not None:
            n_bids = bids.group_by("task_id").agg(n_bids=pl.len().cast(pl.Int64))
            facts = facts.join(n_bids, on="task_id", how="left").with_columns(pl.col("n_bids").fill_null(0))
            if "winner_worker_id" in facts.columns and bids.get_column("bid_at").null_count() < bids.height:
                # a worker's first bid on the task (a re-bid must not count the task twice)
                won_at = bids.group_by("task_id", "worker_id").agg(won_at=pl.col("bid_at").min())
                won_at = won_at.rename({"worker_id": "winner_worker_id"})
                facts = facts.join(won_at, on=["task_id", "winner_worker_id"], how="left").with_columns(
                    time_to_fill_hours=(pl.col("won_at") - pl.col("posted_at")).dt.total_seconds() / 3600
                )
        elif "n_bids_log" in facts.columns:
            facts = facts.rename({"n_bids_log": "n_bids"})
        return facts
    assert from_log is not None
    facts = from_log
    if "week" not in facts.columns:
        facts = facts.with_columns(week=pl.lit(0, dtype=pl.Int64))
        notes.append(
            "no tasks table and no week column: the decision log is treated as one batch (week 0); tasks that "
            "had no candidate are not in the log, so counts and fill rates are over tasks with candidates"
        )
    dates = None
    if cats is not None and "date" in cats.columns:
        dates = cats.group_by("week").agg(week_start=pl.col("date").min())
    facts = (
        facts.join(dates, on="week", how="left")
        if dates is not None
        else facts.with_columns(week_start=pl.lit(None, dtype=pl.Date))
    )
    if "expected_hours" in facts.columns:
        facts = facts.with_columns(log_hours=pl.col("expected_hours").log()).drop("expected_hours")
        if facts.get_column("log_hours").null_count() == facts.height:
            facts = facts.drop("log_hours")
            notes.append(
                "expected hours are not in the decision log (it records them only when there are no bids): the price "
                "index cannot hold task length fixed; add the tasks table for that"
            )
    if "n_bids_log" in facts.columns:
        facts = facts.rename({"n_bids_log": "n_bids"})
        if facts.get_column("n_bids").sum() == 0:
            facts = facts.with_columns(n_bids=pl.col("n_candidates"))
            notes.append("candidates were not bids (is_bid false): bids_per_task counts candidate workers per task")
    return facts


def _activity(
    facts: pl.DataFrame | None,
    tasks: pl.DataFrame | None,
    bids: pl.DataFrame | None,
    log: TaskLog | None,
    cats: pl.DataFrame | None,
    notes: list[str],
) -> pl.DataFrame:
    if cats is not None:
        n_rep = cats.get_column("replicate").n_unique() if "replicate" in cats.columns else 1
        if n_rep > 1:
            notes.append(f"activity summed over {n_rep} simulation replicates (fill rate and bids per task pooled)")
        date = pl.col("date").min() if "date" in cats.columns else pl.lit(None, dtype=pl.Date)
        bids_expr = (
            # weighted by tasks posted, over the weeks (and replicates) that posted any; null when none did
            pl.when((pl.col("posted") * pl.col("bids_per_task").is_not_null()).sum() > 0).then(
                (pl.col("bids_per_task") * pl.col("posted")).sum()
                / pl.col("posted").filter(pl.col("bids_per_task").is_not_null()).sum()
            )
            if "bids_per_task" in cats.columns
            else pl.lit(None, dtype=pl.Float64)
        )
        table = cats.group_by("category", "week").agg(
            week_start=date,
            n_tasks_posted=pl.col("posted").sum(),
            n_tasks_filled=pl.col("filled").sum(),
            bids_per_task=bids_expr,
            n_active_workers=pl.col("active_workers").sum(),
        )
        table = table.with_columns(
            fill_rate=pl.when(pl.col("n_tasks_posted") > 0).then(pl.col("n_tasks_filled") / pl.col("n_tasks_posted")),
            median_time_to_fill_hours=pl.lit(None, dtype=pl.Float64),
        )
        notes.append("time to fill is not recorded by the simulator (tasks are filled within their week or not at all)")
        return table.select(list(ACTIVITY_SCHEMA)).cast(ACTIVITY_SCHEMA).sort("category", "week")
    assert facts is not None
    has_fill = "is_filled" in facts.columns
    aggs = [
        pl.col("week_start").min(),
        pl.len().cast(pl.Int64).alias("n_tasks_posted"),
        (pl.col("is_filled").sum().cast(pl.Int64) if has_fill else pl.lit(None, dtype=pl.Int64)).alias(
            "n_tasks_filled"
        ),
        (pl.col("n_bids").mean() if "n_bids" in facts.columns else pl.lit(None, dtype=pl.Float64)).alias(
            "bids_per_task"
        ),
        (
            pl.col("time_to_fill_hours").filter(pl.col("is_filled")).median()
            if "time_to_fill_hours" in facts.columns
            else pl.lit(None, dtype=pl.Float64)
        ).alias("median_time_to_fill_hours"),
    ]
    table = (
        facts.group_by("category", "week")
        .agg(aggs)
        .with_columns(fill_rate=pl.col("n_tasks_filled") / pl.col("n_tasks_posted"))
        .sort("category", "week")
        .with_row_index("cell")
    )
    if not has_fill:
        notes.append("no assignments or decision log: fill rate and time to fill are unknown")
    elif "time_to_fill_hours" not in facts.columns:
        notes.append("time to fill needs posting times (tasks) and the winning bid's time (bids)")
    cells = table.select("category", "week", "cell")
    if bids is not None and tasks is not None:
        people = bids.join(facts.select("task_id", "category", "week"), on="task_id", how="inner").join(
            cells, on=["category", "week"]
        )
        active = distinct_per_cell(
            people.get_column("cell").to_numpy().astype(np.int64), people.get_column("worker_id"), table.height
        )
    elif log is not None:
        # the cell of each task of the log, then of each of its rows (a gather, no join over candidate rows)
        on = "task" if "task" in facts.columns else "task_id"
        where = (
            facts.select(on, "category", "week").filter(pl.col(on).is_not_null()).join(cells, on=["category", "week"])
        )
        if on == "task":
            task_cell = np.full(log.n_tasks, -1, dtype=np.int64)
            task_cell[where.get_column("task").to_numpy()] = where.get_column("cell").to_numpy()
        else:
            ids = log.frame.get_column("task_id").gather(log.starts).to_frame().with_row_index("task")
            mapped = ids.join(where, on="task_id", how="left")
            task_cell = np.full(log.n_tasks, -1, dtype=np.int64)
            task_cell[mapped.get_column("task").to_numpy()] = mapped.get_column("cell").fill_null(-1).to_numpy()
        row_cell = task_cell[log.task_of_rows()]
        inside = row_cell >= 0
        workers = log.frame.get_column("worker_id")
        active = distinct_per_cell(
            row_cell[inside], workers.filter(pl.Series(inside)) if not inside.all() else workers, table.height
        )
        notes.append("active workers are the distinct candidates in the decision log")
    else:
        active = None
        notes.append("no bids table: bids per task and active workers are unknown")
    table = table.with_columns(
        n_active_workers=pl.Series(active, dtype=pl.Int64) if active is not None else pl.lit(None, dtype=pl.Int64)
    )
    return table.select(list(ACTIVITY_SCHEMA)).cast(ACTIVITY_SCHEMA)


def _prices(
    facts: pl.DataFrame | None, min_cell: int, confidence: float, notes: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    empty = pl.DataFrame(schema=PRICE_SCHEMA), pl.DataFrame(schema=HEDONIC_SCHEMA)
    if facts is None:
        notes.append("no task-level prices (no tasks table or decision log): no price index")
        return empty
    if "paid_usd" in facts.columns:
        priced = facts.filter(pl.col("is_filled") & pl.col("paid_usd").is_not_null()).rename({"paid_usd": "price"})
        notes.append("price index of the price paid for filled tasks")
    elif "budget_usd" in facts.columns and facts.get_column("budget_usd").null_count() < facts.height:
        priced = facts.filter(pl.col("budget_usd").is_not_null()).with_columns(price=pl.col("budget_usd"))
        notes.append("no selections known: the price index is of clients' posted budgets")
    else:
        notes.append("no prices in the tables: no price index")
        return empty
    characteristics = [c for c in ("log_hours", "n_required_skills", "is_on_location", "area") if c in priced.columns]
    data = priced.select("category", "week", "week_start", "price", *characteristics)
    used = [c for c in characteristics if data.get_column(c).null_count() < data.height]
    if not used:
        notes.append("no task characteristics recorded: the index compares average log prices, not like with like")
    index, hedonic = price_index(
        data.select("category", "week", "week_start", "price", *used), min_cell_tasks=min_cell, confidence=confidence
    )
    n_thin = index.filter(pl.col("price_index").is_null()).height
    if n_thin:
        notes.append(
            f"{n_thin:,} of {index.height:,} category-weeks have no index value: fewer than {min_cell} priced tasks "
            "in the week, or in the category overall too few to separate price from task characteristics"
        )
    return index, hedonic
