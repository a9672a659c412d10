"""Scenarios: YAML files that set every assumption of a simulation, checked with the line at fault.

The schema is :data:`SPEC`: each key has a type, a default and a check. A scenario may ``extends:``
another (by name or file), then sets only what differs. Unknown keys, wrong types and impossible
values (negative demand, adoption above 1) are errors that name the file, the line and the key.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from gigshift._errors import GigshiftError

SCENARIO_NAMES = ("baseline", "genai-2022", "genai-accelerating", "policy-fair-allocation", "policy-pay-floor")


@dataclass(frozen=True)
class Field:
    """One leaf of the schema."""

    kind: str  # number, int, bool, str, text, date, enum, str_list, bias; optional_ allows null
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class MapOf:
    """A mapping from free names (e.g. kinds of work) to a sub-schema."""

    spec: dict[str, Any]
    default: dict[str, dict[str, Any]]


def _capability(release: str | None, ramp_weeks: float, maximum: float) -> dict[str, Any]:
    return {"release": release, "ramp_weeks": ramp_weeks, "max": maximum}


CAPABILITY_SPEC = {
    "release": Field("optional_date", None),
    "ramp_weeks": Field("number", 26.0, low=1e-9),
    "max": Field("number", 0.0, low=0.0, high=1.0),
}

ADOPTION_SPEC = {
    "midpoint": Field("date", "2023-09-01"),
    "years_to_saturation": Field("number", 2.0, low=1e-9),
    "max": Field("number", 0.5, low=0.0, high=1.0),
}

SPEC: dict[str, Any] = {
    "name": Field("str", "custom"),
    "description": Field("text", ""),
    "extends": Field("optional_str", None),
    "start": Field("date", "2022-01-03"),
    "weeks": Field("int", 104, low=1),
    "market": {
        "tasks_per_worker_week": Field("number", 0.12, low=1e-9),
        "on_location_share": Field("number", 0.3, low=0.0, high=1.0),
        "n_clients": Field("int", 2000, low=1),
        "n_areas": Field("int", 20, low=1),
        "entry_reserve": Field("number", 0.2, low=0.0, high=5.0),
        "rating_bias": Field("bias", {}),
    },
    "demand": {
        "anchor": Field("enum", "oli", choices=("oli", "flat")),
        "anchor_until": Field("optional_date", "2022-11-30"),
        "trend_years": Field("number", 2.0, low=0.25),
        "on_location_growth_per_year": Field("number", 0.0, low=-0.9, high=5.0),
        "noise": Field("number", 0.05, low=0.0, high=2.0),
        # A planted demand shock with a known size, to check estimators against the truth.
        "shock": {
            "categories": Field("str_list", []),
            "start": Field("optional_date", None),
            "factor": Field("number", 1.0, low=1e-9, high=10.0),
        },
    },
    "ai": {
        "enabled": Field("bool", True),
        "lens": Field("enum", "human", choices=("gpt4", "human")),
        "kinds": {
            "software-tech": Field("str", "code"),
            "creative-multimedia": Field("str", "image"),
            "clerical-data-entry": Field("str", "text"),
            "writing-translation": Field("str", "text"),
            "sales-marketing": Field("str", "text"),
            "professional-services": Field("str", "text"),
            "microwork": Field("str", "text"),
            "on-location": Field("str", "physical"),
        },
        "capability": MapOf(
            CAPABILITY_SPEC,
            {
                "text": _capability("2022-11-30", 26.0, 0.8),
                "code": _capability("2022-06-21", 39.0, 0.7),
                "image": _capability("2022-08-22", 26.0, 0.7),
                "physical": _capability(None, 26.0, 0.0),
            },
        ),
        "client_adoption": dict(ADOPTION_SPEC),
        "worker_adoption": {
            "midpoint": Field("date", "2023-06-01"),
            "years_to_saturation": Field("number", 2.0, low=1e-9),
            "max": Field("number", 0.6, low=0.0, high=1.0),
        },
        "substitution": Field("number", 1.0, low=0.0, high=5.0),
        "augmentation": {
            "text_gain": Field("number", 0.67, low=0.0, high=5.0),
            "other_gain": Field("number", 0.14, low=0.0, high=5.0),
            "novice_factor": Field("number", 2.43, low=1.0, high=10.0),
            "novice_jobs": Field("int", 10, low=0),
        },
        "new_demand": {
            "categories": Field("str_list", ["machine-learning", "data-labelling", "data-analysis"]),
            "growth": Field("number", 0.24, low=0.0, high=10.0),
            "kind": Field("str", "code"),
        },
    },
    "bids": {
        "markup": Field("number", 0.15, low=0.0, high=3.0),
        "elasticity": Field("number", 0.3, low=0.0, high=3.0),
        "min_markup": Field("number", 0.0, low=0.0, high=3.0),
        "max_markup": Field("number", 0.6, low=0.0, high=3.0),
    },
    "allocation": {
        "mode": Field("enum", "greedy", choices=("exact", "greedy", "dispatch")),
        "k": Field("int", 10, low=1),
        "rating_weight": Field("number", 0.2, low=0.0),
        "log_sample": Field("number", 0.02, low=0.0, high=1.0),
    },
    "outcomes": {
        "rating_noise": Field("number", 0.4, low=0.0, high=3.0),
    },
    "dynamics": {
        "exit_weeks": Field("int", 26, low=1),
        "exit_probability": Field("number", 0.05, low=0.0, high=1.0),
        "switch_after_weeks": Field("int", 6, low=1),
        "switch_probability": Field("number", 0.03, low=0.0, high=1.0),
        "learning_weeks": Field("int", 4, low=0),
        "entry_rate": Field("number", 0.003, low=0.0, high=1.0),
        "entry_premium": Field("number", 0.2, low=0.0, high=10.0),
    },
    "policies": {
        "pay_floor_usd_per_hour": Field("optional_number", None, low=0.0),
        "fair_allocation": {
            "attribute": Field("optional_str", None),
            "min_impact_ratio": Field("number", 0.8, low=1e-9, high=1.0),
        },
        "reskilling": {
            "learning_weeks_factor": Field("number", 1.0, low=0.0, high=1.0),
        },
    },
}


def _defaults(spec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if isinstance(value, Field | MapOf):
            out[key] = copy.deepcopy(value.default)
        else:
            out[key] = _defaults(value)
    return out


@dataclass(frozen=True)
class Scenario:
    """A resolved scenario: every key of :data:`SPEC` with its value (defaults filled in)."""

    data: dict[str, Any]
    source: str

    @property
    def name(self) -> str:
        return str(self.data["name"])

    def get(self, path: str) -> Any:
        """A value by dotted path, e.g. ``scenario.get("ai.substitution")``."""
        node: Any = self.data
        for part in path.split("."):
            node = node[part]
        return node

    def with_values(self, changes: dict[str, Any]) -> Scenario:
        """A copy with values changed by dotted path (checked like a file), e.g. for a sweep."""
        data = copy.deepcopy(self.data)
        for path, value in changes.items():
            node = data
            parts = path.split(".")
            for part in parts[:-1]:
                if part not in node or not isinstance(node[part], dict):
                    raise GigshiftError(f"scenario: unknown key {path!r}")
                node = node[part]
            if parts[-1] not in node:
                raise GigshiftError(f"scenario: unknown key {path!r}")
            node[parts[-1]] = value
        return Scenario(_check_values(data, source=f"{self.source} (changed)"), self.source)

    def to_yaml(self) -> str:
        return yaml.safe_dump(_plain(self.data), sort_keys=False)

    def to_dict(self) -> dict[str, Any]:
        return _plain(self.data)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def scenario_names() -> tuple[str, ...]:
    return SCENARIO_NAMES


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name (see :data:`SCENARIO_NAMES`) or a YAML file, resolved and checked."""
    text, source = _scenario_text(name_or_path)
    return _resolve(text, source, seen=())


