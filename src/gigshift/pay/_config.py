"""A pool's configuration: currency, time zone, expenses (per-km, fixed, a local cost table) and pay standards.

Read from ``pool.yaml`` in the pool directory::

    currency: USD
    time_zone: America/New_York        # weeks (Monday to Sunday) are local weeks
    privacy_budget: 1.0                # total differential-privacy epsilon the pool may spend
    expenses:
      per_km: 0.35                     # vehicle running cost per km driven for a job
      fixed_per_week: 40               # phone, insurance, ... per worker-week with work
      source: "..."
      table:                           # local costs: the most specific matching row wins
        - {category: food, per_km: 0.05, fixed_per_week: 15}
        - {area: queens, category: ride, per_km: 0.38}
    standards:
      minimum_wage:
        value: 16.50
        pay: gross                     # gross | net | before_tips
        hours: logged_in               # logged_in | engaged
        source: "New York State minimum wage, New York City, from 2025-01-01"
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import polars as pl

from gigshift._errors import GigshiftError, InputError
from gigshift._tables import check_option
from gigshift.pay._validate import check_time_zone

PayBasis = Literal["gross", "net", "before_tips"]
HoursBasis = Literal["engaged", "logged_in"]

#: Basis and meaning of the standards gigshift knows by name; a value always comes from the config.
KNOWN_STANDARDS: dict[str, tuple[PayBasis, HoursBasis, str]] = {
    "minimum_wage": ("gross", "logged_in", "a local minimum wage, before costs, per logged-in hour"),
    "minimum_wage_net": ("net", "logged_in", "a local minimum wage, after costs, per logged-in hour"),
    "delivery_minimum": (
        "before_tips",
        "logged_in",
        "a city's minimum pay for app-based delivery, before tips, per logged-in hour",
    ),
    "fairwork_1_1": ("net", "logged_in", "Fairwork Fair Pay 1.1: at least the local minimum wage after costs"),
    "fairwork_1_2": ("net", "logged_in", "Fairwork Fair Pay 1.2: at least a local living wage after costs"),
}
_NAME = r"^[a-z][a-z0-9_]*$"


@dataclass(frozen=True, slots=True)
class Standard:
    """A named hourly pay standard: its value, what pay and which hours it counts, and where it comes from."""

    name: str
    value: float
    pay: PayBasis = "gross"
    hours: HoursBasis = "logged_in"
    source: str = ""
    description: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "value": self.value,
            "pay": self.pay,
            "hours": self.hours,
            "source": self.source,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class Expenses:
    """Workers' costs: a default per-km cost and fixed cost per worker-week, and a local cost table.

    ``table`` has optional key columns ``area``, ``category`` and ``platform`` (null: any) and
    ``per_km``, ``fixed_per_week`` (null: fall back); for a job the matching row with the most keys
    given wins, then the defaults.
    """

    per_km: float = 0.0
    fixed_per_week: float = 0.0
    source: str = ""
    table: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=COST_TABLE_SCHEMA))

    def to_dict(self) -> dict[str, object]:
        return {
            "per_km": self.per_km,
            "fixed_per_week": self.fixed_per_week,
            "source": self.source,
            "table": self.table.to_dicts(),
        }


COST_TABLE_SCHEMA = {
    "area": pl.String,
    "category": pl.String,
    "platform": pl.String,
    "per_km": pl.Float64,
    "fixed_per_week": pl.Float64,
}
COST_KEYS = ("area", "category", "platform")


@dataclass(frozen=True, slots=True)
class PayConfig:
    """Everything an audit needs besides the records: currency, local week, costs, standards, privacy budget."""

    currency: str | None = None
    time_zone: str = "UTC"
    expenses: Expenses = field(default_factory=Expenses)
    standards: tuple[Standard, ...] = ()
    privacy_budget: float = 1.0

    def to_dict(self) -> dict[str, object]:
        return {
            "currency": self.currency,
            "time_zone": self.time_zone,
            "privacy_budget": self.privacy_budget,
            "expenses": self.expenses.to_dict(),
            "standards": {s.name: {k: v for k, v in s.to_dict().items() if k != "name"} for s in self.standards},
        }

    def with_standards(self, values: Mapping[str, float], *, source: str = "given on the command line") -> PayConfig:
        """This config with standards' values set (a new name gets a known basis, or gross per logged-in hour)."""
        standards = {s.name: s for s in self.standards}
        for name, value in values.items():
            value = _number(value, where=f"standard {name!r}", minimum=0.0)
            if not _is_name(name):
                raise GigshiftError(f"standard name {name!r}: use lower-case letters, digits and _ (e.g. living_wage)")
            if name in standards:
                standards[name] = replace(standards[name], value=value, source=source)
            else:
                pay, hours, description = KNOWN_STANDARDS.get(name, ("gross", "logged_in", ""))
                standards[name] = Standard(name, value, pay, hours, source, description)
        return replace(self, standards=tuple(standards.values()))


