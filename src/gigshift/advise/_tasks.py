"""Working with AI in the current work: which tasks AI can do, which it speeds up, and the human edge.

Each of the origin's labelled O*NET tasks gets the mean over the two lenses (GPT-4 and human
annotators, Eloundou et al. 2024) of its label's value, E1 = 1 (an LLM alone halves the time),
E2 = 0.5 (it can with tools built on it), E0 = 0 (no such saving):

- **AI can do it** (mean >= 0.75: E1 under both lenses, or E1 and E2): hand it off and review, and
  re-price it (per deliverable, not per hour);
- **AI speeds it up** (mean 0.5: E2 under both, or the lenses disagree E1 / E0): learn the tools;
  the measured productivity effects are cited in ``EVIDENCE``;
- **the human edge** (mean <= 0.25: E0 under both, or E0 and E2): lead with it in a profile.

A task's weight is its share of the work (see :class:`~gigshift.advise._origin.Origin`); a group's
share is the sum of its tasks' weights.
"""

from __future__ import annotations

import polars as pl

import gigshift
from gigshift._provenance import Provenance
from gigshift.advise._model import default_model
from gigshift.advise._origin import OriginKind, resolve
from gigshift.advise._results import TasksResult

#: Measured effects of generative AI on the speed and quality of work (for the "AI speeds it up" group).
EVIDENCE: tuple[dict[str, str], ...] = (
    {
        "source": "Noy & Zhang 2023, Science",
        "finding": "ChatGPT cut the time of professional writing tasks by 40% and raised quality by 18%",
        "citation": "Noy, S. & Zhang, W. (2023). Experimental evidence on the productivity effects of generative "
        "artificial intelligence. Science 381(6654), 187-192.",
    },
    {
        "source": "Brynjolfsson, Li & Raymond 2023, NBER w31161",
        "finding": "an AI assistant raised customer-support productivity by 14% on average and by 34% for novice "
        "and low-skilled workers",
        "citation": "Brynjolfsson, E., Li, D. & Raymond, L. (2023). Generative AI at Work. NBER Working Paper 31161.",
    },
    {
        "source": "Dell'Acqua et al. 2023, HBS 24-013",
        "finding": "consultants using GPT-4 on tasks inside the AI frontier completed 12.2% more tasks, 25.1% "
        "faster, at over 40% higher quality; outside it they were 19 points less likely to be right",
        "citation": "Dell'Acqua, F. et al. (2023). Navigating the Jagged Technological Frontier. Harvard Business "
        "School Working Paper 24-013.",
    },
)

GROUPS: tuple[tuple[str, str, str, str], ...] = (
    (
        "ai_can_do",
        "AI can do it",
        "Hand these to AI and review the result; re-price them per deliverable rather than per hour, since "
        "clients know AI does them fast, and compete on judgement and reliability, not speed.",
        "hand off to AI, review, re-price per deliverable",
    ),
    (
        "ai_speeds_up",
        "AI speeds it up",
        "Learn the AI tools for these and keep the time saved: in controlled studies, workers using them "
        "finished faster and better, most of all the less experienced, but only on tasks inside what the "
        "models do well, so check the output.",
        "learn the AI tools for it; check the output",
    ),
    (
        "human_edge",
        "the human edge",
        "Lead with these in your profile and pitch: under both lenses AI does not cut their time, so they "
        "are what clients still need a person for.",
        "lead with it in your profile",
    ),
)

_VALUE = {"E0": 0.0, "E1": 1.0, "E2": 0.5}


def tasks(origin: str, *, by: OriginKind = "auto") -> TasksResult:
    """The worker's tasks split into "AI can do it", "AI speeds it up" and "the human edge".

    Parameters
    ----------
    origin : str
        An O*NET-SOC code, a gig category slug or a description of the work.
    by : {"auto", "occupation", "category", "text"}, default="auto"

    Examples
    --------
    >>> result = tasks("27-3091.00")
    >>> result.groups["group"].to_list()
    ['ai_can_do', 'ai_speeds_up', 'human_edge']
    >>> round(float(result.groups["share"].sum()), 6)
    1.0
    """
    from gigshift.taxonomy import tasks as task_table

    model = default_model()
    org = resolve(origin, kind=by, model=model, caller="advise.tasks")
    labels = task_table().select("task_id", "task", "gpt4_label", "human_label", "gpt4_automation")
    joined = org.tasks.join(labels, on="task_id", how="left")
    labelled = joined.filter(pl.col("gpt4_label").is_not_null() & pl.col("human_label").is_not_null())
    n_unlabelled = joined.height - labelled.height
    value = (
        pl.col("gpt4_label").cast(pl.String).replace_strict(_VALUE, return_dtype=pl.Float64)
        + pl.col("human_label").cast(pl.String).replace_strict(_VALUE, return_dtype=pl.Float64)
    ) / 2
    group = pl.when(value >= 0.75).then(pl.lit("ai_can_do")).when(value <= 0.25).then(pl.lit("human_edge"))
    group = group.otherwise(pl.lit("ai_speeds_up"))
    meta = pl.DataFrame(
        {
            "group": [g[0] for g in GROUPS],
            "label": [g[1] for g in GROUPS],
            "advice": [g[2] for g in GROUPS],
            "action": [g[3] for g in GROUPS],
            "order": list(range(len(GROUPS))),
        }
    )
    table = (
        labelled.with_columns(
            weight=pl.col("weight") / pl.col("weight").sum(),
            gpt4_label=pl.col("gpt4_label").cast(pl.String),
            human_label=pl.col("human_label").cast(pl.String),
            gpt4_automation=pl.col("gpt4_automation").cast(pl.String),
            ai_value=value,
            group=group,
        )
        .join(meta.select("group", "action", "order"), on="group")
        .sort(["order", "weight", "task_id"], descending=[False, True, False])
        .select(
            "group",
            "task_id",
            "soc_code",
            "task",
            "weight",
            "gpt4_label",
            "human_label",
            "gpt4_automation",
            "ai_value",
            "action",
        )
    )
    groups = (
        meta.join(
            table.group_by("group").agg(n_tasks=pl.len().cast(pl.Int64), share=pl.col("weight").sum()),
            on="group",
            how="left",
        )
        .with_columns(pl.col("n_tasks").fill_null(0), pl.col("share").fill_null(0.0))
        .sort("order")
        .select("group", "label", "n_tasks", "share", "advice")
    )
    from gigshift.taxonomy._sources import sources_for

    return TasksResult(
        origin=org,
        tasks=table,
        groups=groups,
        evidence=EVIDENCE,
        n_unlabelled=n_unlabelled,
        provenance=Provenance(
            sources=sources_for("onet", "gpts_are_gpts"),
            method="mean over the GPT-4 and human lenses of E1=1, E2=0.5, E0=0: >=0.75 AI can do it, "
            "<=0.25 the human edge, else AI speeds it up; weights = each task's share of the work",
            gigshift_version=gigshift.__version__,
        ),
    )