def scenario_from_yaml(text: str, *, source: str = "scenario") -> Scenario:
    """A scenario from YAML text (``extends`` may name a shipped scenario)."""
    return _resolve(text, source, seen=())


def _scenario_text(name_or_path: str | Path) -> tuple[str, str]:
    name = str(name_or_path)
    if name in SCENARIO_NAMES:
        path = resources.files("gigshift.simulate").joinpath(f"scenarios/{name}.yaml")
        return path.read_text(encoding="utf-8"), f"{name}.yaml"
    path = Path(name)
    if not path.is_file():
        raise GigshiftError(f"scenario {name!r}: not a shipped scenario ({', '.join(SCENARIO_NAMES)}) and no such file")
    return path.read_text(encoding="utf-8"), path.name


def _resolve(text: str, source: str, *, seen: tuple[str, ...]) -> Scenario:
    try:
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise GigshiftError(f"{source}: not valid YAML: {exc}") from None
    if node is None:
        values: dict[str, Any] = {}
    elif not isinstance(node, yaml.MappingNode):
        raise GigshiftError(f"{source}, line {node.start_mark.line + 1}: a scenario is a mapping of keys")
    else:
        values = _read_mapping(node, SPEC, source, "")
    parent = values.get("extends")
    if parent:
        if parent in seen:
            raise GigshiftError(f"{source}: 'extends' loops back to {parent!r}")
        parent_text, parent_source = _scenario_text(parent)
        base = copy.deepcopy(_resolve(parent_text, parent_source, seen=(*seen, parent)).data)
    else:
        base = _defaults(SPEC)
    merged = _merge(base, values)
    merged["extends"] = parent
    return Scenario(_check_values(merged, source=source), source)


