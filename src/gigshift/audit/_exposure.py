"""Exposure fairness for ranked candidate lists: position-discounted attention each group receives."""

from __future__ import annotations

import numpy as np
import polars as pl

from gigshift._errors import InputError
from gigshift.audit._input import INTERSECTION_SEPARATOR
from gigshift.audit._rates import View


def exposure_table(decisions: pl.DataFrame, views: list[View], *, rank: str, source: str) -> pl.DataFrame:
    """Per group: items ranked, mean exposure and shares of exposure and of items.

    Exposure of an item at rank r is 1 / log2(1 + r) (the DCG position discount, Singh & Joachims
    2018): rank 1 gets 1, rank 3 gets 0.5. A group whose share of exposure is below its share of
    the ranked items is shown lower than its numbers warrant; ``exposure_ratio`` compares each
    group's mean exposure with the best-placed group's.
    """
    ranks = decisions.get_column(rank)
    if not ranks.dtype.is_numeric():
        raise InputError.single(source=source, column=rank, expected="ranks 1, 2, 3, ...", got=str(ranks.dtype))
    bad = (
        pl.DataFrame({"r": ranks.cast(pl.Float64)})
        .with_row_index("row", offset=1)
        .filter(pl.col("r").is_null() | (pl.col("r") < 1) | pl.col("r").is_nan())
    )
    if bad.height:
        raise InputError(
            bad.select(
                "row",
                column=pl.lit(rank),
                expected=pl.lit("a rank >= 1"),
                got=pl.col("r").cast(pl.String).fill_null("null"),
            ),
            source=source,
        )
    frame = decisions.select(*{a for v in views for a in v.attributes}).with_columns(
        exposure=1.0 / np.log2(1.0 + ranks.cast(pl.Float64).to_numpy())
    )
    parts = []
    for view in views:
        known = frame.filter(pl.all_horizontal(*[pl.col(a).is_not_null() for a in view.attributes]))
        grouped = (
            known.group_by(
                category=pl.concat_str(
                    [pl.col(a).cast(pl.String) for a in view.attributes], separator=INTERSECTION_SEPARATOR
                )
            )
            .agg(n_items=pl.len(), exposure=pl.col("exposure").sum())
            .with_columns(
                attribute=pl.lit(view.name),
                mean_exposure=pl.col("exposure") / pl.col("n_items"),
                exposure_share=pl.col("exposure") / pl.col("exposure").sum(),
                item_share=pl.col("n_items") / pl.col("n_items").sum(),
            )
            .with_columns(exposure_ratio=pl.col("mean_exposure") / pl.col("mean_exposure").max())
        )
        parts.append(grouped)
    columns = ["attribute", "category", "n_items", "mean_exposure", "exposure_share", "item_share", "exposure_ratio"]
    return pl.concat([p.select(columns) for p in parts]).sort("attribute", "category")
