"""Gig categories: their definitions (``categories.yaml``) and the aggregation of task labels.

Aggregation
-----------
A category draws on occupations ``o`` with weights ``w_o`` (summing to 1) and, within each, a set of
O*NET tasks ``T_o`` that define the gig work. Each selected task gets the weight ``w_o / |T_o|``, so an
occupation contributes its share whatever its number of tasks. Under each lens (GPT-4 or human labels,
Eloundou et al. 2024) the category's shares of E1 (an LLM alone can halve the time), E2 (it can with
tools built on it) and E0 (no such reduction: the human edge) are the weighted shares of its tasks, and

- ``alpha = share_e1``
- ``beta = share_e1 + 0.5 * share_e2``
- ``gamma = share_e1 + share_e2``

as in the paper. Tasks are weighted equally within an occupation because O*NET task ratings (which
the published occupation scores use) are not in the public data we ship; ``published_beta`` gives the
occupation-weighted mean of the published occupation scores for comparison.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import yaml

from gigshift._errors import InputError
from gigshift.taxonomy._schema import CATEGORY_CLASSES, LENSES


def _problem(source: str, where: str, expected: str, got: object) -> InputError:
    return InputError.single(source=source, column=where, expected=expected, got=got)


def read_definitions(
    path: str | os.PathLike[str], *, tasks: pl.DataFrame, occupations: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read and check a categories YAML file.

    Returns
    -------
    (categories, members)
        ``categories``: one row per category (slug, name, class, mode, description, keywords).
        ``members``: one row per (slug, soc_code, task_id) with the occupation weight.

    Raises
    ------
    InputError
        Naming the file and the key at fault (``categories[3].occupations[1].weight``).
    """
    path = Path(path)
    source = str(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _problem(source, "file", "an existing YAML file", "missing") from None
    except yaml.YAMLError as exc:
        raise _problem(source, "file", "valid YAML", str(exc).splitlines()[0]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("categories"), list) or not doc["categories"]:
        raise _problem(source, "categories", "a non-empty list under the key 'categories'", type(doc).__name__)

    known_socs = set(occupations.filter(pl.col("has_exposure_scores"))["soc_code"].to_list())
    labelled = tasks.filter(pl.col("is_labelled") & (pl.col("onet_status") == "current")).select("task_id", "soc_code")
    tasks_by_soc: dict[str, set[int]] = {
        soc: set(ids) for soc, ids in labelled.group_by("soc_code").agg("task_id").iter_rows()
    }
    cat_rows: list[dict[str, object]] = []
    member_rows: list[tuple[str, str, float, int]] = []
    seen: set[str] = set()
    # definitions are a few dozen hand-written entries: a plain loop is the clearest check
    for i, entry in enumerate(doc["categories"]):
        at = f"categories[{i}]"
        if not isinstance(entry, dict):
            raise _problem(source, at, "a mapping", entry)
        for key in ("slug", "name", "class", "mode", "occupations"):
            if key not in entry:
                raise _problem(source, f"{at}.{key}", "a value", "missing")
        slug = entry["slug"]
        if not isinstance(slug, str) or not slug or slug != slug.strip().lower() or " " in slug:
            raise _problem(source, f"{at}.slug", "a lowercase kebab-case slug", slug)
        if slug in seen:
            raise _problem(source, f"{at}.slug", "a slug used once", slug)
        seen.add(slug)
        at = f"categories[{i}] ({slug})"
        if entry["class"] not in CATEGORY_CLASSES:
            raise _problem(source, f"{at}.class", f"one of {', '.join(CATEGORY_CLASSES)}", entry["class"])
        if entry["mode"] not in ("online", "on-location"):
            raise _problem(source, f"{at}.mode", "online or on-location", entry["mode"])
        occs = entry["occupations"]
        if not isinstance(occs, list) or not occs:
            raise _problem(source, f"{at}.occupations", "a non-empty list", occs)
        total = 0.0
        for j, occ in enumerate(occs):
            where = f"{at}.occupations[{j}]"
            soc = str(occ.get("soc_code", "")) if isinstance(occ, dict) else ""
            if soc not in known_socs:
                raise _problem(source, f"{where}.soc_code", "an O*NET-SOC code with exposure labels", soc or occ)
            weight = occ.get("weight")
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 1:
                raise _problem(source, f"{where}.weight", "a number in (0, 1]", weight)
            total += float(weight)
            chosen = occ.get("tasks", "all")
            own = tasks_by_soc.get(soc, set())
            if chosen == "all":
                ids = sorted(own)
            elif isinstance(chosen, list) and chosen and all(isinstance(t, int) for t in chosen):
                stray = [t for t in chosen if t not in own]
                if stray:
                    raise _problem(source, f"{where}.tasks", f"labelled task ids of {soc}", stray[0])
                ids = sorted(set(chosen))
            else:
                raise _problem(source, f"{where}.tasks", "'all' or a list of task ids", chosen)
            member_rows.extend((slug, soc, float(weight), t) for t in ids)
        if abs(total - 1.0) > 1e-6:
            raise _problem(source, f"{at}.occupations", "weights summing to 1", round(total, 6))
        keywords = entry.get("keywords") or []
        cat_rows.append(
            {
                "slug": slug,
                "name": str(entry["name"]),
                "class": entry["class"],
                "mode": entry["mode"],
                "description": str(entry.get("description", "")),
                "keywords": [str(k) for k in keywords],
            }
        )
    categories = pl.DataFrame(
        cat_rows,
        schema={
            "slug": pl.String,
            "name": pl.String,
            "class": pl.Enum(list(CATEGORY_CLASSES)),
            "mode": pl.Enum(["online", "on-location"]),
            "description": pl.String,
            "keywords": pl.List(pl.String),
        },
    )
    members = pl.DataFrame(
        member_rows,
        schema={"slug": pl.String, "soc_code": pl.String, "occupation_weight": pl.Float64, "task_id": pl.Int64},
        orient="row",
    )
    return categories, members


def task_weights(members: pl.DataFrame) -> pl.DataFrame:
    """Each (category, task) with its weight ``w_o / |T_o|``; weights sum to 1 per category."""
    return members.with_columns(task_weight=pl.col("occupation_weight") / pl.len().over("slug", "soc_code"))


def aggregate_exposure(members: pl.DataFrame, tasks: pl.DataFrame, occupations: pl.DataFrame) -> pl.DataFrame:
    """Category exposure under both lenses from its tasks' labels (see the module docstring).

    Returns one row per slug with ``{lens}_share_e0/e1/e2``, ``{lens}_alpha/beta/gamma``,
    ``gpt4_automation_mean`` (T0..T4 mapped to 0..1), ``published_{lens}_beta``, ``n_tasks`` and
    ``n_occupations``.
    """
    weighted = task_weights(members).join(
        tasks.select("task_id", "gpt4_label", "human_label", "gpt4_automation"), on="task_id", how="left"
    )
    aggs: list[pl.Expr] = [pl.len().alias("n_tasks"), pl.col("soc_code").n_unique().alias("n_occupations")]
    for lens in LENSES:
        label = pl.col(f"{lens}_label").cast(pl.String)
        for code in ("E0", "E1", "E2"):
            aggs.append((pl.col("task_weight") * (label == code)).sum().alias(f"{lens}_share_{code.lower()}"))
    aggs.append(
        (pl.col("task_weight") * pl.col("gpt4_automation").cast(pl.String).str.slice(1).cast(pl.Float64) / 4)
        .sum()
        .alias("gpt4_automation_mean")
    )
    out = (
        weighted.group_by("slug")
        .agg(aggs)
        .with_columns(
            *[
                e
                for lens in LENSES
                for e in (
                    pl.col(f"{lens}_share_e1").alias(f"{lens}_alpha"),
                    (pl.col(f"{lens}_share_e1") + 0.5 * pl.col(f"{lens}_share_e2")).alias(f"{lens}_beta"),
                    (pl.col(f"{lens}_share_e1") + pl.col(f"{lens}_share_e2")).alias(f"{lens}_gamma"),
                )
            ]
        )
    )
    published = (
        members.unique(["slug", "soc_code"])
        .join(occupations.select("soc_code", "gpt4_beta", "human_beta"), on="soc_code", how="left")
        .group_by("slug")
        .agg(
            *[
                (pl.col("occupation_weight") * pl.col(f"{lens}_beta")).sum().alias(f"published_{lens}_beta")
                for lens in LENSES
            ]
        )
    )
    return out.join(published, on="slug", how="left").sort("slug")


def rollup_skills(members: pl.DataFrame, skills: pl.DataFrame) -> pl.DataFrame:
    """O*NET skill importance and level per category: the occupation-weighted mean.

    Weights are renormalised over the category's occupations that O*NET rates on skills.
    """
    occ_w = members.unique(["slug", "soc_code"]).select("slug", "soc_code", "occupation_weight")
    rated = occ_w.join(skills, on="soc_code", how="inner")
    return (
        rated.group_by("slug", "element_id", "skill")
        .agg(
            importance=(pl.col("occupation_weight") * pl.col("importance")).sum() / pl.col("occupation_weight").sum(),
            level=(pl.col("occupation_weight") * pl.col("level")).sum() / pl.col("occupation_weight").sum(),
        )
        .sort(["slug", "importance", "element_id"], descending=[False, True, False])
    )


def rollup_technology(members: pl.DataFrame, technology: pl.DataFrame) -> pl.DataFrame:
    """Technology skills per category: the share of the category's occupation weight that lists each."""
    occ_w = members.unique(["slug", "soc_code"]).select("slug", "soc_code", "occupation_weight")
    return (
        occ_w.join(technology, on="soc_code", how="inner")
        .group_by("slug", "technology")
        .agg(
            weight=pl.col("occupation_weight").sum(),
            commodity_title=pl.col("commodity_title").first(),
            is_hot=pl.col("is_hot").any(),
            is_in_demand=pl.col("is_in_demand").any(),
        )
        .sort(["slug", "weight", "is_hot", "technology"], descending=[False, True, True, False])
    )
