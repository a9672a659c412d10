"""Request and response bodies (Pydantic). Unknown fields are refused, so a typo names the field at fault."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Skill = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
GroupValue = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
GroupName = Literal["sex", "race_ethnicity", "age_band", "country"]


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Money = Annotated[float, Field(gt=0, le=1e9), AfterValidator(_finite)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"


class Me(BaseModel):
    user_id: int
    email: str
    role: str
    organisation: str
    worker_id: str | None
    client_id: str | None


class TaskIn(Strict):
    task_id: Id | None = Field(None, description="Your id for the task; one is generated if omitted.")
    client_id: Id | None = Field(None, description="Operators only: the client posting the task.")
    title: Text200 | None = None
    text: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] | None = Field(
        None, description="What the work is; categorised through the atlas when no category is given."
    )
    category: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, description="A gig category slug (see `gigshift categories`)."
    )
    required_skills: list[Skill] = Field(default_factory=list, max_length=50)
    budget_usd: Money
    expected_hours: Annotated[float, Field(gt=0, le=10_000), AfterValidator(_finite)] | None = None
    is_remote: bool | None = None
    location: Annotated[str, StringConstraints(max_length=100)] | None = None
    posted_at: datetime | None = None


class Exposure(BaseModel):
    gpt4_beta: float | None
    human_beta: float | None
    suggested_categories: list[dict] = Field(default_factory=list)


class TaskOut(BaseModel):
    task_id: str
    client_id: str
    title: str | None
    text: str | None
    category: str
    category_source: str
    required_skills: list[str]
    budget_usd: float
    expected_hours: float | None
    is_remote: bool
    location: str | None
    posted_at: datetime
    status: str
    exposure: Exposure
    assigned_worker_id: str | None = None


class WorkerIn(Strict):
    worker_id: Id | None = Field(None, description="Workers may omit it: their own profile is meant.")
    display_name: Text200 | None = None
    categories: list[Annotated[str, StringConstraints(max_length=64)]] = Field(min_length=1, max_length=20)
    skills: list[Skill] = Field(default_factory=list, max_length=200)
    hourly_rate_usd: Money
    rating: Annotated[float, Field(ge=1, le=5)] | None = Field(None, description="Operators only.")
    n_jobs_completed: Annotated[int, Field(ge=0, le=10_000_000)] | None = Field(None, description="Operators only.")
    reliability: Annotated[float, Field(ge=0, le=1)] | None = Field(None, description="Operators only.")
    capacity: Annotated[int, Field(ge=0, le=1000)] = 1
    is_remote: bool = True
    location: Annotated[str, StringConstraints(max_length=100)] | None = None
    time_zone: Annotated[str, StringConstraints(max_length=64)] | None = None
    hours_per_week: Annotated[float, Field(ge=0, le=168)] | None = None
    is_available: bool = True
    group_attributes: dict[GroupName, GroupValue] = Field(
        default_factory=dict,
        description="Optional, workers only, with consent: used only for fairness checks and audits in aggregate.",
    )
    group_attributes_consent: bool = Field(
        False, description="Must be true when group_attributes are given: the worker's recorded consent."
    )


class WorkerOut(BaseModel):
    worker_id: str
    display_name: str | None
    categories: list[str]
    skills: list[str]
    hourly_rate_usd: float | None
    rating: float | None
    n_jobs_completed: int
    reliability: float | None
    capacity: int
    is_remote: bool
    location: str | None
    time_zone: str | None
    hours_per_week: float | None
    is_available: bool
    last_assigned_at: datetime | None
    group_attributes_given: list[str] | None = Field(
        None, description="Only for the worker themselves: which attributes they gave (never the values)."
    )


class BidIn(Strict):
    task_id: Id
    worker_id: Id | None = Field(None, description="Workers may omit it: they bid for themselves.")
    price_usd: Money
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = Field(
        None, description="A word to the client: why you, when you could start."
    )


class BidOut(BaseModel):
    bid_id: int
    task_id: str
    worker_id: str
    price_usd: float
    note: str | None = None
    bid_at: datetime


class RatingIn(Strict):
    stars: Annotated[int, Field(ge=1, le=5, description="1 (poor) to 5 (excellent).")]
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class RatingOut(BaseModel):
    task_id: str
    worker_id: str
    client_id: str
    stars: int
    comment: str | None
    created_at: datetime


class AllocationIn(Strict):
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None
    use_bids: bool | None = Field(None, description="Only bidders are candidates; default: if any open task has bids.")
    background: bool | None = Field(None, description="Run as a background job; default: when the batch is large.")
    policy_version: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        None, description="A stored policy version to allocate with; default: the active policy."
    )


class RunAccepted(BaseModel):
    run_id: str
    status: str


class RunOut(BaseModel):
    run_id: str
    status: str
    stage: str | None
    progress: float
    policy_version: str
    is_background: bool
    n_tasks: int | None
    n_assigned: int | None
    summary: dict | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class AssignmentOut(BaseModel):
    task_id: str
    worker_id: str
    score: float
    price_usd: float | None


class AuditIn(Strict):
    groups: list[GroupName] = Field(min_length=1, max_length=4)
    intersect: bool = False
    run_id: Id | None = None
    since: AwareDatetime | None = Field(None, description="With a time zone, e.g. 2026-01-01T00:00:00Z.")
    until: AwareDatetime | None = None
    count: Literal["people", "decisions"] = "people"
    min_n: Annotated[int, Field(ge=1, le=100_000)] = 30
    suppress_below: Annotated[int, Field(ge=5, le=100_000)] = Field(
        10, description="Groups with fewer workers than this are merged into 'not disclosed' (at least 5)."
    )
    exclude_small: bool = False
    n_bootstrap: Annotated[int, Field(ge=0, le=2000)] = 200
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] = ""


# ----------------------------------------------------------------------------------------------
# allocation policy versions

PolicyVersionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")]


class PolicyFairnessIn(Strict):
    """Fairness options; a field left out keeps the active policy's value."""

    attribute: GroupName | None = Field(None, description="Group parity on this worker attribute; null turns it off.")
    min_impact_ratio: float | None = Field(
        None, description="Every group's selection rate at least this times the top's."
    )
    min_group_share: float | None = Field(
        None, description="Groups under this share of candidates are not constrained."
    )


class PolicyIn(Strict):
    """A new policy version: the active policy with these changes, checked by gigshift.allocate's own rules."""

    version: PolicyVersionId = Field(description="A new, unused version name; runs and decisions record it.")
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    weights: dict[str, float] = Field(
        default_factory=dict, description="Component weights to change (skill_match, price_fit, rating, ...)."
    )
    mode: Literal["exact", "greedy", "dispatch"] | None = Field(None, description="Solver mode; fairness needs exact.")
    fairness: PolicyFairnessIn | None = None
    activate: bool = Field(False, description="Make it the active policy at once.")


class PolicyOut(BaseModel):
    version: str
    description: str
    is_active: bool
    is_stored: bool = Field(description="False for the shipped default until it is activated or a version replaces it.")
    created_at: datetime | None
    n_runs: int = Field(description="Allocation runs that used this version.")
    weights: dict[str, float]
    mode: str
    fairness_attribute: str | None
    min_impact_ratio: float
    min_group_share: float


class PolicyList(BaseModel):
    items: list[PolicyOut]