def _merge(base: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key not in ("rating_bias",):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _construct(node: yaml.Node) -> Any:
    return yaml.SafeLoader("").construct_object(node, deep=True)


def _read_mapping(node: yaml.MappingNode, spec: dict[str, Any], source: str, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = _construct(key_node)
        path = f"{prefix}{key}"
        line = key_node.start_mark.line + 1
        if key not in spec:
            known = ", ".join(str(k) for k in spec)
            raise GigshiftError(f"{source}, line {line}: unknown key {path!r}; known here: {known}")
        if key in out:
            raise GigshiftError(f"{source}, line {line}: key {path!r} given twice")
        rule = spec[key]
        if isinstance(rule, Field):
            try:
                value = _construct(value_node)
            except ValueError as exc:  # e.g. a date YAML cannot build: 2022-13-01
                raise GigshiftError(f"{source}, line {line}: {path!r} has a value YAML cannot read: {exc}") from None
            out[key] = _leaf(rule, value, source, line, path)
        elif isinstance(rule, MapOf):
            if not isinstance(value_node, yaml.MappingNode):
                raise GigshiftError(f"{source}, line {line}: {path!r} must be a mapping of names to settings")
            sub: dict[str, Any] = {}
            for name_node, entry in value_node.value:
                name = _construct(name_node)
                if not isinstance(entry, yaml.MappingNode):
                    raise GigshiftError(
                        f"{source}, line {name_node.start_mark.line + 1}: '{path}.{name}' must be a mapping"
                    )
                sub[name] = _merge(
                    _defaults(rule.spec) | rule.default.get(name, {}),
                    _read_mapping(entry, rule.spec, source, f"{path}.{name}."),
                )
            out[key] = sub
        else:
            if not isinstance(value_node, yaml.MappingNode):
                raise GigshiftError(f"{source}, line {line}: {path!r} must be a mapping")
            out[key] = _read_mapping(value_node, rule, source, f"{path}.")
    return out


def _leaf(rule: Field, value: Any, source: str, line: int, path: str) -> Any:
    def fail(expected: str) -> GigshiftError:
        return GigshiftError(f"{source}, line {line}: {path!r} must be {expected}, got {value!r}")

    return _convert(rule, value, fail)


def _convert(rule: Field, value: Any, fail: Callable[[str], GigshiftError]) -> Any:
    kind = rule.kind
    if kind.startswith("optional_"):
        if value is None:
            return None
        kind = kind.removeprefix("optional_")
    bounds = ""
    if rule.low is not None or rule.high is not None:
        lo = "-inf" if rule.low is None else f"{rule.low:g}"
        hi = "inf" if rule.high is None else f"{rule.high:g}"
        bounds = f" in [{lo}, {hi}]"
    if kind in ("number", "int"):
        ok_type = isinstance(value, int) if kind == "int" else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type or (isinstance(value, float) and not math.isfinite(value)):
            raise fail(f"{'an integer' if kind == 'int' else 'a number'}{bounds}")
        if (rule.low is not None and value < rule.low) or (rule.high is not None and value > rule.high):
            raise fail(f"{'an integer' if kind == 'int' else 'a number'}{bounds}")
        return value if kind == "int" else float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise fail("true or false")
        return value
    if kind == "str":
        if not isinstance(value, str) or not value:
            raise fail("a non-empty string")
        return value
    if kind == "text":
        if not isinstance(value, str):
            raise fail("a string")
        return value
    if kind == "enum":
        if value not in rule.choices:
            raise fail(f"one of {', '.join(rule.choices)}")
        return value
    if kind == "date":
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise fail("a date YYYY-MM-DD")
    if kind == "str_list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail("a list of strings")
        return value
    if kind == "bias":
        ok = isinstance(value, dict) and all(
            isinstance(groups, dict)
            and all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in groups.values()
            )
            for groups in value.values()
        )
        if not ok:
            raise fail("a mapping {attribute: {group: stars}}, e.g. {sex: {female: -0.25}}")
        return value
    raise AssertionError(kind)  # pragma: no cover


def _check_values(data: dict[str, Any], *, source: str) -> dict[str, Any]:
    """Checks that span keys, and dates as date objects (after merging with ``extends``)."""
    data = copy.deepcopy(data)

    def walk(node: dict[str, Any], spec: dict[str, Any], prefix: str) -> None:
        for key, rule in spec.items():
            path = f"{prefix}{key}"
            if isinstance(rule, Field):
                node[key] = _convert(
                    rule,
                    node[key],
                    lambda expected, p=path, v=node[key]: GigshiftError(
                        f"{source}: {p!r} must be {expected}, got {v!r}"
                    ),
                )
            elif isinstance(rule, MapOf):
                for name, entry in node[key].items():
                    walk(entry, rule.spec, f"{path}.{name}.")
            else:
                walk(node[key], rule, f"{path}.")

    walk(data, SPEC, "")
    from gigshift.taxonomy import categories

    slugs = set(categories().get_column("slug").to_list())
    unknown = [
        c for c in data["ai"]["new_demand"]["categories"] + data["demand"]["shock"]["categories"] if c not in slugs
    ]
    if unknown:
        raise GigshiftError(f"{source}: a category list names unknown category {unknown[0]!r}")
    kinds = set(data["ai"]["capability"])
    for cls, kind in data["ai"]["kinds"].items():
        if kind not in kinds:
            raise GigshiftError(
                f"{source}: 'ai.kinds.{cls}' is {kind!r}, which has no entry under 'ai.capability' ({', '.join(kinds)})"
            )
    if data["ai"]["new_demand"]["kind"] not in kinds:
        raise GigshiftError(
            f"{source}: 'ai.new_demand.kind' {data['ai']['new_demand']['kind']!r} has no capability entry"
        )
    if data["bids"]["min_markup"] > data["bids"]["max_markup"]:
        raise GigshiftError(f"{source}: 'bids.min_markup' is above 'bids.max_markup'")
    return data
