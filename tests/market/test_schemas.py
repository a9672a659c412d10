"""Market tables: schemas, parsing through the schema, every failure named, and safe round trips."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from gigshift import GigshiftError, InputError
from gigshift.market import (
    GROUP_ATTRIBUTES,
    SCHEMAS,
    Market,
    check_references,
    read,
    read_market,
    synthetic,
    validate,
    write,
)


@pytest.fixture
def workers() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "worker_id": ["w-ana", "w-bo", "w-chen", "w-dee"],
            "categories": [["web-dev", "software-dev"], ["house-cleaning"], ["translation"], ["food-delivery"]],
            "skills": [["JavaScript", "Python", "Git"], ["Service Orientation"], [], ["Microsoft Excel"]],
            "hourly_rate_usd": [48.0, 19.5, 22.25, 18.0],
            "rating": [4.9, 4.6, None, 4.75],
            "n_jobs_completed": [112, 37, 0, 9],
            "reliability": [0.97, 0.9, None, 0.88],
            "capacity": [2, 1, 1, 0],
            "is_remote": [True, False, True, False],
            "location": [None, "area-03", None, "area-01"],
            "time_zone": ["Asia/Kolkata", "America/New_York", "Europe/Kyiv", "America/New_York"],
            "last_assigned_at": [datetime(2025, 12, 30, 9, 15, tzinfo=UTC), None, None, None],
            "sex": ["female", "male", None, "nonbinary"],
            "age_band": ["25-34", "45-54", "18-24", None],
            "platform_tier": ["gold", "silver", "new", "silver"],
        },
        schema_overrides={"last_assigned_at": pl.Datetime("us", "UTC")},
    )


@pytest.fixture
def tasks() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "task_id": ["t-1", "t-2", "t-3"],
            "client_id": ["c-acme", "c-acme", "c-bee"],
            "category": ["web-dev", "house-cleaning", "translation"],
            "required_skills": [["JavaScript"], [], ["Microsoft Word"]],
            "budget_usd": [400.0, 60.0, 90.0],
            "expected_hours": [8.0, 3.0, None],
            "posted_at": [datetime(2026, 1, 5, 10, tzinfo=UTC)] * 3,
            "is_remote": [True, False, True],
            "location": [None, "area-03", None],
            "text": ["Fix the checkout page of a small web shop", "Deep clean of a 2-bedroom flat", None],
        },
        schema_overrides={"posted_at": pl.Datetime("us", "UTC")},
    )


@pytest.fixture
def clients() -> pl.DataFrame:
    return pl.DataFrame({"client_id": ["c-acme", "c-bee"], "country": ["United States", None]})


@pytest.fixture
def bids() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "task_id": ["t-1", "t-1", "t-2"],
            "worker_id": ["w-ana", "w-chen", "w-bo"],
            "price_usd": [380.0, 420.0, 58.5],
            "bid_at": [datetime(2026, 1, 5, 12, tzinfo=UTC), None, datetime(2026, 1, 6, tzinfo=UTC)],
        },
        schema_overrides={"bid_at": pl.Datetime("us", "UTC")},
    )


@pytest.fixture
def market(workers, clients, tasks, bids) -> Market:
    from gigshift._provenance import Provenance

    tables = {
        k: validate(v, kind=k)
        for k, v in (("workers", workers), ("clients", clients), ("tasks", tasks), ("bids", bids))
    }
    return Market(**tables, provenance=Provenance(sources=(), method="hand-made fixture", gigshift_version="test"))


def _failures(exc: InputError) -> list[tuple[int | None, str]]:
    return [(r["row"], r["column"]) for r in exc.failures.iter_rows(named=True)]


# ---------------------------------------------------------------------------------------------- schemas


def test_validated_tables_follow_the_schema_then_extras(workers, tasks, clients, bids):
    for kind, table in (("workers", workers), ("tasks", tasks), ("clients", clients), ("bids", bids)):
        out = validate(table, kind=kind)
        schema = dict(out.schema)
        assert list(schema)[: len(SCHEMAS[kind])] == list(SCHEMAS[kind])
        assert {c: schema[c] for c in SCHEMAS[kind]} == SCHEMAS[kind]
    out = validate(workers, kind="workers")
    assert out.columns[len(SCHEMAS["workers"]) :] == ["sex", "age_band", "platform_tier"]
    assert set(GROUP_ATTRIBUTES) == {"sex", "race_ethnicity", "age_band", "country"}


def test_defaults_fill_missing_columns_and_nulls():
    minimal = pl.DataFrame(
        {
            "worker_id": ["w1", "w2"],
            "categories": ["web-dev;ui-ux-design", "plumbing"],
            "hourly_rate_usd": ["35", "30.5"],
            "capacity": ["", "3"],
        }
    )
    out = validate(minimal, kind="workers")
    assert out["categories"].to_list() == [["web-dev", "ui-ux-design"], ["plumbing"]]
    assert out["skills"].to_list() == [[], []]
    assert out["capacity"].to_list() == [1, 3]
    assert out["n_jobs_completed"].to_list() == [0, 0]
    assert out["is_remote"].to_list() == [True, True]
    assert out["rating"].null_count() == 2 and out["last_assigned_at"].null_count() == 2


def test_task_is_remote_defaults_from_the_category_mode():
    tasks = pl.DataFrame(
        {
            "task_id": ["t1", "t2"],
            "client_id": ["c1", "c1"],
            "category": ["seo-marketing", "moving"],
            "budget_usd": [120.0, 200.0],
            "posted_at": ["2026-01-05T09:00:00Z", "2026-01-05 17:30"],
            "location": [None, "area-07"],
        }
    )
    out = validate(tasks, kind="tasks")
    assert out["is_remote"].to_list() == [True, False]
    assert out["posted_at"].to_list() == [
        datetime(2026, 1, 5, 9, tzinfo=UTC),
        datetime(2026, 1, 5, 17, 30, tzinfo=UTC),
    ]


def test_datetimes_with_offsets_are_converted_to_utc_and_naive_ones_taken_as_utc():
    bids = pl.DataFrame(
        {
            "task_id": ["t1", "t1", "t1"],
            "worker_id": ["w1", "w2", "w3"],
            "price_usd": [10.0, 11.0, 12.0],
            "bid_at": ["2026-01-05T10:00:00+05:30", "2026-01-05T10:00:00", "2026-01-05"],
        }
    )
    assert validate(bids, kind="bids")["bid_at"].to_list() == [
        datetime(2026, 1, 5, 4, 30, tzinfo=UTC),
        datetime(2026, 1, 5, 10, tzinfo=UTC),
        datetime(2026, 1, 5, tzinfo=UTC),
    ]


def test_input_is_not_mutated_and_pandas_input_is_accepted(workers):
    before = workers.clone()
    validate(workers, kind="workers")
    assert_frame_equal(workers, before)

    pdf = workers.to_pandas()
    pdf_before = pdf.copy(deep=True)
    out = validate(pdf, kind="workers")
    assert pdf.equals(pdf_before)
    assert out["categories"].to_list()[0] == ["web-dev", "software-dev"]
    assert out["last_assigned_at"].dtype == pl.Datetime("us", "UTC")
    assert out["rating"].to_list()[2] is None  # pandas NaN for a missing rating becomes null


def test_arrow_input_is_accepted(bids):
    assert_frame_equal(validate(bids.to_arrow(), kind="bids"), validate(bids, kind="bids"))


# ---------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kind", "change", "message"),
    [
        (
            "workers",
            {"worker_id": ["w-ana", "w-bo", "w-ana", "w-dee"]},
            r"workers, row 3, column 'worker_id': expected a unique worker_id \(already in row 1\), got 'w-ana'",
        ),
        (
            "workers",
            {"categories": [["web-dev"], ["house-clean"], ["translation"], ["food-delivery"]]},
            r"row 2, column 'categories': expected a known gig category slug \(closest: house-cleaning",
        ),
        ("workers", {"capacity": [1, -1, 1, 1]}, r"row 2, column 'capacity': expected a whole number >= 0, got '-1'"),
        (
            "workers",
            {"hourly_rate_usd": [48.0, math.nan, 22.0, 18.0]},
            r"row 2, column 'hourly_rate_usd': expected a finite number > 0, got 'NaN'",
        ),
        (
            "workers",
            {"hourly_rate_usd": [48.0, 19.5, math.inf, 18.0]},
            r"row 3, column 'hourly_rate_usd': expected a finite number > 0, got 'inf'",
        ),
        ("workers", {"rating": [4.9, 6.0, None, 4.0]}, r"row 2, column 'rating': expected a number from 1 to 5"),
        (
            "workers",
            {"time_zone": ["Asia/Kolkata", "Mars/Olympus_Mons", None, None]},
            r"row 2, column 'time_zone': expected an IANA time zone",
        ),
        (
            "tasks",
            {"location": [None, None, None]},
            r"tasks, row 2, column 'location': expected an area for an on-location task \(is_remote is false\)",
        ),
        (
            "tasks",
            {"location": [None, "  ", None]},
            r"tasks, row 2, column 'location': expected an area for an on-location task \(is_remote is false\)",
        ),
        ("tasks", {"budget_usd": [400.0, 0.0, 90.0]}, r"row 2, column 'budget_usd': expected a finite number > 0"),
        (
            "bids",
            {"worker_id": ["w-ana", "w-ana", "w-bo"]},
            r"bids, row 2, column 'worker_id': expected one bid per worker and task \(already in row 1\)",
        ),
    ],
    ids=[
        "duplicate-id",
        "unknown-category",
        "negative-capacity",
        "nan-rate",
        "inf-rate",
        "rating-6",
        "bad-time-zone",
        "on-location-without-location",
        "on-location-blank-location",
        "zero-budget",
        "duplicate-bid",
    ],
)
def test_bad_values_name_row_and_column(request, kind, change, message):
    table = request.getfixturevalue(kind).with_columns(**{k: pl.Series(k, v) for k, v in change.items()})
    with pytest.raises(InputError, match=message):
        validate(table, kind=kind)


def test_missing_required_columns_are_all_named(tasks):
    with pytest.raises(
        InputError, match=r"tasks, column 'category': expected a column named 'category' \(required\)"
    ) as info:
        validate(tasks.drop("category", "budget_usd"), kind="tasks")
    assert _failures(info.value) == [(None, "category"), (None, "budget_usd")]


def test_all_failures_are_collected_in_row_order(workers):
    bad = workers.with_columns(
        hourly_rate_usd=pl.Series([48.0, -2.0, 22.0, 0.0]),
        rating=pl.Series([0.5, 4.6, None, 4.75]),
        capacity=pl.Series([2, 1, -3, 0]),
    )
    with pytest.raises(InputError, match=r"workers, row 1, column 'rating'.* \(\+3 more\)") as info:
        validate(bad, kind="workers")
    assert _failures(info.value) == [(1, "rating"), (2, "hourly_rate_usd"), (3, "capacity"), (4, "hourly_rate_usd")]
    assert info.value.failures.columns == ["row", "column", "expected", "got"]


def test_a_column_of_the_wrong_type_is_reported(bids):
    with pytest.raises(
        InputError, match=r"bids, column 'price_usd': expected a finite number > 0, got 'a List\(Float64\) column'"
    ):
        validate(bids.with_columns(price_usd=pl.concat_list("price_usd")), kind="bids")


def test_unknown_kind_is_a_gigshift_error(bids):
    with pytest.raises(GigshiftError, match="validate: kind must be one of 'workers', 'clients', 'tasks', 'bids'"):
        validate(bids, kind="offers")  # type: ignore[arg-type]


def test_check_references_names_every_unknown_id(tasks, workers, clients, bids):
    check_references(tasks=validate(tasks, kind="tasks"), workers=workers, clients=clients, bids=bids)
    bad_bids = bids.with_columns(
        worker_id=pl.Series(["w-ana", "w-zed", "w-bo"]), task_id=pl.Series(["t-1", "t-1", "t-9"])
    )
    bad_tasks = tasks.with_columns(client_id=pl.Series(["c-acme", "c-gone", "c-bee"]))
    with pytest.raises(
        InputError,
        match=r"tasks, row 2, column 'client_id': expected a client_id listed in clients, got 'c-gone' \(\+2 more\)",
    ) as info:
        check_references(tasks=bad_tasks, workers=workers, clients=clients, bids=bad_bids)
    rows = info.value.failures.select("table", "row", "column", "got").rows()
    assert rows == [
        ("tasks", 2, "client_id", "c-gone"),
        ("bids", 3, "task_id", "t-9"),
        ("bids", 2, "worker_id", "w-zed"),
    ]


def test_check_references_skips_tables_not_given(tasks, bids):
    check_references(tasks=tasks, bids=bids.filter(pl.col("task_id") == "t-1"))  # no workers: worker ids unchecked
    with pytest.raises(
        InputError, match=r"bids, row 1, column 'task_id': expected a task_id listed in tasks, got 't-1'"
    ):
        check_references(tasks=tasks.filter(pl.col("task_id") != "t-1"), bids=bids)


# ---------------------------------------------------------------------------------------------- files


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("kind", ["workers", "clients", "tasks", "bids"])
def test_round_trip_through_a_file_is_exact(tmp_path, request, suffix, kind):
    table = validate(request.getfixturevalue(kind), kind=kind)
    path = tmp_path / f"{kind}{suffix}"
    write(table, path, kind=kind)
    assert_frame_equal(read(path, kind=kind), table)


def test_csv_lists_and_datetimes_are_text(tmp_path, workers):
    path = tmp_path / "workers.csv"
    write(workers, path, kind="workers")
    row = pl.read_csv(path, infer_schema=False).row(0, named=True)
    assert row["categories"] == "web-dev;software-dev"
    assert row["skills"] == "JavaScript;Python;Git"
    assert row["last_assigned_at"] == "2025-12-30T09:15:00Z"


def test_bad_cell_in_csv_names_file_row_and_column(tmp_path):
    path = tmp_path / "bids.csv"
    path.write_text(
        "task_id,worker_id,price_usd,bid_at\n"
        "t-1,w-ana,380,2026-01-05T12:00:00Z\n"
        "t-1,w-chen,abc,2026-01-05T13:00:00Z\n"
        "t-2,w-bo,58.5,2026-01-32T09:00:00\n"
    )
    with pytest.raises(
        InputError, match=r"bids.csv, row 2, column 'price_usd': expected a finite number > 0, got 'abc' \(\+1 more\)"
    ) as info:
        read(path, kind="bids")
    assert info.value.failures.row(1) == (3, "bid_at", "an ISO 8601 date-time, or empty", "2026-01-32T09:00:00")


def test_unknown_suffix_is_refused(tmp_path, bids):
    with pytest.raises(GigshiftError, match=r"read: bids.xlsx: unknown file type '.xlsx'; use .csv or .parquet"):
        read(tmp_path / "bids.xlsx", kind="bids")
    with pytest.raises(GigshiftError, match=r"write: bids.json: unknown file type '.json'"):
        write(bids, tmp_path / "bids.json", kind="bids")
    assert list(tmp_path.iterdir()) == []


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(InputError, match=r"tasks.parquet: expected an existing file, got 'missing'"):
        read(tmp_path / "tasks.parquet", kind="tasks")
    (tmp_path / "tasks.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match=r"tasks.parquet: expected a readable Parquet file, got 'unreadable"):
        read(tmp_path / "tasks.parquet", kind="tasks")


def test_nothing_is_written_when_validation_fails(tmp_path, workers):
    path = tmp_path / "workers.parquet"
    write(workers, path, kind="workers")
    before = path.read_bytes()
    with pytest.raises(InputError, match="row 1, column 'hourly_rate_usd'"):
        write(workers.with_columns(hourly_rate_usd=pl.lit(-1.0)), path, kind="workers")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["workers.parquet"]


def test_csv_list_items_may_not_hold_the_separator(tmp_path, tasks):
    bad = tasks.with_columns(required_skills=pl.Series([["C; C++"], [], []]))
    with pytest.raises(
        InputError, match=r"tasks.csv, row 1, column 'required_skills': expected list items without ';'"
    ):
        write(bad, tmp_path / "tasks.csv", kind="tasks")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------- markets


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_market_directory_round_trip(tmp_path, market, fmt):
    target = market.write(tmp_path / "m", format=fmt)
    assert sorted(p.name for p in target.iterdir()) == sorted([f"{k}.{fmt}" for k in SCHEMAS] + ["market.json"])
    back = read_market(target)
    for kind in SCHEMAS:
        assert_frame_equal(getattr(back, kind), getattr(market, kind))
    assert back.provenance == market.provenance


def test_market_write_replaces_a_market_but_never_other_files(tmp_path, market):
    target = tmp_path / "m"
    market.write(target, format="csv")
    market.write(target, format="parquet")  # a market directory is replaced as a whole
    assert not any(p.suffix == ".csv" for p in target.iterdir())
    (target / "notes.txt").write_text("mine")
    with pytest.raises(GigshiftError, match=r"holds files that are not part of a market \(notes.txt\)"):
        market.write(target)
    assert (target / "notes.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no staging directory left behind


def test_market_write_checks_everything_first(tmp_path, market, bids):
    broken = Market(
        workers=market.workers,
        clients=market.clients,
        tasks=market.tasks,
        bids=bids.with_columns(worker_id=pl.Series(["w-ana", "w-zed", "w-bo"])),
        provenance=market.provenance,
    )
    with pytest.raises(InputError, match=r"bids, row 2, column 'worker_id': expected a worker_id listed in workers"):
        broken.write(tmp_path / "m")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(GigshiftError, match=r"Market\.write: format must be one of 'parquet', 'csv'; got 'xlsx'"):
        market.write(tmp_path / "m", format="xlsx")  # type: ignore[arg-type]


def test_read_market_cross_checks_and_names_the_file(tmp_path, market):
    target = market.write(tmp_path / "m", format="csv")
    text = (target / "bids.csv").read_text().replace("w-bo", "w-nobody")
    (target / "bids.csv").write_text(text)
    with pytest.raises(
        InputError,
        match=r"bids.csv, row 3, column 'worker_id': expected a worker_id listed in workers.csv, got 'w-nobody'",
    ):
        read_market(target)


def test_read_market_needs_workers_and_tasks_only(tmp_path, market):
    target = market.write(tmp_path / "m")
    (target / "bids.parquet").unlink()
    (target / "clients.parquet").unlink()
    (target / "market.json").unlink()
    back = read_market(target)
    assert back.bids.height == 0 and back.bids.schema == pl.Schema(SCHEMAS["bids"])
    assert back.provenance.method == "market tables read from m"
    (target / "tasks.parquet").unlink()
    with pytest.raises(InputError, match=r"expected a tasks.parquet or tasks.csv file, got 'missing'"):
        read_market(target)


def test_summary_counts_per_category(market):
    summary = market.summary()
    assert summary["category"].to_list() == sorted(summary["category"].to_list())
    web = summary.filter(pl.col("category") == "web-dev").row(0, named=True)
    assert (web["n_tasks"], web["n_workers"], web["n_bids"]) == (1, 1, 2)
    assert web["median_hourly_rate_usd"] == 48.0 and web["mean_rating"] == pytest.approx(4.9)
    translation = summary.filter(pl.col("category") == "translation").row(0, named=True)
    assert translation["mean_rating"] is None  # its only worker is not rated yet


def test_synthetic_market_survives_a_csv_round_trip(tmp_path):
    market = synthetic(n_workers=300, n_tasks=60, seed=11)
    back = read_market(market.write(tmp_path / "m", format="csv"))
    for kind in SCHEMAS:
        assert_frame_equal(getattr(back, kind), getattr(market, kind))
    assert back.provenance.seed == 11


def test_market_json_holds_counts_and_provenance(tmp_path, market):
    import json

    body = json.loads(Path(market.write(tmp_path / "m") / "market.json").read_text())
    assert body["counts"] == {"workers": 4, "clients": 2, "tasks": 3, "bids": 3}
    assert body["provenance"]["method"] == "hand-made fixture"
    assert json.loads(market.to_json()) == {k: body[k] for k in ("counts", "provenance")}
