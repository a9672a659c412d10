"""The canonical pay tables: parsing through the schema, and every bad cell named by row and column."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from gigshift import InputError
from gigshift.pay import JOB_COLUMNS, SCHEMAS, validate


def _jobs(**overrides: list) -> pl.DataFrame:
    base = {
        "worker_id": ["w1", "w1", "w2"],
        "platform": ["rideco", "rideco", "rideco"],
        "category": ["ride", "ride", "ride"],
        "start": ["2025-03-03T08:00:00", "2025-03-03T08:40:00Z", "2025-03-03 09:00"],
        "end": ["2025-03-03T08:30:00", "2025-03-03T10:00:00+01:00", "2025-03-03T09:30"],
        "worker_pay": ["9.50", "7", "12"],
        "client_price": ["12", "", "15.25"],
        "currency": ["USD", "USD", "USD"],
    }
    return pl.DataFrame({**base, **overrides})


def test_canonical_columns_and_parsing():
    assert JOB_COLUMNS == (
        "worker_id", "platform", "category", "area", "start", "end", "distance_km",
        "client_price", "worker_pay", "tips", "bonus", "fees", "currency",
    )  # fmt: skip
    jobs, set_aside = validate(_jobs(), kind="jobs")
    assert jobs.schema == pl.Schema(SCHEMAS["jobs"]) and set_aside.height == 0
    assert jobs["end"][1] == datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # +01:00 converted to UTC
    assert jobs["client_price"].to_list() == [12.0, None, 15.25]
    assert jobs["tips"].null_count() == 3  # optional columns absent: null, not 0


def test_naive_times_are_local_to_the_given_zone():
    jobs, _ = validate(_jobs(), kind="jobs", time_zone="America/New_York")
    assert jobs["start"][0] == datetime(2025, 3, 3, 13, 0, tzinfo=UTC)
    assert jobs["start"][1] == datetime(2025, 3, 3, 8, 40, tzinfo=UTC)  # Z wins over the zone


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"end": ["2025-03-03T07:00:00", "2025-03-03T10:00:00+01:00", "2025-03-03T09:30"]}, "row 1, column 'end'"),
        ({"worker_pay": ["9.50", "-7", "12"]}, "row 2, column 'worker_pay': expected an amount >= 0, got '-7'"),
        ({"client_price": ["9", "", "15.25"]}, "row 1, column 'client_price': expected a client price >= the"),
        ({"currency": ["USD", "USD", "EUR"]}, "row 3, column 'currency': expected one currency per pool (USD"),
        ({"start": ["2025-03-03T08:00:00", "2025-03-03T08:20:00Z", "2025-03-03 09:00"]}, "row 2, column 'start'"),
        ({"worker_pay": ["abc", "7", "12"]}, "row 1, column 'worker_pay': expected an amount >= 0, got 'abc'"),
    ],
    ids=["end-before-start", "negative-pay", "price-below-pay", "mixed-currency", "overlap", "not-a-number"],
)
def test_bad_rows_are_named(overrides, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        validate(_jobs(**overrides), kind="jobs", source="trips.csv")


def test_set_aside_keeps_the_good_rows_and_counts_the_bad():
    bad = _jobs(worker_pay=["9.50", "-7", "12"], currency=["USD", "USD", "EUR"])
    kept, set_aside = validate(bad, kind="jobs", on_bad="set_aside")
    assert kept["worker_id"].to_list() == ["w1"]
    assert set_aside.select("row", "column").rows() == [(2, "worker_pay"), (3, "currency")]


def test_missing_required_column_is_named():
    with pytest.raises(InputError, match=r"trips.csv, column 'currency': expected a column named 'currency'"):
        validate(_jobs().drop("currency"), kind="jobs", source="trips.csv")


def test_sessions_overlap_only_within_a_platform():
    sessions = pl.DataFrame(
        {
            "worker_id": ["w1", "w1", "w1"],
            "platform": ["a", "b", "a"],
            "start": ["2025-03-03T08:00:00", "2025-03-03T08:30:00", "2025-03-03T08:50:00"],
            "end": ["2025-03-03T09:00:00", "2025-03-03T09:30:00", "2025-03-03T10:00:00"],
        }
    )
    with pytest.raises(InputError, match=r"row 3, column 'start': expected a session that does not overlap"):
        validate(sessions, kind="sessions")
    assert validate(sessions.head(2), kind="sessions")[0].height == 2
