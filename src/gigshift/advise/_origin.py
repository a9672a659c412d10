"""Where a worker starts from: an occupation, a gig category or free text, as a weighted set of occupations.

- An O*NET-SOC code is that occupation alone.
- A gig category is its member occupations with the weights the atlas gives them (``categories.yaml``).
- Free text goes through the atlas lookup; its three best-matching occupations share the weight in
  proportion to their match scores, as the lookup's own exposure estimate does.

Exposure, wage and job zone of a category or text origin are the weighted means over its
occupations of the *published* occupation figures, so origin and destinations are compared on
the same scale (for a category this is the atlas's ``published_beta``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from gigshift._errors import GigshiftError, NotFoundError
from gigshift.advise._model import AdviceModel

#: How an origin string is read: ``auto`` tries an O*NET-SOC code, then a category slug, then free text.
OriginKind = Literal["auto", "occupation", "category", "text"]
#: How many lookup matches make up a free-text origin.
TEXT_MATCHES = 3

_METRICS = ("alpha", "beta", "gamma")


@dataclass(frozen=True, slots=True)
class Origin:
    """A resolved origin: its occupations (``members``: soc_code, title, weight, i) and weighted figures.

    ``tasks`` holds the origin's O*NET tasks with their weight in its work (task_id, soc_code, weight;
    weights sum to 1): equal within an occupation, the atlas's task weights for a category, and the
    lookup's task weights for free text.
    """

    kind: str
    key: str
    label: str
    members: pl.DataFrame
    weights: np.ndarray  # over the model's occupations, summing to 1
    exposure: dict[str, dict[str, float]]
    wage_usd_hourly: float | None
    job_zone: int | None
    tasks: pl.DataFrame

    @property
    def lead(self) -> dict[str, object]:
        return self.members.row(0, named=True)

    def to_dict(self) -> dict[str, object]:
        lead = self.lead
        return {
            "kind": self.kind,
            "key": self.key,
            "soc_code": lead["soc_code"],
            "title": self.label,
            "gpt4": dict(self.exposure["gpt4"]),
            "human": dict(self.exposure["human"]),
            "wage_usd_hourly": self.wage_usd_hourly,
            "job_zone": self.job_zone,
            "occupations": self.members.select("soc_code", "title", "weight").to_dicts(),
        }


def _unscored_error(code: str, model: AdviceModel) -> GigshiftError:
    from gigshift.taxonomy import occupation

    occ = occupation(code)  # raises NotFoundError with closest codes when the code does not exist
    same_group = [c for c in model.soc_codes if c[:6] == occ.soc_code[:6]][:3]
    hint = f"; try a scored neighbour: {', '.join(same_group)}" if same_group else ""
    return GigshiftError(
        f"advise: too little data on {occ.soc_code} ({occ.title}): O*NET lists it but publishes no task "
        f"ratings or exposure scores for it, so paths cannot be ranked{hint}"
    )


def resolve(origin: object, *, kind: OriginKind, model: AdviceModel, caller: str) -> Origin:
    """Read ``origin`` as an occupation code, a category slug or free text (see the module docstring)."""
    from gigshift._tables import check_option
    from gigshift.taxonomy import categories, category, lookup, normalize_soc_code
    from gigshift.taxonomy import tasks as task_table

    check_option("by", kind, OriginKind, caller=caller)
    if not isinstance(origin, str) or not origin.strip():
        raise GigshiftError(
            f"{caller}: origin must be a non-empty string (an O*NET-SOC code, a category slug, or a description "
            f"of the work); got {origin!r}"
        )
    text = origin.strip()
    if kind == "auto":
        if normalize_soc_code(text) is not None:
            kind = "occupation"
        elif text.lower() in set(categories()["slug"].to_list()):
            kind = "category"
        else:
            kind = "text"

    occ = model.occupations
    if kind == "occupation":
        code = normalize_soc_code(text)
        rows = occ.filter(pl.col("soc_code") == code) if code else occ.clear()
        if rows.height == 0:
            raise _unscored_error(text, model)
        members = rows.select("soc_code", "title", "i", weight=pl.lit(1.0))
        key, label = rows["soc_code"][0], rows["title"][0]
        own = task_table().filter(
            (pl.col("soc_code") == key) & pl.col("is_labelled") & (pl.col("onet_status") == "current")
        )
        task_weights = own.select("task_id", "soc_code", weight=pl.lit(1.0) / pl.len())
    elif kind == "category":
        cat = category(text)  # NotFoundError lists the closest slugs
        members = (
            cat.occupations.select("soc_code", "weight")
            .join(occ.select("soc_code", "title", "i"), on="soc_code", how="inner")
            .select("soc_code", "title", "i", "weight")
        )
        key, label = cat.slug, cat.name
        task_weights = cat.tasks.select("task_id", "soc_code", weight="task_weight")
    else:
        # every task of the matched occupations, weighted as the lookup weighs them for its exposure
        found = lookup(text, top=TEXT_MATCHES, n_tasks=100_000)  # GigshiftError: empty text, no shared word
        scored = found.occupations.select("soc_code", weight="score")
        members = scored.join(occ.select("soc_code", "title", "i"), on="soc_code", how="inner").select(
            "soc_code", "title", "i", "weight"
        )
        key = found.query
        task_weights = found.tasks.select("task_id", "soc_code", weight="score")
        label = members.sort(["weight", "soc_code"], descending=[True, False])["title"][0] if members.height else text
    if members.height == 0:
        raise NotFoundError("origin", text)
    members = members.with_columns(pl.col("weight") / pl.col("weight").sum()).sort(
        ["weight", "soc_code"], descending=[True, False]
    )
    weights = np.zeros(occ.height)
    weights[members["i"].to_numpy()] = members["weight"].to_numpy()

    def mean(column: str) -> float | None:
        values = occ[column].to_numpy().astype(np.float64)
        ok = ~np.isnan(values) & (weights > 0)
        return float(np.dot(weights[ok], values[ok]) / weights[ok].sum()) if ok.any() else None

    exposure = {lens: {m: mean(f"{lens}_{m}") or 0.0 for m in _METRICS} for lens in ("gpt4", "human")}
    zone = mean("job_zone")
    return Origin(
        kind=kind,
        key=key,
        label=label,
        members=members,
        weights=weights,
        exposure=exposure,
        wage_usd_hourly=mean("bls_median_hourly_wage_usd"),
        job_zone=None if zone is None else round(zone),
        tasks=task_weights.with_columns(pl.col("weight") / pl.col("weight").sum()),
    )
