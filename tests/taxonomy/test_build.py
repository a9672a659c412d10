"""The shipped tables are exactly what the raw public data gives, and bad raw files get clear errors."""

from __future__ import annotations

import csv
import gzip
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from gigshift import InputError
from gigshift.taxonomy import build_tables, occupations, tasks, write_tables
from gigshift.taxonomy._build import RAW_FILES, compare_with_shipped
from gigshift.taxonomy._store import TABLE_NAMES, load_table


@pytest.fixture(scope="module")
def rebuilt(raw_dir: Path) -> dict[str, pl.DataFrame]:
    return build_tables(raw_dir)


@pytest.mark.parametrize("name", TABLE_NAMES)
def test_rebuilding_gives_the_shipped_tables(rebuilt, name):
    assert_frame_equal(rebuilt[name], load_table(name))


def test_compare_with_shipped_is_empty_and_detects_a_change(rebuilt):
    assert compare_with_shipped(rebuilt) == []
    tampered = dict(rebuilt, occupations=rebuilt["occupations"].with_columns(pl.col("gpt4_beta") * 1.0000001))
    assert compare_with_shipped(tampered) == ["occupations: same shape, different values"]


def test_all_923_published_occupation_scores_reproduced_exactly(raw_dir):
    with open(raw_dir / "gpts-are-gpts" / "occ_level.csv", newline="") as handle:
        published = list(csv.DictReader(handle))
    assert len(published) == 923
    shipped = {r["soc_code"]: r for r in occupations().iter_rows(named=True)}
    columns = {
        "gpt4_alpha": "dv_rating_alpha",
        "gpt4_beta": "dv_rating_beta",
        "gpt4_gamma": "dv_rating_gamma",
        "human_alpha": "human_rating_alpha",
        "human_beta": "human_rating_beta",
        "human_gamma": "human_rating_gamma",
    }
    mismatches = [
        (row["O*NET-SOC Code"], ours)
        for row in published
        for ours, theirs in columns.items()
        if shipped[row["O*NET-SOC Code"]][ours] != float(row[theirs])  # exact, not approximate
    ]
    assert mismatches == []
    assert occupations()["has_exposure_scores"].sum() == 923


def test_task_join_across_onet_versions(raw_dir):
    t = tasks()
    current = t.filter(pl.col("onet_status") == "current")
    assert current.height == 18_796  # every O*NET 29.3 task
    assert current["is_labelled"].sum() == 18_751  # labelled tasks that still exist in 29.3
    assert t.filter(pl.col("onet_status") == "retired").height == 19_265 - 18_751
    assert t["is_labelled"].sum() == 19_265  # no label is lost
    assert t["task_id"].is_unique().all()
    # the labels store Task ID as a float; one spot check against the raw text
    with gzip.open(raw_dir / "gpts-are-gpts" / "full_labelset.tsv.gz", "rt") as handle:
        first = next(csv.DictReader(handle, delimiter="\t"))
    row = t.filter(pl.col("task_id") == int(float(first["Task ID"]))).row(0, named=True)
    assert (row["gpt4_label"], row["human_label"], row["gpt4_automation"]) == (
        first["gpt4_exposure"],
        first["human_exposure_agg"],
        first["gpt4_automation"],
    )


def test_occupation_joins_cover_bls_and_microsoft():
    occ = occupations().filter(pl.col("has_exposure_scores"))
    assert occ["bls_median_hourly_wage_usd"].is_not_null().mean() > 0.9
    assert occ["ms_ai_applicability"].is_not_null().mean() > 0.85
    assert occ["ep_employment_change_2024_34_pct"].is_not_null().mean() > 0.9
    dev = occupations().filter(pl.col("soc_code") == "15-1252.00").row(0, named=True)
    assert dev["bls_code"] == "15-1252" and dev["ep_employment_change_2024_34_pct"] == pytest.approx(15.8)


def _copy_raw(raw_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "raw"
    for rel in RAW_FILES.values():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(raw_dir / rel, target / rel)
    return target


def test_missing_raw_file_is_named(raw_dir, tmp_path):
    raw = _copy_raw(raw_dir, tmp_path)
    (raw / "onet-29.3" / "job_zones.txt").unlink()
    with pytest.raises(InputError, match=r"job_zones\.txt: expected an existing file"):
        build_tables(raw)


def test_corrupt_gzip_is_named(raw_dir, tmp_path):
    raw = _copy_raw(raw_dir, tmp_path)
    (raw / "onet-29.3" / "skills.txt.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(InputError, match=r"skills\.txt\.gz: expected a gzip-compressed text file"):
        build_tables(raw)


def test_missing_column_is_named(raw_dir, tmp_path):
    raw = _copy_raw(raw_dir, tmp_path)
    path = raw / "gpts-are-gpts" / "occ_level.csv"
    path.write_text(path.read_text().replace("dv_rating_beta", "dv_beta", 1))
    with pytest.raises(InputError, match=r"occ_level\.csv, column 'dv_rating_beta': expected a header"):
        build_tables(raw)


def test_bad_value_names_row_and_column(raw_dir, tmp_path):
    raw = _copy_raw(raw_dir, tmp_path)
    path = raw / "gpts-are-gpts" / "occ_level.csv"
    lines = path.read_text().splitlines()
    cells = lines[3].split(",")
    cells[4] = "n/a"  # dv_rating_gamma of the third data row
    lines[3] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"occ_level\.csv, row 3, column 'dv_rating_gamma': expected a number.*'n/a'"):
        build_tables(raw)


def test_bad_exposure_label_is_reported_with_count(raw_dir, tmp_path):
    raw = _copy_raw(raw_dir, tmp_path)
    path = raw / "gpts-are-gpts" / "full_labelset.tsv.gz"
    text = gzip.decompress(path.read_bytes()).decode()
    path.write_bytes(gzip.compress(text.replace("\tE1\t", "\tE9\t", 2).encode()))
    with pytest.raises(InputError, match=r"full_labelset\.tsv\.gz, row \d+, column '\w+': expected one of E0, E1, E2"):
        build_tables(raw)


def test_nothing_is_written_when_the_build_fails(raw_dir, tmp_path):
    raw = _copy_raw(raw_dir, tmp_path)
    (raw / "onet-29.3" / "occupation_data.txt").write_text("not a table")
    out = tmp_path / "out"
    with pytest.raises(InputError):
        write_tables(build_tables(raw), out)
    assert not out.exists()


def test_write_tables_round_trips(rebuilt, tmp_path):
    write_tables(rebuilt, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{n}.parquet" for n in TABLE_NAMES] + ["manifest.json"]
    )
    assert_frame_equal(pl.read_parquet(tmp_path / "tasks.parquet"), rebuilt["tasks"])
