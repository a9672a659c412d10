"""Importing platform exports: YAML mappings, bad input named by file, row and export column, pools with consent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

import gigshift.pay._pool as pool_module
from gigshift import GigshiftError, InputError
from gigshift.pay import Pool, load, read_mapping

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pay"
GIVEN = datetime(2025, 4, 1, 12, tzinfo=UTC)


def _csv(tmp_path: Path, name: str, frame: pl.DataFrame) -> Path:
    path = tmp_path / name
    frame.write_csv(path)
    return path


def _trips() -> pl.DataFrame:
    return pl.read_csv(EXAMPLES / "rideco_trips.csv", infer_schema=False)


def test_ride_export_maps_onto_canonical_jobs():
    c = load(EXAMPLES / "rideco_trips.csv", sessions=EXAMPLES / "rideco_online_time.csv", mapping="rideco-trips")
    raw = _trips().filter(pl.col("Trip Status") == "COMPLETED")
    assert c.jobs.height == raw.height and c.n_left_out == 3  # cancelled trips are left out and counted
    first = raw.row(0, named=True)
    job = c.jobs.row(0, named=True)
    parts = sum(float(first[p].lstrip("$")) for p in ("Base Fare", "Surge", "Time and Distance"))
    assert job["worker_pay"] == pytest.approx(parts)
    assert job["distance_km"] == pytest.approx(float(first["Trip Distance (miles)"]) * 1.609344)
    # local New York time in January is UTC-5
    begin = datetime.strptime(first["Begin Trip Time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert job["start"] == begin + timedelta(hours=5)
    assert set(c.jobs["category"]) <= {"ride", "ride-xl"} and c.jobs["platform"].unique().to_list() == ["rideco"]
    assert c.sessions.height == pl.read_csv(EXAMPLES / "rideco_online_time.csv").height


def test_delivery_gdpr_export_maps_durations_metres_and_cents():
    c = load(EXAMPLES / "dashfood_orders.csv", sessions=EXAMPLES / "dashfood_shifts.csv", mapping="dashfood-gdpr")
    raw = pl.read_csv(EXAMPLES / "dashfood_orders.csv")
    job = c.jobs.row(0, named=True)
    first = raw.row(0, named=True)
    assert (job["end"] - job["start"]).total_seconds() == pytest.approx(first["duration_seconds"], abs=1e-3)
    assert job["worker_pay"] == pytest.approx(first["payout_cents"] / 100)
    assert job["distance_km"] == pytest.approx(first["distance_metres"] / 1000)
    fees = c.jobs["fees"].drop_nulls()
    assert fees.len() > 0 and (fees > 0).all()  # deductions exported as negative cents
    assert c.jobs["client_price"].null_count() == raw["customer_total_cents"].null_count()


def test_unknown_export_column_in_mapping_is_named(tmp_path):
    mapping = (Path(pool_module.__file__).parent / "mappings" / "rideco-trips.yaml").read_text()
    bad = tmp_path / "m.yaml"
    bad.write_text(mapping.replace("tips: Tip", "tips: Tips"))
    with pytest.raises(InputError, match=r"m.yaml, column 'jobs.columns.tips': expected a column of rideco_trips.csv "
                       r"\(closest: 'Tip'.*got 'Tips'"):  # fmt: skip
        load(EXAMPLES / "rideco_trips.csv", mapping=bad)


def test_unknown_canonical_key_in_mapping_is_named(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("jobs:\n  columns:\n    worker_id: a\n    tip: b\n")
    with pytest.raises(InputError, match=r"m.yaml, column 'jobs.columns.tip': expected a known key \(closest: 'tips'"):
        read_mapping(bad)


def test_bad_cell_names_export_file_row_and_column(tmp_path):
    trips = _trips().with_columns(
        pl.when(pl.int_range(pl.len()) == 4).then(pl.lit("$abc")).otherwise(pl.col("Surge")).alias("Surge")
    )
    path = _csv(tmp_path, "trips.csv", trips)
    with pytest.raises(InputError, match=r"trips.csv, row 5, column 'Surge': expected a number, got '\$abc'"):
        load(path, mapping="rideco-trips")


def test_mixed_currencies_are_named_or_set_aside(tmp_path):
    tenth = pl.int_range(pl.len()) == 9
    trips = _trips().with_columns(
        pl.when(tenth).then(pl.lit("EUR")).otherwise(pl.col("Currency Code")).alias("Currency Code")
    )
    path = _csv(tmp_path, "trips.csv", trips)
    with pytest.raises(InputError, match=r"trips.csv, row 10, column 'Currency Code': expected one currency per pool"):
        load(path, mapping="rideco-trips")
    c = load(path, mapping="rideco-trips", on_bad="set_aside")
    assert c.n_set_aside == 1 and c.set_aside.row(0, named=True)["row"] == 10
    assert c.jobs.height == trips.filter(pl.col("Trip Status") == "COMPLETED").height - 1


def test_canonical_file_needs_no_mapping_and_reports_ignored_columns(tmp_path):
    jobs = pl.DataFrame(
        {
            "worker_id": ["w1", "w1"],
            "platform": ["p", "p"],
            "category": ["ride", "ride"],
            "start": ["2025-03-03T08:00:00Z", "2025-03-03T09:00:00Z"],
            "end": ["2025-03-03T08:30:00Z", "2025-03-03T09:30:00Z"],
            "worker_pay": ["10", "12.5"],
            "currency": ["USD", "USD"],
            "notes": ["x", "y"],
        }
    )
    c = load(_csv(tmp_path, "jobs.csv", jobs))
    assert c.jobs["worker_pay"].to_list() == [10.0, 12.5] and c.ignored_columns == ("notes",)


def test_pool_records_consent_and_refuses_a_second_import_of_the_same_trips(tmp_path):
    c = load(EXAMPLES / "rideco_trips.csv", sessions=EXAMPLES / "rideco_online_time.csv", mapping="rideco-trips")
    pool = Pool.open(tmp_path / "pool", create=True)
    added = pool.add(c, given_at=GIVEN, consent_id="form-17", terms="pool terms v1")
    assert added["jobs"] == c.jobs.height and added["workers"] == 2
    consent = pool.consent
    assert consent.select("contribution_id", "terms").unique().rows() == [("form-17", "pool terms v1")]
    assert consent["given_at"].to_list() == [GIVEN, GIVEN] and consent["revoked_at"].null_count() == 2
    assert pool.config.currency == "USD" and pool.config.time_zone == "America/New_York"
    twice = r"rideco_trips.csv \(adding to the pool\), row 1, column 'start': expected a job that does not overlap"
    with pytest.raises(InputError, match=twice + r" another job of the same worker \(one already in the pool\)"):
        pool.add(c, given_at=GIVEN)
    with pytest.raises(GigshiftError, match="consent id 'form-17' is already in pool"):
        pool.add(c, given_at=GIVEN, consent_id="form-17")
    assert pool.jobs().height == c.jobs.height


def test_pool_refuses_another_currency(tmp_path):
    c = load(EXAMPLES / "rideco_trips.csv", mapping="rideco-trips")
    pool = Pool.open(tmp_path / "pool", create=True)
    pool.add(c, given_at=GIVEN)
    other = load(EXAMPLES / "dashfood_orders.csv", mapping="dashfood-gdpr")
    euros = other.__class__(**{**{f: getattr(other, f) for f in other.__slots__}, "jobs": other.jobs.with_columns(
        currency=pl.lit("EUR"))})  # fmt: skip
    with pytest.raises(InputError, match=r"row 1, column 'currency': expected the pool's currency \(USD\), got 'EUR'"):
        pool.add(euros, given_at=GIVEN)


def test_revoked_worker_leaves_the_pool(tmp_path):
    pool = Pool.open(tmp_path / "pool", create=True)
    rides = load(EXAMPLES / "rideco_trips.csv", sessions=EXAMPLES / "rideco_online_time.csv", mapping="rideco-trips")
    food = load(EXAMPLES / "dashfood_orders.csv", sessions=EXAMPLES / "dashfood_shifts.csv", mapping="dashfood-gdpr")
    pool.add(rides, given_at=GIVEN)
    pool.add(food, given_at=GIVEN)
    gone = rides.jobs["worker_id"][0]
    out = pool.revoke(gone, at=datetime(2025, 5, 1, tzinfo=UTC))
    assert out["jobs_deleted"] == rides.jobs.filter(pl.col("worker_id") == gone).height
    assert gone not in pool.jobs()["worker_id"].to_list() and gone not in pool.sessions()["worker_id"].to_list()
    stored = pl.concat([pl.read_parquet(p) for p in (tmp_path / "pool").rglob("jobs/*.parquet")])
    assert gone not in stored["worker_id"].to_list()  # deleted from disk, not only hidden
    revoked = pool.consent.filter(pl.col("worker_id") == gone)["revoked_at"].to_list()
    assert revoked == [datetime(2025, 5, 1, tzinfo=UTC)]
    with pytest.raises(GigshiftError, match="already revoked"):
        pool.revoke(gone, at=datetime(2025, 5, 2, tzinfo=UTC))


def test_an_interrupted_import_leaves_the_pool_as_it_was(tmp_path, monkeypatch):
    pool = Pool.open(tmp_path / "pool", create=True)
    rides = load(EXAMPLES / "rideco_trips.csv", mapping="rideco-trips")
    pool.add(rides, given_at=GIVEN)
    before = pool.jobs()
    food = load(EXAMPLES / "dashfood_orders.csv", mapping="dashfood-gdpr")
    real = pool_module._write_atomic

    def crash_on_commit(frame, path):
        if path.name == pool_module.CONSENT_FILE:
            raise OSError("disk full")
        real(frame, path)

    monkeypatch.setattr(pool_module, "_write_atomic", crash_on_commit)
    with pytest.raises(OSError, match="disk full"):
        pool.add(food, given_at=GIVEN)
    monkeypatch.undo()
    assert pool.jobs().equals(before) and pool.consent.height == 2  # the orders were written but never committed
    pool.add(food, given_at=GIVEN)  # and the leftovers do not get in the way
    assert pool.jobs().height == before.height + food.jobs.height


def test_a_new_job_overlapping_a_later_stored_job_is_named(tmp_path):
    jobs = pl.DataFrame(
        {
            "worker_id": ["w1"],
            "platform": ["p"],
            "category": ["ride"],
            "start": ["2025-03-03T08:10:00Z"],
            "end": ["2025-03-03T08:40:00Z"],
            "worker_pay": ["10"],
            "currency": ["USD"],
        }
    )
    pool = Pool.open(tmp_path / "pool", create=True)
    pool.add(load(jobs), given_at=GIVEN)
    earlier = jobs.with_columns(start=pl.lit("2025-03-03T08:00:00Z"), end=pl.lit("2025-03-03T08:20:00Z"))
    with pytest.raises(
        InputError, match=r"jobs \(adding to the pool\), row 1, column 'start'.*one already in the pool"
    ):
        pool.add(load(earlier), given_at=GIVEN)


def test_an_interrupted_revocation_still_hides_the_worker(tmp_path, monkeypatch):
    pool = Pool.open(tmp_path / "pool", create=True)
    rides = load(EXAMPLES / "rideco_trips.csv", mapping="rideco-trips")
    pool.add(rides, given_at=GIVEN)
    gone = rides.jobs["worker_id"][0]
    monkeypatch.setattr(Pool, "_purge", lambda self, worker_id, ids: {"jobs_deleted": 0, "sessions_deleted": 0})
    pool.revoke(gone, at=datetime(2025, 5, 1, tzinfo=UTC))  # committed, but the rows were never deleted
    assert gone in pl.read_parquet(next((tmp_path / "pool" / "jobs").glob("*.parquet")))["worker_id"].to_list()
    assert gone not in pool.jobs()["worker_id"].to_list()
