"""The atlas: occupations and gig categories with their exposure, as typed results."""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass
from functools import cache

import polars as pl

import gigshift
from gigshift._errors import NotFoundError
from gigshift._provenance import Provenance, Source
from gigshift.taxonomy import _categories as cats
from gigshift.taxonomy._schema import CONTEXT_COLUMNS
from gigshift.taxonomy._sources import GPTS, ONET, SHIPPED_SOURCES, sources_for
from gigshift.taxonomy._store import data_dir, load_table

_CODE = re.compile(r"^\s*(\d{2})-?(\d{4})(?:\.(\d{2}))?\s*$")


def _clean(value: object) -> object:
    """JSON-safe scalar: NaN becomes None."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


@dataclass(frozen=True, slots=True)
class ExposureScores:
    """Eloundou et al. exposure measures under one lens.

    ``alpha`` is the share of E1 tasks (an LLM alone halves the time), ``gamma`` the share of E1 or E2
    (with LLM-powered tools), and ``beta = alpha + 0.5 * (gamma - alpha)`` sits between them.
    """

    alpha: float | None
    beta: float | None
    gamma: float | None

    def to_dict(self) -> dict[str, float | None]:
        return {"alpha": self.alpha, "beta": self.beta, "gamma": self.gamma}


def _scores(row: dict[str, object], lens: str, prefix: str = "") -> ExposureScores:
    return ExposureScores(*(_clean(row[f"{prefix}{lens}_{m}"]) for m in ("alpha", "beta", "gamma")))  # type: ignore[arg-type]


def _sources_json(sources: tuple[Source, ...]) -> list[dict[str, str]]:
    return [s.to_dict() for s in sources]


def _md_table(frame: pl.DataFrame, columns: list[str]) -> str:
    head = "| " + " | ".join(columns) + " |\n| " + " | ".join("---" for _ in columns) + " |\n"
    body = "".join(
        "| " + " | ".join("" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v)) for v in row) + " |\n"
        for row in frame.select(columns).iter_rows()
    )
    return head + body


@dataclass(frozen=True, slots=True)
class Occupation:
    """One O*NET-SOC occupation with its published exposure scores, tasks and context.

    ``gpt4`` and ``human`` are the occupation scores exactly as published in ``occ_level.csv``.
    ``tasks`` has one row per O*NET 29.3 task with its labels; ``skills`` and ``technology`` are
    the O*NET ratings and tools for the occupation.
    """

    soc_code: str
    title: str
    description: str
    job_zone: int | None
    gpt4: ExposureScores
    human: ExposureScores
    ms_ai_applicability: float | None
    context: dict[str, object]
    tasks: pl.DataFrame
    skills: pl.DataFrame
    technology: pl.DataFrame
    categories: pl.DataFrame
    provenance: Provenance

    def tidy(self) -> pl.DataFrame:
        """The occupation's tasks, one row each: the table the other renderings derive from."""
        return self.tasks

    def to_dict(self) -> dict[str, object]:
        return {
            "soc_code": self.soc_code,
            "title": self.title,
            "description": self.description,
            "job_zone": self.job_zone,
            "gpt4": self.gpt4.to_dict(),
            "human": self.human.to_dict(),
            "ms_ai_applicability": self.ms_ai_applicability,
            **{k: _clean(v) for k, v in self.context.items()},
            "tasks": [
                {k: _clean(v) for k, v in row.items()}
                for row in self.tasks.select(
                    "task_id", "task", "task_type", "gpt4_label", "human_label", "gpt4_automation"
                ).iter_rows(named=True)
            ],
            "skills": self.skills.head(10).to_dicts(),
            "technology": self.technology.head(15).to_dicts(),
            "categories": self.categories.to_dicts(),
            "sources": _sources_json(self.provenance.sources),
            "provenance": self.provenance.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False, ensure_ascii=False)

    def to_markdown(self) -> str:
        lines = [
            f"# {self.title} ({self.soc_code})",
            "",
            self.description,
            "",
            "| lens | alpha | beta | gamma |",
            "| --- | --- | --- | --- |",
        ]
        for name, s in (("GPT-4", self.gpt4), ("human", self.human)):
            lines.append(
                f"| {name} | {s.alpha:.3f} | {s.beta:.3f} | {s.gamma:.3f} |"
                if s.alpha is not None
                else f"| {name} | | | |"
            )
        lines += ["", _md_table(self.tasks, ["task_id", "task", "gpt4_label", "human_label"])]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Category:
    """A gig category: its occupations, defining tasks and aggregated exposure (see ``categories``)."""

    slug: str
    name: str
    category_class: str
    mode: str
    description: str
    keywords: tuple[str, ...]
    gpt4: ExposureScores
    human: ExposureScores
    shares: dict[str, dict[str, float]]
    gpt4_automation_mean: float | None
    published_beta: dict[str, float | None]
    occupations: pl.DataFrame
    tasks: pl.DataFrame
    skills: pl.DataFrame
    technology: pl.DataFrame
    provenance: Provenance

    def tidy(self) -> pl.DataFrame:
        """The category's tasks with weights and labels."""
        return self.tasks

    def to_dict(self) -> dict[str, object]:
        return {
            "slug": self.slug,
            "name": self.name,
            "class": self.category_class,
            "mode": self.mode,
            "description": self.description,
            "keywords": list(self.keywords),
            "gpt4": self.gpt4.to_dict(),
            "human": self.human.to_dict(),
            "shares": self.shares,
            "gpt4_automation_mean": self.gpt4_automation_mean,
            "published_beta": self.published_beta,
            "occupations": self.occupations.to_dicts(),
            "tasks": [{k: _clean(v) for k, v in r.items()} for r in self.tasks.iter_rows(named=True)],
            "skills": self.skills.head(10).to_dicts(),
            "technology": self.technology.head(15).to_dicts(),
            "sources": _sources_json(self.provenance.sources),
            "provenance": self.provenance.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False, ensure_ascii=False)

    def to_markdown(self) -> str:
        s = self.shares
        lines = [
            f"# {self.name} (`{self.slug}`, {self.category_class}, {self.mode})",
            "",
            self.description,
            "",
            "| lens | alpha | beta | gamma | E1 (AI alone) | E2 (AI with tools) | E0 (human edge) |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, lens, sc in (("GPT-4", "gpt4", self.gpt4), ("human", "human", self.human)):
            lines.append(
                f"| {name} | {sc.alpha:.3f} | {sc.beta:.3f} | {sc.gamma:.3f} | {s[lens]['e1']:.1%} "
                f"| {s[lens]['e2']:.1%} | {s[lens]['e0']:.1%} |"
            )
        lines += [
            "",
            _md_table(self.occupations, ["soc_code", "title", "weight", "n_tasks"]),
            "",
            _md_table(self.tasks, ["task_id", "soc_code", "task", "gpt4_label", "human_label"]),
        ]
        return "\n".join(lines)


def _provenance(method: str, *keys: str) -> Provenance:
    return Provenance(sources=sources_for(*keys), method=method, gigshift_version=gigshift.__version__)


@cache
def _definitions() -> tuple[pl.DataFrame, pl.DataFrame]:
    return cats.read_definitions(
        data_dir() / "categories.yaml", tasks=load_table("tasks"), occupations=load_table("occupations")
    )


@cache
def _category_table() -> pl.DataFrame:
    categories, members = _definitions()
    exposure = cats.aggregate_exposure(members, load_table("tasks"), load_table("occupations"))
    return categories.join(exposure, on="slug", how="left").sort("slug")


def occupations() -> pl.DataFrame:
    """Every O*NET-SOC occupation (1,016) with published exposure scores where they exist (923).

    Columns include ``gpt4_alpha/beta/gamma`` and ``human_alpha/beta/gamma`` exactly as published,
    ``ms_ai_applicability`` (Microsoft), BLS employment and median wages, 2024-34 projections and
    job zone. See the README for how codes are joined.
    """
    return load_table("occupations")


def online_labour_index() -> pl.DataFrame:
    """The Online Labour Index by month and occupation class (2016-05 to 2024-08, CC BY 4.0).

    Columns: ``month``, ``occupation_class`` (gigshift's class slug, or ``total``), ``oli_class`` (the
    index's own name) and ``level`` (projects posted; 100 = all classes in May 2016). Source:
    Kässi, Hadley & Lehdonvirta (2019), monthly means of the daily series.
    """
    return load_table("oli_levels")


def tasks() -> pl.DataFrame:
    """Every O*NET task (29.3, plus labelled tasks retired since) with its exposure labels."""
    return load_table("tasks")


def skills() -> pl.DataFrame:
    """O*NET skill importance (1-5) and level (0-7) per occupation."""
    return load_table("skills")


def technology_skills() -> pl.DataFrame:
    """O*NET technology skills (software and tools) per occupation, with hot / in-demand flags."""
    return load_table("technology_skills")


def categories() -> pl.DataFrame:
    """Every gig category with its exposure under both lenses, sorted by slug.

    Columns: slug, name, class, mode, description, keywords, ``{lens}_share_e0/e1/e2``,
    ``{lens}_alpha/beta/gamma``, ``gpt4_automation_mean``, ``published_{lens}_beta``, ``n_tasks``,
    ``n_occupations``.

    Examples
    --------
    >>> table = categories()
    >>> table.height >= 30
    True
    >>> bool((table["gpt4_share_e0"] + table["gpt4_share_e1"] + table["gpt4_share_e2"] - 1).abs().max() < 1e-9)
    True
    """
    return _category_table()


def normalize_soc_code(code: str) -> str | None:
    """``27-3091``, ``273091`` or ``27-3091.00`` -> ``27-3091.00``; None if it is not code-shaped."""
    m = _CODE.match(code)
    if not m:
        return None
    return f"{m.group(1)}-{m.group(2)}.{m.group(3) or '00'}"


def _closest_occupations(code: str, occ: pl.DataFrame, n: int = 3) -> list[str]:
    codes = occ["soc_code"].to_list()
    titles = dict(zip(codes, occ["title"].to_list(), strict=True))
    norm = normalize_soc_code(code)
    if norm is not None:
        prefix = norm[:7]
        same = [c for c in codes if c.startswith(prefix)]
        picks = same or difflib.get_close_matches(norm, codes, n=n, cutoff=0.5)
        if not picks:  # nearest codes in the same minor group
            picks = [c for c in codes if c[:4] == norm[:4]][:n]
    else:  # the user typed words: match them against O*NET and alternate titles
        alt = load_table("alternate_titles")
        names = dict(zip([t.lower() for t in alt["alternate_title"].to_list()], alt["soc_code"].to_list(), strict=True))
        names.update({t.lower(): c for c, t in titles.items()})
        picks = []
        for name in difflib.get_close_matches(code.strip().lower(), list(names), n=10 * n, cutoff=0.6):
            if names[name] not in picks:
                picks.append(names[name])
    return [f"{c} ({titles[c]})" for c in picks[:n]]


def occupation(code: str) -> Occupation:
    """One occupation by O*NET-SOC code (``27-3091.00``, or the SOC code ``27-3091``).

    Raises
    ------
    NotFoundError
        The code does not exist; the message lists the closest codes.

    Examples
    --------
    >>> occ = occupation("27-3091")
    >>> occ.title, occ.gpt4.alpha
    ('Interpreters and Translators', 0.88)
    """
    occ = load_table("occupations")
    norm = normalize_soc_code(code) if isinstance(code, str) else None
    rows = occ.filter(pl.col("soc_code") == norm) if norm else occ.clear()
    if rows.height == 0:
        raise NotFoundError("occupation", str(code), _closest_occupations(str(code), occ))
    row = rows.row(0, named=True)
    soc = row["soc_code"]
    task_rows = load_table("tasks").filter((pl.col("soc_code") == soc) & (pl.col("onet_status") == "current"))
    task_rows = task_rows.select(
        "task_id",
        "task",
        "task_type",
        "gpt4_label",
        "human_label",
        "gpt4_automation",
        "gpt4_label_alt_rubric",
        "text_changed",
    ).sort("task_id")
    skill_rows = (
        load_table("skills")
        .filter(pl.col("soc_code") == soc)
        .drop("soc_code")
        .sort(["importance", "element_id"], descending=[True, False])
    )
    tech = (
        load_table("technology_skills")
        .filter(pl.col("soc_code") == soc)
        .drop("soc_code")
        .sort(["is_hot", "is_in_demand", "technology"], descending=[True, True, False])
    )
    _, members = _definitions()
    in_cats = (
        members.filter(pl.col("soc_code") == soc)
        .unique("slug")
        .select("slug", "occupation_weight")
        .join(_category_table().select("slug", "name"), on="slug")
        .sort("slug")
        .select("slug", "name", weight="occupation_weight")
    )
    context = {
        k: row[k]
        for k in (
            *CONTEXT_COLUMNS,
            "has_exposure_scores",
        )
    }
    return Occupation(
        soc_code=soc,
        title=row["title"],
        description=row["description"],
        job_zone=row["job_zone"],
        gpt4=_scores(row, "gpt4"),
        human=_scores(row, "human"),
        ms_ai_applicability=_clean(row["ms_ai_applicability"]),  # type: ignore[arg-type]
        context=context,
        tasks=task_rows,
        skills=skill_rows,
        technology=tech,
        categories=in_cats,
        provenance=_provenance(
            "occupation scores as published (occ_level.csv); task labels joined on Task ID",
            *(s.key for s in SHIPPED_SOURCES),
        ),
    )


def category(slug: str) -> Category:
    """One gig category by slug, with its exposure, occupations, tasks, skills and tools.

    Raises
    ------
    NotFoundError
        The slug does not exist; the message lists the closest slugs.

    Examples
    --------
    >>> c = category("translation")
    >>> c.gpt4.beta > category("house-cleaning").gpt4.beta
    True
    """
    table = _category_table()
    rows = table.filter(pl.col("slug") == str(slug).strip().lower())
    if rows.height == 0:
        slugs = table["slug"].to_list()
        names = dict(zip(slugs, table["name"].to_list(), strict=True))
        key = str(slug).strip().lower()
        close = difflib.get_close_matches(key, slugs, n=3, cutoff=0.3)
        close += [s for s in slugs if (key and key in s) and s not in close]
        raise NotFoundError("category", str(slug), [f"{s} ({names[s]})" for s in close[:3]])
    row = rows.row(0, named=True)
    slug = row["slug"]
    _, members = _definitions()
    own = cats.task_weights(members.filter(pl.col("slug") == slug))
    occ = load_table("occupations")
    occ_rows = (
        own.group_by("soc_code")
        .agg(weight=pl.col("occupation_weight").first(), n_tasks=pl.len())
        .join(
            occ.select("soc_code", "title", "gpt4_beta", "human_beta", "bls_median_hourly_wage_usd"),
            on="soc_code",
            how="left",
        )
        .select("soc_code", "title", "weight", "n_tasks", "gpt4_beta", "human_beta", "bls_median_hourly_wage_usd")
        .sort(["weight", "soc_code"], descending=[True, False])
    )
    task_rows = (
        own.join(
            load_table("tasks").select("task_id", "task", "task_type", "gpt4_label", "human_label", "gpt4_automation"),
            on="task_id",
            how="left",
        )
        .select(
            "task_id", "soc_code", "task", "task_type", "gpt4_label", "human_label", "gpt4_automation", "task_weight"
        )
        .sort(["task_weight", "soc_code", "task_id"], descending=[True, False, False])
    )
    shares = {lens: {k: row[f"{lens}_share_{k}"] for k in ("e0", "e1", "e2")} for lens in ("gpt4", "human")}
    return Category(
        slug=slug,
        name=row["name"],
        category_class=str(row["class"]),
        mode=str(row["mode"]),
        description=row["description"],
        keywords=tuple(row["keywords"]),
        gpt4=_scores(row, "gpt4"),
        human=_scores(row, "human"),
        shares=shares,
        gpt4_automation_mean=row["gpt4_automation_mean"],
        published_beta={"gpt4": row["published_gpt4_beta"], "human": row["published_human_beta"]},
        occupations=occ_rows,
        tasks=task_rows,
        skills=cats.rollup_skills(members.filter(pl.col("slug") == slug), load_table("skills")).drop("slug"),
        technology=cats.rollup_technology(members.filter(pl.col("slug") == slug), load_table("technology_skills")).drop(
            "slug"
        ),
        provenance=_provenance(
            "task labels aggregated with weight w_o/|T_o| per task; alpha=E1, beta=E1+0.5*E2, gamma=E1+E2",
            ONET.key,
            GPTS.key,
        ),
    )


def all_sources() -> tuple[Source, ...]:
    """Every public dataset behind the shipped tables."""
    return SHIPPED_SOURCES
