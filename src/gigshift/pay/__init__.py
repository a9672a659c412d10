"""Collective pay audit: workers pool their platform records; pay, costs and standards come out, protected.

Workers (or their organisation) import platform exports (CSV or Parquet; a YAML mapping turns any
layout into the canonical job table) into a pool directory with a consent record per contribution
(:func:`load`, :class:`Pool`). :func:`audit` computes hourly pay per engaged and per logged-in hour,
gross and net of costs, utilisation, take rates, shares of worker-weeks below named pay standards,
detected changes to the pay algorithm and group pay gaps, with intervals from resampling workers,
and releases them only with small cells suppressed (and, when asked, differential privacy charged
to the pool's budget: :func:`suppress`, :func:`dp_cells`, :class:`PrivacyLedger`). :func:`detect_changes`
finds pay-algorithm changes. :func:`statement` shows one worker their own numbers beside the pool's.
:func:`synthetic` draws a pool with planted take rates, pay changes and gaps.
"""

from gigshift.pay._audit import PayAudit, audit
from gigshift.pay._changes import detect_changes
from gigshift.pay._config import Expenses, PayConfig, Standard
from gigshift.pay._load import Contribution, load
from gigshift.pay._mapping import read_mapping
from gigshift.pay._pool import Pool
from gigshift.pay._privacy import PrivacyLedger, dp_cells, suppress
from gigshift.pay._schema import CONSENT_SCHEMA, JOB_COLUMNS, SCHEMAS, SESSION_COLUMNS, TableKind
from gigshift.pay._statement import Statement, statement
from gigshift.pay._synthetic import PlantedChange, SyntheticPool, nyc_config, synthetic
from gigshift.pay._validate import validate

__all__ = [
    "CONSENT_SCHEMA",
    "JOB_COLUMNS",
    "SCHEMAS",
    "SESSION_COLUMNS",
    "Contribution",
    "Expenses",
    "PayAudit",
    "PayConfig",
    "PlantedChange",
    "Pool",
    "PrivacyLedger",
    "Standard",
    "Statement",
    "SyntheticPool",
    "TableKind",
    "audit",
    "detect_changes",
    "dp_cells",
    "load",
    "nyc_config",
    "read_mapping",
    "statement",
    "suppress",
    "synthetic",
    "validate",
]
