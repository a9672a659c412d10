"""Checking and preparing an audit's input: the columns exist, outcomes are 0/1, nothing is guessed.

Every problem is an error that names the column (and the closest existing name) or the rows at
fault; an audit never silently drops or recodes a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from gigshift._errors import GigshiftError, InputError
from gigshift._tables import require_columns

INTERSECTION_SEPARATOR = "+"


def binary_column(frame: pl.DataFrame, name: str, *, source: str, role: str) -> pl.Series:
    """A 0/1 column as Int8: booleans, integers 0/1, or the strings "0"/"1"/"true"/"false"; else an error."""
    column = frame.get_column(name)
    if column.dtype == pl.Boolean:
        parsed = column.cast(pl.Int8)
    elif column.dtype.is_numeric():
        parsed = column.cast(pl.Float64)
    else:
        text = column.cast(pl.String).str.strip_chars().str.to_lowercase()
        parsed = text.replace_strict(
            {"1": 1.0, "0": 0.0, "true": 1.0, "false": 0.0, "1.0": 1.0, "0.0": 0.0},
            default=None,
            return_dtype=pl.Float64,
        )
    bad = (
        pl.DataFrame({"value": column.cast(pl.String), "parsed": parsed.cast(pl.Float64)})
        .with_row_index("row", offset=1)
        .filter(pl.col("parsed").is_null() | ~pl.col("parsed").is_in([0.0, 1.0]))
    )
    if bad.height:
        raise InputError(
            bad.select(
                "row",
                column=pl.lit(name),
                expected=pl.lit(f"0 or 1 ({role})"),
                got=pl.col("value").fill_null("null"),
            ),
            source=source,
        )
    return parsed.cast(pl.Int8).alias(name)


@dataclass(frozen=True, slots=True)
class Prepared:
    """An audit's rows in a fixed shape: group columns (String), y (0/1), label (0/1 or absent), w."""

    frame: pl.DataFrame  # attributes..., y: Int8, label: Int8 (optional), w: Float64
    attributes: tuple[str, ...]
    kind: str  # "selection" or "scoring"
    has_label: bool
    is_weighted: bool
    median_score: float | None
    n_rows: int


def prepare(
    decisions: pl.DataFrame,
    *,
    groups: Sequence[str],
    selected: str | None,
    score: str | None,
    label: str | None,
    weight: str | None,
    person: str | None,
    source: str,
) -> Prepared:
    """Check the input and reduce it to the columns the audit needs (never mutates the input)."""
    if isinstance(groups, str):
        groups = [groups]
    groups = list(groups)
    if not groups:
        raise GigshiftError("audit: give at least one group attribute (groups=['sex', ...])")
    if len(set(groups)) != len(groups):
        raise GigshiftError(f"audit: group attributes repeat: {groups}")
    if (selected is None) == (score is None):
        raise GigshiftError("audit: give exactly one of selected= (0/1 decisions) or score= (continuous scores)")
    require_columns(
        decisions,
        {
            **{f"group {g!r}": g for g in groups},
            "selected": selected,
            "score": score,
            "label": label,
            "weight": weight,
            "person": person,
        },
        source=source,
    )
    if decisions.height == 0:
        raise GigshiftError(f"{source}: no rows to audit")
    columns = [pl.col(g).cast(pl.String).alias(g) for g in groups]
    frame = decisions.select(*columns)
    median_score = None
    if selected is not None:
        y = binary_column(decisions, selected, source=source, role="selected")
        kind = "selection"
    else:
        values = decisions.get_column(score)
        if not values.dtype.is_numeric():
            raise InputError.single(source=source, column=score, expected="numeric scores", got=str(values.dtype))
        values = values.cast(pl.Float64)
        bad = values.is_null() | values.is_nan() | values.is_infinite()
        if bad.any():
            rows = pl.DataFrame({"v": values}).with_row_index("row", offset=1).filter(bad)
            raise InputError(
                rows.select(
                    "row", column=pl.lit(score), expected=pl.lit("a finite score"), got=pl.col("v").cast(pl.String)
                ).with_columns(pl.col("got").fill_null("null")),
                source=source,
            )
        median_score = float(values.median())
        # LL144 scoring rate: the share of a category scoring strictly above the full sample's median.
        y = (values > median_score).cast(pl.Int8)
        kind = "scoring"
    frame = frame.with_columns(y=y)
    has_label = label is not None
    if has_label:
        frame = frame.with_columns(label=binary_column(decisions, label, source=source, role="label"))
    is_weighted = weight is not None
    if is_weighted:
        w = decisions.get_column(weight)
        if not w.dtype.is_numeric():
            raise InputError.single(source=source, column=weight, expected="numeric weights", got=str(w.dtype))
        w = w.cast(pl.Float64)
        bad = w.is_null() | w.is_nan() | w.is_infinite() | (w < 0)
        if bad.any():
            rows = pl.DataFrame({"v": w}).with_row_index("row", offset=1).filter(bad)
            raise InputError(
                rows.select(
                    "row",
                    column=pl.lit(weight),
                    expected=pl.lit("a finite weight >= 0"),
                    got=pl.col("v").cast(pl.String).fill_null("null"),
                ),
                source=source,
            )
        frame = frame.with_columns(w=w)
    else:
        frame = frame.with_columns(w=pl.lit(1.0))
    if person is not None:
        frame = _per_person(frame.with_columns(person=decisions.get_column(person)), groups, has_label, source)
    return Prepared(
        frame=frame,
        attributes=tuple(groups),
        kind=kind,
        has_label=has_label,
        is_weighted=is_weighted,
        median_score=median_score,
        n_rows=frame.height,
    )


def _per_person(frame: pl.DataFrame, groups: list[str], has_label: bool, source: str) -> pl.DataFrame:
    """One row per person: selected if selected in any row (LL144 counts people, not decisions)."""
    varying = frame.group_by("person").agg(*[pl.col(g).n_unique().alias(g) for g in groups], w=pl.col("w").n_unique())
    for g in [*groups, "w"]:
        bad = varying.filter(pl.col(g) > 1)
        if bad.height:
            raise GigshiftError(
                f"{source}: column {g!r} differs between rows of the same person "
                f"(e.g. {bad.item(0, 'person')!r}); a person's group and weight must be the same in every row"
            )
    aggs = [*(pl.col(g).first() for g in groups), pl.col("y").max(), pl.col("w").first()]
    if has_label:
        aggs.append(pl.col("label").max())
    return frame.group_by("person").agg(*aggs).sort("person").drop("person")
