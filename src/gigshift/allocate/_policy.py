"""Allocation policy: the documented rule set (weights, candidate rules, solver, fairness, boost).

A policy is plain data. It is written in YAML (see ``policies/default.yaml`` for every key with its
meaning), checked once here with errors that name the key at fault, and recorded by version in
every decision-log row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from typing import Any

import yaml

from gigshift._errors import GigshiftError

COMPONENTS = ("skill_match", "price_fit", "rating", "reliability", "experience", "waiting")
"""Score components, in the order they are shown."""

COMPONENT_LABELS = {
    "skill_match": "share of the task's required skills you list",
    "price_fit": "your price against the client's budget",
    "rating": "your client rating (shrunk toward the prior while you have few jobs)",
    "reliability": "share of accepted jobs you completed",
    "experience": "number of jobs you completed",
    "waiting": "time since your last assignment",
}

MODES = ("exact", "greedy", "dispatch")


@dataclass(frozen=True, slots=True)
class Policy:
    """Everything that decides an allocation; see ``policies/default.yaml`` for the meaning of each field."""

    version: str = "default-2026.1"
    description: str = ""
    k: int = 20
    min_skill_match: float = 0.0
    weights: dict[str, float] = field(
        default_factory=lambda: {
            "skill_match": 0.35,
            "price_fit": 0.20,
            "rating": 0.20,
            "reliability": 0.10,
            "experience": 0.05,
            "waiting": 0.10,
        }
    )
    rating_prior_mean: float = 4.5
    rating_prior_strength: float = 5.0
    reliability_prior: float = 0.9
    experience_reference_jobs: float = 100.0
    waiting_full_hours: float = 672.0
    price_tolerance: float = 1.0
    mode: str = "exact"
    fairness_attribute: str | None = None
    min_impact_ratio: float = 0.8
    min_group_share: float = 0.02
    boost_per_batch: float = 0.02
    max_boost: float = 0.2

    @property
    def normalised_weights(self) -> dict[str, float]:
        """Weights scaled to sum to 1, in :data:`COMPONENTS` order."""
        total = sum(self.weights.values())
        return {c: self.weights.get(c, 0.0) / total for c in COMPONENTS}

    def with_options(self, **changes: Any) -> Policy:
        """A copy with some fields changed (checked like a loaded policy)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise GigshiftError(f"policy: unknown field {unknown[0]!r}; known: {', '.join(sorted(known))}")
        return _checked(replace(self, **changes), source="policy")

    def to_dict(self) -> dict[str, Any]:
        """The policy in the YAML layout."""
        return {
            "version": self.version,
            "description": self.description,
            "candidates": {"k": self.k, "min_skill_match": self.min_skill_match},
            "weights": dict(self.weights),
            "components": {
                "rating_prior_mean": self.rating_prior_mean,
                "rating_prior_strength": self.rating_prior_strength,
                "reliability_prior": self.reliability_prior,
                "experience_reference_jobs": self.experience_reference_jobs,
                "waiting_full_hours": self.waiting_full_hours,
                "price_tolerance": self.price_tolerance,
            },
            "solver": {"mode": self.mode},
            "fairness": {
                "attribute": self.fairness_attribute,
                "min_impact_ratio": self.min_impact_ratio,
                "min_group_share": self.min_group_share,
            },
            "opportunity": {"boost_per_batch": self.boost_per_batch, "max_boost": self.max_boost},
        }

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "policy") -> Policy:
        """Build a policy from the YAML layout; unknown or bad keys raise an error naming the key."""
        if not isinstance(data, dict):
            raise GigshiftError(f"{source}: expected a mapping of policy sections, got {type(data).__name__}")
        layout: dict[str, dict[str, str] | str] = {
            "version": "version",
            "description": "description",
            "candidates": {"k": "k", "min_skill_match": "min_skill_match"},
            "weights": "weights",
            "components": {
                k: k
                for k in (
                    "rating_prior_mean",
                    "rating_prior_strength",
                    "reliability_prior",
                    "experience_reference_jobs",
                    "waiting_full_hours",
                    "price_tolerance",
                )
            },
            "solver": {"mode": "mode"},
            "fairness": {
                "attribute": "fairness_attribute",
                "min_impact_ratio": "min_impact_ratio",
                "min_group_share": "min_group_share",
            },
            "opportunity": {"boost_per_batch": "boost_per_batch", "max_boost": "max_boost"},
        }
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in layout:
                raise GigshiftError(f"{source}: unknown key {key!r}; known: {', '.join(layout)}")
            target = layout[key]
            if isinstance(target, str):
                values[target] = value
                continue
            if value is None:
                continue
            if not isinstance(value, dict):
                raise GigshiftError(f"{source}: {key!r} must be a mapping, got {value!r}")
            for sub, sub_value in value.items():
                if sub not in target:
                    raise GigshiftError(f"{source}: unknown key '{key}.{sub}'; known: {', '.join(target)}")
                values[target[sub]] = sub_value
        if "weights" in values:
            values["weights"] = _weights(values["weights"], source)
        defaults = cls()
        policy = replace(defaults, **values)
        return _checked(policy, source=source)

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "policy") -> Policy:
        """Parse a policy from YAML text (the CLI reads the file; the engine never does)."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise GigshiftError(f"{source}: not valid YAML: {exc}") from None
        return cls.from_dict(data or {}, source=source)


def default_policy() -> Policy:
    """The shipped default policy (``policies/default.yaml``)."""
    text = resources.files("gigshift.allocate").joinpath("policies/default.yaml").read_text(encoding="utf-8")
    return Policy.from_yaml(text, source="default.yaml")


def _weights(raw: Any, source: str) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise GigshiftError(f"{source}: 'weights' must map component names to numbers, got {raw!r}")
    unknown = sorted(set(raw) - set(COMPONENTS))
    if unknown:
        raise GigshiftError(f"{source}: unknown weight 'weights.{unknown[0]}'; components: {', '.join(COMPONENTS)}")
    weights = {c: raw.get(c, 0.0) for c in COMPONENTS}
    for name, value in weights.items():
        if not _is_number(value) or value < 0:
            raise GigshiftError(f"{source}: 'weights.{name}' must be a number >= 0, got {value!r}")
    if sum(weights.values()) <= 0:
        raise GigshiftError(f"{source}: at least one weight under 'weights' must be > 0")
    return {c: float(v) for c, v in weights.items()}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _checked(policy: Policy, *, source: str) -> Policy:
    def fail(key: str, expected: str, got: Any) -> GigshiftError:
        return GigshiftError(f"{source}: {key!r} must be {expected}, got {got!r}")

    if not isinstance(policy.version, str) or not policy.version.strip():
        raise fail("version", "a non-empty string", policy.version)
    if isinstance(policy.k, bool) or not isinstance(policy.k, int) or policy.k < 1:
        raise fail("candidates.k", "an integer >= 1", policy.k)
    ranges = {
        "candidates.min_skill_match": (policy.min_skill_match, 0.0, 1.0),
        "components.rating_prior_mean": (policy.rating_prior_mean, 1.0, 5.0),
        "components.rating_prior_strength": (policy.rating_prior_strength, 0.0, math.inf),
        "components.reliability_prior": (policy.reliability_prior, 0.0, 1.0),
        "components.experience_reference_jobs": (policy.experience_reference_jobs, 1.0, math.inf),
        "components.waiting_full_hours": (policy.waiting_full_hours, 1e-9, math.inf),
        "components.price_tolerance": (policy.price_tolerance, 1e-9, math.inf),
        "fairness.min_impact_ratio": (policy.min_impact_ratio, 1e-9, 1.0),
        "fairness.min_group_share": (policy.min_group_share, 0.0, 1.0),
        "opportunity.boost_per_batch": (policy.boost_per_batch, 0.0, math.inf),
        "opportunity.max_boost": (policy.max_boost, 0.0, math.inf),
    }
    for key, (value, lo, hi) in ranges.items():
        if not _is_number(value) or not lo <= value <= hi:
            raise fail(key, f"a number in [{lo:g}, {hi:g}]", value)
    if policy.mode not in MODES:
        raise fail("solver.mode", f"one of {', '.join(MODES)}", policy.mode)
    if policy.fairness_attribute is not None:
        if not isinstance(policy.fairness_attribute, str) or not policy.fairness_attribute:
            raise fail("fairness.attribute", "a worker column name or null", policy.fairness_attribute)
        if policy.mode != "exact":
            raise GigshiftError(f"{source}: 'fairness.attribute' needs 'solver.mode: exact', got {policy.mode!r}")
    return replace(
        policy,
        weights=_weights(policy.weights, source),
        min_skill_match=float(policy.min_skill_match),
        min_impact_ratio=float(policy.min_impact_ratio),
        min_group_share=float(policy.min_group_share),
    )