def _is_name(name: str) -> bool:
    import re

    return bool(re.match(_NAME, name))


def _number(value: Any, *, where: str, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise GigshiftError(f"{where}: expected a number, got {value!r}")
    if minimum is not None and value < minimum:
        raise GigshiftError(f"{where}: expected a number >= {minimum:g}, got {value!r}")
    return float(value)


def _keys(section: Mapping[str, Any], allowed: set[str], where: str, source: str) -> None:
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise InputError.single(
            source=source, column=f"{where}{unknown[0]}", expected=f"one of {', '.join(sorted(allowed))}", got="unknown"
        )


def config_from_dict(body: Mapping[str, Any] | None, *, source: str = "pool.yaml") -> PayConfig:
    """Build and check a :class:`PayConfig` from parsed YAML; every problem names the key at fault.

    Examples
    --------
    >>> cfg = config_from_dict({"currency": "USD", "standards": {"fairwork_1_1": {"value": 16.5}}})
    >>> cfg.standards[0].pay, cfg.standards[0].hours
    ('net', 'logged_in')
    """
    body = dict(body or {})
    if not isinstance(body, dict):
        raise InputError.single(source=source, expected="a YAML mapping", got=type(body).__name__)
    _keys(body, {"currency", "time_zone", "privacy_budget", "expenses", "standards"}, "", source)
    currency = body.get("currency")
    if currency is not None and (not isinstance(currency, str) or len(currency) != 3 or not currency.isupper()):
        raise InputError.single(
            source=source, column="currency", expected="an ISO 4217 code such as 'USD'", got=currency
        )
    time_zone = str(body.get("time_zone", "UTC"))
    check_time_zone(time_zone, source=f"{source}: time_zone")
    budget = _number(body.get("privacy_budget", 1.0), where=f"{source}: privacy_budget", minimum=0.0)
    exp = body.get("expenses") or {}
    if not isinstance(exp, dict):
        raise InputError.single(source=source, column="expenses", expected="a mapping", got=type(exp).__name__)
    _keys(exp, {"per_km", "fixed_per_week", "source", "table"}, "expenses.", source)
    rows = exp.get("table") or []
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InputError.single(source=source, column="expenses.table", expected="a list of mappings", got=rows)
    for i, row in enumerate(rows, start=1):
        _keys(row, set(COST_TABLE_SCHEMA), f"expenses.table[{i}].", source)
        for key in ("per_km", "fixed_per_week"):
            if row.get(key) is not None:
                _number(row[key], where=f"{source}: expenses.table[{i}].{key}", minimum=0.0)
        if not any(row.get(k) is not None for k in COST_KEYS):
            raise InputError.single(
                source=source, column=f"expenses.table[{i}]", expected="an area, category or platform", got=row
            )
    table = pl.DataFrame(
        [{k: row.get(k) for k in COST_TABLE_SCHEMA} for row in rows], schema=COST_TABLE_SCHEMA, orient="row"
    ).with_columns(pl.col(k).cast(pl.String) for k in COST_KEYS)
    expenses = Expenses(
        per_km=_number(exp.get("per_km", 0.0), where=f"{source}: expenses.per_km", minimum=0.0),
        fixed_per_week=_number(exp.get("fixed_per_week", 0.0), where=f"{source}: expenses.fixed_per_week", minimum=0.0),
        source=str(exp.get("source", "")),
        table=table,
    )
    standards = []
    raw = body.get("standards") or {}
    if not isinstance(raw, dict):
        raise InputError.single(source=source, column="standards", expected="a mapping of name: {value, ...}", got=raw)
    for name, spec in raw.items():
        where = f"{source}: standards.{name}"
        if not _is_name(str(name)):
            raise GigshiftError(f"{where}: use lower-case letters, digits and _ in a standard's name")
        spec = {"value": spec} if isinstance(spec, int | float) else spec
        if not isinstance(spec, dict):
            raise InputError.single(source=source, column=f"standards.{name}", expected="a mapping", got=spec)
        _keys(spec, {"value", "pay", "hours", "source", "description"}, f"standards.{name}.", source)
        pay, hours, description = KNOWN_STANDARDS.get(str(name), ("gross", "logged_in", ""))
        pay, hours = spec.get("pay", pay), spec.get("hours", hours)
        check_option("pay", pay, PayBasis, caller=where)
        check_option("hours", hours, HoursBasis, caller=where)
        if "value" not in spec:
            raise InputError.single(source=source, column=f"standards.{name}.value", expected="a number", got="missing")
        value = _number(spec["value"], where=f"{where}.value", minimum=0.0)
        standards.append(
            Standard(
                str(name), value, pay, hours, str(spec.get("source", "")), str(spec.get("description", description))
            )
        )
    return PayConfig(currency, time_zone, expenses, tuple(standards), budget)


def config_from_yaml(text: str, *, source: str = "pool.yaml") -> PayConfig:
    import yaml

    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError.single(source=source, expected="valid YAML", got=str(exc).splitlines()[0]) from None
    return config_from_dict(body, source=source)


def config_to_yaml(config: PayConfig) -> str:
    import yaml

    body = config.to_dict()
    exp = body["expenses"]
    exp["table"] = [{k: v for k, v in row.items() if v is not None} for row in exp["table"]]  # type: ignore[index]
    return yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


def expense_rates(jobs: pl.LazyFrame, expenses: Expenses) -> pl.LazyFrame:
    """Add ``per_km_cost`` and ``fixed_cost_per_week`` to each job from the cost table, most specific first."""
    table = expenses.table
    out = jobs
    if table.height:
        levels = sorted(
            {tuple(k for k in COST_KEYS if row[k] is not None) for row in table.iter_rows(named=True)},
            key=lambda keys: (-len(keys), keys),
        )
        per_km, fixed = [], []
        for i, keys in enumerate(levels):
            given = pl.all_horizontal([pl.col(k).is_not_null() for k in keys])
            absent = [pl.col(k).is_null() for k in COST_KEYS if k not in keys]
            level = table.filter(given & pl.all_horizontal(absent) if absent else given).select(
                *keys, pl.col("per_km").alias(f"_km{i}"), pl.col("fixed_per_week").alias(f"_fx{i}")
            )
            level = level.unique(subset=list(keys), keep="first", maintain_order=True)
            out = out.join(level.lazy(), on=list(keys), how="left", nulls_equal=False)
            per_km.append(pl.col(f"_km{i}"))
            fixed.append(pl.col(f"_fx{i}"))
        out = out.with_columns(
            pl.coalesce(*per_km, pl.lit(expenses.per_km)).alias("per_km_cost"),
            pl.coalesce(*fixed, pl.lit(expenses.fixed_per_week)).alias("fixed_cost_per_week"),
        ).drop([f"_km{i}" for i in range(len(levels))] + [f"_fx{i}" for i in range(len(levels))])
        return out
    return out.with_columns(
        pl.lit(expenses.per_km).alias("per_km_cost"), pl.lit(expenses.fixed_per_week).alias("fixed_cost_per_week")
    )


def standards_table(standards: tuple[Standard, ...]) -> pl.DataFrame:
    return pl.DataFrame(
        [s.to_dict() for s in standards],
        schema={
            "name": pl.String,
            "value": pl.Float64,
            "pay": pl.String,
            "hours": pl.String,
            "source": pl.String,
            "description": pl.String,
        },
        orient="row",
    )
