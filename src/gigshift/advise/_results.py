"""Result objects of ``gigshift.advise``: frozen, tidy tables plus provenance, rendered to JSON and Markdown."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import polars as pl

from gigshift._html import esc, table_html
from gigshift._provenance import Provenance
from gigshift._tables import finite
from gigshift.advise._origin import Origin

_METRICS = ("alpha", "beta", "gamma")


def _dumps(body: dict[str, object]) -> str:
    return json.dumps(finite(body), allow_nan=False, ensure_ascii=False)


def _lens(row: dict[str, object], lens: str) -> dict[str, object]:
    return {m: row[f"{lens}_{m}"] for m in _METRICS}


def _fmt(value: object, spec: str = ".2f") -> str:
    return "–" if value is None else format(value, spec)


def _md_origin(origin: Origin) -> list[str]:
    g, h = origin.exposure["gpt4"], origin.exposure["human"]
    wage = f"${origin.wage_usd_hourly:.2f}/h" if origin.wage_usd_hourly else "no BLS wage"
    mix = ""
    if origin.members.height > 1:
        mix = " (" + ", ".join(f"{r['title']} {r['weight']:.0%}" for r in origin.members.iter_rows(named=True)) + ")"
    return [
        f"**From:** {origin.label}{mix}: exposure beta {g['beta']:.2f} (GPT-4) / {h['beta']:.2f} (human), "
        f"E1 share {g['alpha']:.2f} / {h['alpha']:.2f}; {wage}; job zone {origin.job_zone or '–'}",
        "",
    ]


@dataclass(frozen=True, slots=True)
class SimilarResult:
    """Occupations closest to an origin by the similarity alone (``similar``: closest first)."""

    origin: Origin
    similar: pl.DataFrame  # similarity_rank, soc_code, title, similarity (0-1), score (blend), job_zone
    provenance: Provenance = field(repr=False)

    def tidy(self) -> pl.DataFrame:
        return self.similar

    def to_dict(self) -> dict[str, object]:
        return {
            "origin": self.origin.to_dict(),
            "similar": self.similar.select("soc_code", "title", "similarity", "similarity_rank", "job_zone").to_dicts(),
            "provenance": self.provenance.to_dict(),
        }

    def to_json(self) -> str:
        return _dumps(self.to_dict())

    def to_html(self) -> str:
        """An HTML fragment (one ``<table>``) for reports."""
        return table_html(self.similar.select("similarity_rank", "soc_code", "title", "similarity", "job_zone"))

    def to_markdown(self) -> str:
        lines = [*_md_origin(self.origin), "| # | soc_code | title | similarity |", "| --- | --- | --- | --- |"]
        lines += [
            f"| {r['similarity_rank']} | {r['soc_code']} | {r['title']} | {r['similarity']:.2f} |"
            for r in self.similar.iter_rows(named=True)
        ]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class PathsResult:
    """Career paths from an origin, best first, with every ranking component and what to learn.

    ``paths`` has one row per path: similarity (0-1 and its rank), both lenses' alpha/beta/gamma,
    wage and ``wage_ratio``, ``job_zone_change`` and ``preparation_cost``, BLS outlook and the Online
    Labour Index trend of its online class, the components ``score_*``, the ``score`` and ``why``.
    ``learn`` lists, per path, the technologies and activities the destination has and the origin
    lacks (most important first). ``search`` holds the steps of the search; ``widened`` is true when
    the first step found too few paths.
    """

    origin: Origin
    paths: pl.DataFrame
    learn: pl.DataFrame
    skill_levers: pl.DataFrame
    search: pl.DataFrame
    widened: bool
    note: str
    weights: dict[str, float]
    n_learn: int
    n_qualifying: int
    provenance: Provenance = field(repr=False)

    def tidy(self) -> pl.DataFrame:
        return self.paths

    def _learn_lists(self) -> dict[str, list[dict[str, object]]]:
        top = self.learn.filter(pl.col("rank") <= self.n_learn)
        lists: dict[str, list[dict[str, object]]] = {}
        for r in top.iter_rows(named=True):  # at most top x n_learn rows
            lists.setdefault(r["soc_code"], []).append(
                {"name": r["name"], "kind": r["kind"], "hot": r["is_hot"], "in_demand": r["is_in_demand"]}
            )
        return lists

    def to_dict(self) -> dict[str, object]:
        learn = self._learn_lists()
        paths = [
            {
                "soc_code": r["soc_code"],
                "title": r["title"],
                "score": r["score"],
                "similarity": r["similarity"],
                "gpt4": _lens(r, "gpt4"),
                "human": _lens(r, "human"),
                "wage_ratio": r["wage_ratio"],
                "job_zone_change": r["job_zone_change"],
                "outlook": {
                    "employment_change_2024_34_pct": r["employment_change_pct"],
                    "openings_thousands_per_year": r["openings_thousands_per_year"],
                    "openings_rate": r["openings_rate"],
                    "online_class": r["online_class"],
                    "oli_trend_pct": r["oli_trend_pct"],
                },
                "learn": learn.get(r["soc_code"], []),
                "why": r["why"],
                "similarity_rank": r["similarity_rank"],
                "wage_usd_hourly": r["wage_usd_hourly"],
                "job_zone": r["job_zone"],
                "preparation_cost": r["preparation_cost"],
                "components": {k: r[f"score_{k}"] for k in ("similarity", "exposure", "pay", "outlook")},
            }
            for r in self.paths.iter_rows(named=True)
        ]
        return {
            "origin": self.origin.to_dict(),
            "paths": paths,
            "widened": self.widened,
            "skill_levers": self.skill_levers.to_dicts(),
            "search": self.search.to_dicts(),
            "note": self.note,
            "n_qualifying": self.n_qualifying,
            "weights": self.weights,
            "provenance": self.provenance.to_dict(),
        }

    def to_json(self) -> str:
        return _dumps(self.to_dict())

    def to_html(self) -> str:
        """An HTML fragment for reports: the note, the paths table with reasons, and the skill levers."""
        learn = self._learn_lists()
        shown = self.paths.with_columns(
            learn=pl.Series(
                [", ".join(i["name"].rstrip(".") for i in learn.get(c, [])) for c in self.paths["soc_code"]],
                dtype=pl.String,
            )
        ).select(
            "soc_code",
            "title",
            "score",
            "similarity",
            "gpt4_beta",
            "human_beta",
            "wage_ratio",
            "job_zone_change",
            "employment_change_pct",
            "why",
            "learn",
        )
        parts = [f"<p>{esc(self.note)}</p>"]
        if shown.height:
            parts.append(table_html(shown, formats={"score": ".2f", "similarity": ".2f", "wage_ratio": ".2f"}))
        if self.skill_levers.height:
            parts.append(table_html(self.skill_levers.select("rank", "name", "kind", "n_paths", "share_of_paths")))
        return "\n".join(parts)

    def to_markdown(self) -> str:
        lines = [*_md_origin(self.origin), self.note, ""]
        if self.paths.height:
            lines += [
                "| # | path | score | similarity | beta GPT-4 / human | pay | zone | why |",
                "| --- | --- | --- | --- | --- | --- | --- | --- |",
            ]
            for n, r in enumerate(self.paths.iter_rows(named=True), start=1):
                lines.append(
                    f"| {n} | {r['title']} ({r['soc_code']}) | {r['score']:.2f} | {r['similarity']:.2f} "
                    f"| {r['gpt4_beta']:.2f} / {r['human_beta']:.2f} | {_fmt(r['wage_ratio'], '.2f')}x "
                    f"| {r['job_zone_change']:+d} | {r['why']} |"
                )
            learn = self._learn_lists()
            lines.append("")
            for r in self.paths.iter_rows(named=True):
                items = learn.get(r["soc_code"], [])
                if items:
                    lines.append(
                        f"- **{r['title']}**, learn: "
                        + ", ".join(
                            i["name"] + (" (in demand)" if i["in_demand"] else " (hot)" if i["hot"] else "")
                            for i in items
                        )
                    )
        if self.skill_levers.height:
            lines += ["", "**Skill levers** (each opens the most of these paths):", ""]
            lines += [
                f"- {r['name']} ({r['kind']}): opens {r['n_paths']} paths"
                for r in self.skill_levers.iter_rows(named=True)
            ]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class SkillLeversResult:
    """The single technologies and activities that open the most less-exposed, well-paid paths."""

    origin: Origin
    levers: pl.DataFrame  # rank, kind, item, name, n_paths, share_of_paths, is_hot, is_in_demand, paths
    n_paths: int
    search: pl.DataFrame
    widened: bool
    provenance: Provenance = field(repr=False)

    def tidy(self) -> pl.DataFrame:
        return self.levers

    def to_dict(self) -> dict[str, object]:
        return {
            "origin": self.origin.to_dict(),
            "n_paths": self.n_paths,
            "widened": self.widened,
            "skill_levers": self.levers.to_dicts(),
            "search": self.search.to_dicts(),
            "provenance": self.provenance.to_dict(),
        }

    def to_json(self) -> str:
        return _dumps(self.to_dict())

    def to_html(self) -> str:
        """An HTML fragment (one ``<table>``) for reports."""
        return table_html(self.levers.select("rank", "name", "kind", "n_paths", "share_of_paths"))

    def to_markdown(self) -> str:
        lines = [*_md_origin(self.origin), "| # | lever | kind | opens paths |", "| --- | --- | --- | --- |"]
        lines += [
            f"| {r['rank']} | {r['name']} | {r['kind']} | {r['n_paths']} of {self.n_paths} |"
            for r in self.levers.iter_rows(named=True)
        ]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class TasksResult:
    """The origin's tasks split into what AI can do, what it speeds up, and the human edge.

    ``tasks`` has one row per task (weight = its share of the work) with both lenses' labels, its
    ``group`` and the ``action``; ``groups`` summarises each group's share and advice; ``evidence``
    cites the measured productivity effects of working with AI.
    """

    origin: Origin
    tasks: pl.DataFrame
    groups: pl.DataFrame  # group, label, n_tasks, share, advice
    evidence: tuple[dict[str, str], ...]
    n_unlabelled: int
    provenance: Provenance = field(repr=False)

    def tidy(self) -> pl.DataFrame:
        return self.tasks

    @property
    def profile_lead(self) -> list[str]:
        """The human-edge tasks that carry the most weight: what to lead with in a profile."""
        edge = self.tasks.filter(pl.col("group") == "human_edge")
        return edge.sort(["weight", "task_id"], descending=[True, False]).head(3)["task"].to_list()

    def to_dict(self) -> dict[str, object]:
        columns = ["task_id", "soc_code", "task", "weight", "gpt4_label", "human_label", "gpt4_automation"]
        groups = []
        for g in self.groups.iter_rows(named=True):  # three groups
            rows = self.tasks.filter(pl.col("group") == g["group"]).select(columns)
            groups.append(
                {
                    **g,
                    "evidence": list(self.evidence) if g["group"] == "ai_speeds_up" else [],
                    "tasks": rows.to_dicts(),
                }
            )
        return {
            "origin": self.origin.to_dict(),
            "groups": groups,
            "profile_lead": self.profile_lead,
            "n_unlabelled": self.n_unlabelled,
            "provenance": self.provenance.to_dict(),
        }

    def to_json(self) -> str:
        return _dumps(self.to_dict())

    def to_html(self) -> str:
        """An HTML fragment for reports: per group, its share, advice (with the evidence) and tasks."""
        parts = []
        for g in self.groups.iter_rows(named=True):  # three groups
            parts.append(f"<h3>{esc(g['label'])}: {g['share']:.0%} of the work</h3><p>{esc(g['advice'])}</p>")
            if g["group"] == "ai_speeds_up":
                items = "".join(f"<li>{esc(e['finding'])} ({esc(e['citation'])})</li>" for e in self.evidence)
                parts.append(f"<ul>{items}</ul>")
            rows = self.tasks.filter(pl.col("group") == g["group"])
            if rows.height:
                parts.append(table_html(rows.select("task", "weight", "gpt4_label", "human_label", "action")))
        return "\n".join(parts)

    def to_markdown(self) -> str:
        lines = _md_origin(self.origin)
        for g in self.groups.iter_rows(named=True):
            lines += [f"### {g['label']} ({g['share']:.0%} of the work, {g['n_tasks']} tasks)", "", g["advice"], ""]
            if g["group"] == "ai_speeds_up":
                lines += [f"- {e['finding']} ({e['citation']})" for e in self.evidence] + [""]
            rows = self.tasks.filter(pl.col("group") == g["group"]).head(8)
            lines += [f"- {r['task']} ({r['gpt4_label']}/{r['human_label']})" for r in rows.iter_rows(named=True)]
            lines.append("")
        return "\n".join(lines)
