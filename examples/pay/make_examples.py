"""Write the synthetic platform exports in this folder (no real worker's data).

Run: ``python examples/pay/make_examples.py``.

Two layouts, drawn from :func:`gigshift.pay.synthetic` (seed 9) and written the way platforms tend to export:

- ``rideco_trips.csv`` and ``rideco_online_time.csv``: a ride-hailing driver's trips download (local New
  York times without an offset, miles, dollar amounts with a ``$``, pay split into parts, cancelled trips
  included); map with ``gigshift/pay/mappings/rideco-trips.yaml``.
- ``dashfood_orders.csv`` and ``dashfood_shifts.csv``: a delivery app's GDPR data-portability package
  (ISO 8601 times with offsets, a duration in seconds, metres, amounts in cents, deductions negative); map
  with ``gigshift/pay/mappings/dashfood-gdpr.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from gigshift.pay import synthetic

HERE = Path(__file__).resolve().parent
TZ = "America/New_York"


def _first_two(jobs: pl.DataFrame, platform: str) -> list[str]:
    """Two workers who work only on ``platform``."""
    only = jobs.group_by("worker_id").agg(pl.col("platform").n_unique().alias("n"), pl.col("platform").first())
    ids = only.filter(pl.col("n") == 1, pl.col("platform") == platform).get_column("worker_id").sort()
    return ids.head(2).to_list()


def main() -> None:
    pool = synthetic(n_workers=40, n_weeks=3, platforms=("rideco", "dashfood"), seed=9)
    drivers = _first_two(pool.jobs, "rideco")
    couriers = _first_two(pool.jobs, "dashfood")
    local = "%Y-%m-%d %H:%M:%S"

    rides = pool.jobs.filter(pl.col("platform") == "rideco", pl.col("worker_id").is_in(drivers))
    n = rides.height
    base = (rides["worker_pay"] * 0.3).round(2)
    surge = (rides["worker_pay"] * 0.1).round(2)
    trips = rides.select(
        pl.format("t{}", pl.int_range(1, n + 1).cast(pl.String).str.zfill(6)).alias("Trip ID"),
        pl.col("worker_id").str.replace("w", "drv-").alias("Driver ID"),
        pl.col("category").replace({"ride": "Ride", "ride-xl": "Ride XL"}).alias("Product"),
        pl.col("area").str.to_titlecase().alias("Zone"),
        (pl.col("start") - pl.duration(minutes=4)).dt.convert_time_zone(TZ).dt.strftime(local).alias("Request Time"),
        pl.col("start").dt.convert_time_zone(TZ).dt.strftime(local).alias("Begin Trip Time"),
        pl.col("end").dt.convert_time_zone(TZ).dt.strftime(local).alias("Dropoff Time"),
        (pl.col("distance_km") / 1.609344).round(2).alias("Trip Distance (miles)"),
        pl.lit("COMPLETED").alias("Trip Status"),
        pl.format("${}", pl.col("client_price").round(2)).alias("Rider Fare"),
        pl.format("${}", base).alias("Base Fare"),
        pl.format("${}", surge).alias("Surge"),
        pl.format("${}", (pl.col("worker_pay") - base - surge).round(2)).alias("Time and Distance"),
        pl.format("${}", pl.col("tips").fill_null(0)).alias("Tip"),
        pl.col("bonus").cast(pl.String).fill_null("").alias("Quest Bonus"),
        pl.col("currency").alias("Currency Code"),
    )
    cancelled = trips.sample(3, seed=9).with_columns(
        pl.lit("RIDER_CANCELED").alias("Trip Status"),
        *(pl.lit("$0.00").alias(c) for c in ("Rider Fare", "Base Fare", "Surge", "Time and Distance", "Tip")),
        pl.col("Begin Trip Time").alias("Dropoff Time"),
        pl.lit(0.0).alias("Trip Distance (miles)"),
    )
    trips = pl.concat([trips, cancelled]).sort("Request Time")
    trips.write_csv(HERE / "rideco_trips.csv")
    online = pool.sessions.filter(pl.col("platform") == "rideco", pl.col("worker_id").is_in(drivers))
    online.select(
        pl.col("worker_id").str.replace("w", "drv-").alias("Driver ID"),
        pl.col("start").dt.convert_time_zone(TZ).dt.strftime(local).alias("Online From"),
        pl.col("end").dt.convert_time_zone(TZ).dt.strftime(local).alias("Online To"),
    ).write_csv(HERE / "rideco_online_time.csv")

    food = pool.jobs.filter(pl.col("platform") == "dashfood", pl.col("worker_id").is_in(couriers))
    iso = "%Y-%m-%dT%H:%M:%S%:z"
    cents = lambda c: (pl.col(c) * 100).round(0).cast(pl.Int64)  # noqa: E731
    food.select(
        pl.col("worker_id").str.replace("w", "c-").alias("courier_uuid"),
        pl.format("o-{}", pl.int_range(1, food.height + 1)).alias("order_id"),
        pl.col("category").replace({"food": "restaurant", "grocery": "grocery"}).alias("vertical"),
        pl.col("area").alias("zone"),
        pl.col("start").dt.convert_time_zone(TZ).dt.strftime(iso).alias("accepted_at"),
        ((pl.col("end") - pl.col("start")).dt.total_seconds()).alias("duration_seconds"),
        (pl.col("distance_km") * 1000).round(0).cast(pl.Int64).alias("distance_metres"),
        cents("worker_pay").alias("payout_cents"),
        cents("tips").alias("tip_cents"),
        cents("bonus").alias("incentive_cents"),
        cents("client_price").alias("customer_total_cents"),
        (-cents("fees")).alias("deduction_cents"),
        pl.col("currency"),
    ).write_csv(HERE / "dashfood_orders.csv")
    shifts = pool.sessions.filter(pl.col("platform") == "dashfood", pl.col("worker_id").is_in(couriers))
    shifts.select(
        pl.col("worker_id").str.replace("w", "c-").alias("courier_uuid"),
        pl.col("start").dt.convert_time_zone(TZ).dt.strftime(iso).alias("shift_start"),
        pl.col("end").dt.convert_time_zone(TZ).dt.strftime(iso).alias("shift_end"),
    ).write_csv(HERE / "dashfood_shifts.csv")


if __name__ == "__main__":
    main()
