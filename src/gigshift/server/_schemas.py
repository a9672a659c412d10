"""Request and response bodies (Pydantic). Unknown fields are refused, so a typo names the field at fault."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Skill = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
GroupValue = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
GroupName = Literal["sex", "race_ethnicity", "age_band", "country"]


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _integral(value: object) -> object:
    # JSON Schema's integer includes 4.0; strict mode would refuse it, and refuses true and "4" as it should.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Integral = BeforeValidator(_integral)


def _each_once(values: list) -> list:
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"each item at most once; repeated: {', '.join(map(str, repeated))}")
    return values


Money = Annotated[float, Field(gt=0, le=1e9), AfterValidator(_finite)]
# Up to 2**53 - 1: every JSON reader (JavaScript's too) holds it exactly; a larger bound rounds to 2**63.
Seed = Annotated[int, Field(ge=0, le=2**53 - 1), Integral]


def _category_enum(schema: dict) -> None:
    # Filled in when the OpenAPI description is made, not at import: the atlas loads in seconds.
    from gigshift.server._store import _category_table

    schema["enum"] = sorted(_category_table())


#: A gig category slug. The description lists them; the store checks them, naming the closest on a typo.
CategorySlug = Annotated[str, StringConstraints(max_length=64), Field(json_schema_extra=_category_enum)]


class Strict(BaseModel):
    # Strict types too: JSON true is not the number 1 nor "5" the integer 5, as the description says.
    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorItem(BaseModel):
    field: str
    message: str
    type: str


class ErrorOut(BaseModel):
    """Every refusal (4xx): what is wrong, and the request field at fault when there is one."""

    detail: str
    field: str | None
    errors: list[ErrorItem] | None = Field(None, description="Validation failures (422): one entry per field.")


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
    category: CategorySlug | None = Field(None, description="A gig category slug (see `gigshift categories`).")
    required_skills: list[Skill] = Field(default_factory=list, max_length=50)
    budget_usd: Money
    expected_hours: Annotated[float, Field(gt=0, le=10_000), AfterValidator(_finite)] | None = None
    is_remote: bool | None = None
    location: Annotated[str, StringConstraints(max_length=100)] | None = None
    posted_at: Annotated[datetime, Field(strict=False)] | None = None  # JSON has no datetime: from its string

    # A category, or a text with words in it to find one from.
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "anyOf": [
                {"required": ["category"], "properties": {"category": {"type": "string"}}},
                {"required": ["text"], "properties": {"text": {"type": "string", "pattern": r"\w"}}},
            ]
        },
    )


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
    categories: list[CategorySlug] = Field(min_length=1, max_length=20)
    skills: list[Skill] = Field(default_factory=list, max_length=200)
    hourly_rate_usd: Money
    rating: Annotated[float, Field(ge=1, le=5)] | None = Field(None, description="Operators only.")
    n_jobs_completed: Annotated[int, Field(ge=0, le=10_000_000), Integral] | None = Field(
        None, description="Operators only."
    )
    reliability: Annotated[float, Field(ge=0, le=1)] | None = Field(None, description="Operators only.")
    capacity: Annotated[int, Field(ge=0, le=1000), Integral] = 1
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
    stars: Annotated[int, Field(ge=1, le=5, description="1 (poor) to 5 (excellent)."), Integral]
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class RatingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read straight from a stored Rating

    task_id: str
    worker_id: str
    client_id: str
    stars: int
    comment: str | None
    created_at: datetime


class AllocationIn(Strict):
    seed: Seed | None = None
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


class _Page(BaseModel):
    limit: int
    offset: int
    next_offset: int | None = Field(description="The offset of the next page; null on the last page.")


class TaskPage(_Page):
    items: list[TaskOut]


class WorkerPage(_Page):
    items: list[WorkerOut]


class AssignmentPage(_Page):
    items: list[AssignmentOut]


class RatingList(BaseModel):
    items: list[RatingOut] = Field(description="Newest first, at most `limit`.")


class ConsentOut(BaseModel):
    worker_id: str
    terms: str
    given_at: datetime
    revoked_at: datetime | None


class TransparencyOut(BaseModel):
    policy_version: str
    weights: dict[str, float]
    statement: str


class AuditIn(Strict):
    groups: Annotated[list[GroupName], AfterValidator(_each_once)] = Field(
        min_length=1, max_length=4, json_schema_extra={"uniqueItems": True}
    )
    intersect: bool = False
    run_id: Id | None = None
    since: Annotated[AwareDatetime, Field(strict=False)] | None = Field(
        None, description="With a time zone, e.g. 2026-01-01T00:00:00Z."
    )
    until: Annotated[AwareDatetime, Field(strict=False)] | None = None
    count: Literal["people", "decisions"] = "people"
    min_n: Annotated[int, Field(ge=1, le=100_000), Integral] = 30
    suppress_below: Annotated[int, Field(ge=5, le=100_000), Integral] = Field(
        10, description="Groups with fewer workers than this are merged into 'not disclosed' (at least 5)."
    )
    exclude_small: bool = False
    n_bootstrap: Annotated[int, Field(ge=0, le=2000), Integral] = 200
    seed: Seed | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] = ""


# ----------------------------------------------------------------------------------------------
# allocation policy versions

PolicyVersionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")]


class PolicyFairnessIn(Strict):
    """Fairness options; a field left out keeps the active policy's value."""

    attribute: GroupName | None = Field(None, description="Group parity on this worker attribute; null turns it off.")
    min_impact_ratio: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None, description="Every group's selection rate at least this times the top's."
    )
    min_group_share: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None, description="Groups under this share of candidates are not constrained."
    )


WeightName = Literal["skill_match", "price_fit", "rating", "reliability", "experience", "waiting"]


class PolicyIn(Strict):
    """A new policy version: the active policy with these changes, checked by gigshift.allocate's own rules."""

    version: PolicyVersionId = Field(description="A new, unused version name; runs and decisions record it.")
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    weights: dict[WeightName, Annotated[float, Field(ge=0, le=1e6), AfterValidator(_finite)]] = Field(
        default_factory=dict, description="Component weights to change; the policy's weights must not all be 0."
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
