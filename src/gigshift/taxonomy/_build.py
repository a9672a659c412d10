"""Derive the compact tables shipped in ``gigshift/taxonomy/data`` from the raw public data.

``build_tables(raw_dir)`` reads the raw files (the layout of ``shared/data``, documented in the README),
checks them, and returns the derived tables; ``write_tables`` writes them atomically with a manifest
naming the source, licence and row count of each. Nothing is written unless every file passed.

Join keys and version differences
---------------------------------
- Task level: the exposure labels (Eloundou et al.) were made on an O*NET 27.x task list; ``Task ID``
  is stored there as a float. We cast it to an integer and join on it to O*NET 29.3. Tasks in 29.3
  without labels keep null labels; labelled tasks no longer in 29.3 are kept with
  ``onet_status = "retired"`` so that nothing the labels cover is lost. Where the 29.3 wording
  differs from the labelled wording, the 29.3 text is used and ``text_changed`` is true.
- Occupation level: O*NET-SOC 2019 codes (``15-1252.00``) key everything. BLS OEWS and Microsoft's
  scores use SOC 2018 six-digit codes: we take the first seven characters, and where that code is not
  published we fall back to the BLS National Employment Matrix code from the crosswalk (an
  aggregate such as ``13-1020``). BLS Employment Projections use NEM codes directly. Several O*NET
  occupations share one SOC code, so BLS employment and wages describe the SOC occupation, not the
  O*NET one alone.
- The published occupation scores (``occ_level.csv``) are kept exactly as published. They are not the
  plain mean of the task labels (the authors weight tasks by O*NET task ratings, which are not
  public in this data), so gigshift never recomputes them.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from gigshift._errors import InputError
from gigshift.taxonomy._schema import (
    AUTOMATION_LEVELS,
    CONTEXT_COLUMNS,
    EXPOSURE_LABELS,
    OLI_CLASSES,
    SCORE_COLUMNS,
    TABLE_SOURCES,
    TASK_TYPES,
)

RAW_FILES: dict[str, str] = {
    "occ_level": "gpts-are-gpts/occ_level.csv",
    "labels": "gpts-are-gpts/full_labelset.tsv.gz",
    "automation": "gpts-are-gpts/automation_gpt4_human_labels.tsv.gz",
    "task_statements": "onet-29.3/task_statements.txt.gz",
    "occupation_data": "onet-29.3/occupation_data.txt",
    "job_zones": "onet-29.3/job_zones.txt",
    "skills": "onet-29.3/skills.txt.gz",
    "technology_skills": "onet-29.3/technology_skills.txt.gz",
    "alternate_titles": "onet-29.3/alternate_titles.txt.gz",
    "tasks_to_dwas": "onet-29.3/tasks_to_dwas.txt.gz",
    "dwa_reference": "onet-29.3/dwa_reference.txt",
    "ms_scores": "microsoft-working-with-ai/soc_ai_applicability_scores.csv",
    "oews": "bls-oews-2025/oews_national_may2025.csv",
    "ep": "bls-ep/employment_projections_2024-34.csv",
    "crosswalk": "crosswalks/onet_soc2019_to_nem_soc2018.csv",
    "oli_levels": "oli/oli_levels_monthly.csv",
}

_REQUIRED: dict[str, list[str]] = {
    "occ_level": [
        "O*NET-SOC Code",
        "Title",
        "dv_rating_alpha",
        "dv_rating_beta",
        "dv_rating_gamma",
        "human_rating_alpha",
        "human_rating_beta",
        "human_rating_gamma",
    ],
    "labels": [
        "O*NET-SOC Code",
        "Task ID",
        "Task",
        "Task Type",
        "human_exposure_agg",
        "gpt4_exposure",
        "gpt4_exposure_alt_rubric",
        "gpt4_automation",
    ],
    "automation": ["Task ID", "human_automation"],
    "task_statements": ["O*NET-SOC Code", "Task ID", "Task", "Task Type"],
    "occupation_data": ["O*NET-SOC Code", "Title", "Description"],
    "job_zones": ["O*NET-SOC Code", "Job Zone"],
    "skills": ["O*NET-SOC Code", "Element ID", "Element Name", "Scale ID", "Data Value", "Not Relevant"],
    "technology_skills": [
        "O*NET-SOC Code",
        "Example",
        "Commodity Code",
        "Commodity Title",
        "Hot Technology",
        "In Demand",
    ],
    "alternate_titles": ["O*NET-SOC Code", "Alternate Title", "Short Title"],
    "tasks_to_dwas": ["O*NET-SOC Code", "Task ID", "DWA ID", "DWA Title"],
    "dwa_reference": ["DWA ID", "IWA ID", "IWA Title", "Element Name"],
    "ms_scores": ["SOC Code", "ai_applicability_score"],
    "oews": ["soc2018", "display_level", "Employment", "Hourly median wage", "Annual median wage"],
    "ep": [
        "2024 National Employment Matrix code",
        "Occupation type",
        "Employment, 2024",
        "Employment change, percent, 2024–34",
        "Percent self employed, 2024",
        "Occupational openings, 2024–34 annual average",
    ],
    "crosswalk": ["O*NET-SOC Code", "NEM Code"],
    "oli_levels": ["date", *OLI_CLASSES],
}

_SOC_PATTERN = r"^\d{2}-\d{4}\.\d{2}$"


@dataclass(frozen=True)
class RawFile:
    """A raw file read as text columns, with the path it came from for error messages."""

    path: Path
    frame: pl.DataFrame


def _read_raw(raw_dir: Path, key: str) -> RawFile:
    return read_raw_file(raw_dir / RAW_FILES[key], _REQUIRED[key])


def read_raw_file(path: Path, required: list[str]) -> RawFile:
    """Read a raw CSV or TSV file (optionally gzipped) as text columns; check it has ``required`` columns.

    Raises
    ------
    InputError
        Naming the file, and the missing column where one is missing.
    """
    if not path.is_file():
        raise InputError.single(source=str(path), expected="an existing file (see README, data sources)", got="missing")
    data = path.read_bytes()
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError.single(
                source=str(path), expected="a gzip-compressed text file", got=f"unreadable gzip ({exc})"
            ) from None
    separator = "," if ".csv" in path.name else "\t"
    try:
        text = data.decode("utf-8")
        frame = pl.read_csv(
            io.StringIO(text), separator=separator, infer_schema_length=0, quote_char='"' if separator == "," else None
        )
    except (UnicodeDecodeError, pl.exceptions.PolarsError) as exc:
        raise InputError.single(
            source=str(path),
            expected="a UTF-8 delimited text table",
            got=f"unparseable ({str(exc).splitlines()[0][:120]})",
        ) from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError.single(
            source=str(path),
            column=missing[0],
            expected="a header with this column",
            got=f"columns {frame.columns[:8]}",
        )
    if frame.height == 0:
        raise InputError.single(source=str(path), expected="at least one data row", got="no rows")
    return RawFile(path, frame)


def parse_column(
    raw: RawFile,
    column: str,
    dtype: pl.DataType,
    expected: str,
    *,
    nullable: bool = False,
) -> pl.Expr:
    """Check that ``column`` parses as ``dtype`` (vectorised); raise naming the first bad rows."""
    src = pl.col(column).str.strip_chars()
    parsed = src.cast(dtype, strict=False)
    bad = raw.frame.with_row_index("row", offset=1).filter(
        (src.is_not_null() & (src != "") & parsed.is_null()) | (~pl.lit(nullable) & (src.is_null() | (src == "")))
    )
    if bad.height:
        failures = bad.select(
            pl.col("row").cast(pl.Int64),
            column=pl.lit(column),
            expected=pl.lit(expected),
            got=pl.col(column).fill_null("<empty>"),
        )
        raise InputError(failures, source=str(raw.path))
    return parsed


def _check_soc(raw: RawFile, column: str = "O*NET-SOC Code") -> None:
    bad = raw.frame.with_row_index("row", offset=1).filter(~pl.col(column).str.contains(_SOC_PATTERN).fill_null(False))
    if bad.height:
        raise InputError(
            bad.select(
                pl.col("row").cast(pl.Int64),
                column=pl.lit(column),
                expected=pl.lit("an O*NET-SOC code like 15-1252.00"),
                got=pl.col(column).fill_null("<empty>"),
            ),
            source=str(raw.path),
        )


def _check_enum(raw: RawFile, column: str, allowed: tuple[str, ...], *, nullable: bool) -> pl.Expr:
    values = pl.col(column).str.strip_chars()
    ok = values.is_in(list(allowed)) | (pl.lit(nullable) & (values.is_null() | (values == "")))
    bad = raw.frame.with_row_index("row", offset=1).filter(~ok.fill_null(False))
    if bad.height:
        raise InputError(
            bad.select(
                pl.col("row").cast(pl.Int64),
                column=pl.lit(column),
                expected=pl.lit(f"one of {', '.join(allowed)}"),
                got=pl.col(column).fill_null("<empty>"),
            ),
            source=str(raw.path),
        )
    return pl.when(values == "").then(None).otherwise(values).cast(pl.Enum(list(allowed)))


def _number(column: str) -> pl.Expr:
    """BLS numbers as published: thousands separators allowed; footnote codes (-, #, *, —) are null."""
    return pl.col(column).str.strip_chars().str.replace_all(",", "").cast(pl.Float64, strict=False)


def build_tables(raw_dir: str | os.PathLike[str]) -> dict[str, pl.DataFrame]:
    """Derive every shipped table from the raw public data in ``raw_dir``.

    Parameters
    ----------
    raw_dir : path
        A folder laid out as ``shared/data`` (``gpts-are-gpts/``, ``onet-29.3/``, ...).

    Returns
    -------
    dict of str to polars.DataFrame
        ``tasks``, ``occupations``, ``skills``, ``technology_skills``, ``alternate_titles``,
        ``task_activities``, ``oli_levels``, each sorted by its key.

    Raises
    ------
    InputError
        A raw file is missing, corrupt, lacks a column or has a value that does not parse; the
        message names the file, and where it applies the row and column.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise InputError.single(source=str(raw_dir), expected="a directory of raw data", got="not a directory")
    raw = {key: _read_raw(raw_dir, key) for key in RAW_FILES}
    tasks = _build_tasks(raw)
    occupations = _build_occupations(raw, tasks)
    return {
        "tasks": tasks,
        "occupations": occupations,
        "skills": _build_skills(raw),
        "technology_skills": _build_technology_skills(raw),
        "alternate_titles": _build_alternate_titles(raw),
        "task_activities": _build_task_activities(raw),
        "oli_levels": _build_oli_levels(raw),
    }


def _build_tasks(raw: dict[str, RawFile]) -> pl.DataFrame:
    ts, lab, auto = raw["task_statements"], raw["labels"], raw["automation"]
    for r in (ts, lab):
        _check_soc(r)
    onet = ts.frame.select(
        task_id=parse_column(ts, "Task ID", pl.Int64, "an integer task id"),
        soc_code=pl.col("O*NET-SOC Code"),
        task=pl.col("Task").str.strip_chars(),
        task_type=_check_enum(ts, "Task Type", TASK_TYPES, nullable=True),
    )
    labels = lab.frame.select(
        # the labels store Task ID as a float (8823.0): parse as float, then require a whole number
        task_id=parse_column(lab, "Task ID", pl.Float64, "a whole-number task id").cast(pl.Int64),
        soc_code_labelled=pl.col("O*NET-SOC Code"),
        task_labelled=pl.col("Task").str.strip_chars(),
        task_type_labelled=_check_enum(lab, "Task Type", TASK_TYPES, nullable=True),
        gpt4_label=_check_enum(lab, "gpt4_exposure", EXPOSURE_LABELS, nullable=False),
        gpt4_label_alt_rubric=_check_enum(lab, "gpt4_exposure_alt_rubric", EXPOSURE_LABELS, nullable=True),
        human_label=_check_enum(lab, "human_exposure_agg", EXPOSURE_LABELS, nullable=False),
        gpt4_automation=_check_enum(lab, "gpt4_automation", AUTOMATION_LEVELS, nullable=True),
    )
    for name, frame, r in (("task_statements", onet, ts), ("labels", labels, lab)):
        dup = frame.with_row_index("row", offset=1).filter(pl.col("task_id").is_duplicated())
        if dup.height:
            raise InputError(
                dup.select(
                    pl.col("row").cast(pl.Int64),
                    column=pl.lit("Task ID"),
                    expected=pl.lit(f"a unique task id in {name}"),
                    got=pl.col("task_id").cast(pl.String),
                ),
                source=str(r.path),
            )
    human_auto = (
        auto.frame.select(
            task_id=parse_column(auto, "Task ID", pl.Float64, "a whole-number task id").cast(pl.Int64),
            human_automation=_check_enum(auto, "human_automation", AUTOMATION_LEVELS, nullable=True),
        )
        .drop_nulls("human_automation")
        .unique("task_id", keep="first")
    )

    joined = onet.join(labels, on="task_id", how="full", coalesce=True)
    tasks = joined.select(
        "task_id",
        soc_code=pl.coalesce("soc_code", "soc_code_labelled"),
        task=pl.coalesce("task", "task_labelled"),
        task_type=pl.coalesce("task_type", "task_type_labelled"),
        onet_status=pl.when(pl.col("soc_code").is_not_null())
        .then(pl.lit("current"))
        .otherwise(pl.lit("retired"))
        .cast(pl.Enum(["current", "retired"])),
        is_labelled=pl.col("gpt4_label").is_not_null(),
        text_changed=(
            pl.col("task").is_not_null()
            & pl.col("task_labelled").is_not_null()
            & (pl.col("task") != pl.col("task_labelled"))
        ),
        gpt4_label=pl.col("gpt4_label"),
        human_label=pl.col("human_label"),
        gpt4_label_alt_rubric=pl.col("gpt4_label_alt_rubric"),
        gpt4_automation=pl.col("gpt4_automation"),
    )
    tasks = tasks.join(human_auto, on="task_id", how="left")
    return tasks.sort("soc_code", "task_id")


def _build_occupations(raw: dict[str, RawFile], tasks: pl.DataFrame) -> pl.DataFrame:
    od, occ, jz = raw["occupation_data"], raw["occ_level"], raw["job_zones"]
    for r in (od, occ, jz):
        _check_soc(r)
    base = od.frame.select(
        soc_code=pl.col("O*NET-SOC Code"),
        title=pl.col("Title").str.strip_chars(),
        description=pl.col("Description").str.strip_chars(),
    )
    scores = occ.frame.select(
        soc_code=pl.col("O*NET-SOC Code"),
        **{
            f"{lens}_{m}": parse_column(occ, f"{col}_rating_{m}", pl.Float64, "a number in [0, 1]")
            for lens, col in (("gpt4", "dv"), ("human", "human"))
            for m in ("alpha", "beta", "gamma")
        },
    )
    unknown = scores.join(base, on="soc_code", how="anti")
    if unknown.height:
        raise InputError.single(
            source=str(occ.path),
            column="O*NET-SOC Code",
            expected="a code listed in occupation_data.txt",
            got=unknown["soc_code"][0],
        )
    zones = jz.frame.select(
        soc_code=pl.col("O*NET-SOC Code"),
        job_zone=parse_column(jz, "Job Zone", pl.Float64, "a job zone 1-5").cast(pl.Int8),
    )

    cw = raw["crosswalk"].frame.select(soc_code=pl.col("O*NET-SOC Code"), nem_code=pl.col("NEM Code"))
    oews_raw = raw["oews"]
    oews = oews_raw.frame.select(
        bls_code=pl.col("soc2018"),
        bls_employment=_number("Employment"),
        bls_median_hourly_wage_usd=_number("Hourly median wage"),
        bls_median_annual_wage_usd=_number("Annual median wage"),
    ).unique("bls_code", keep="first")
    ms = raw["ms_scores"].frame.select(
        soc2018=pl.col("SOC Code"),
        ms_ai_applicability=parse_column(raw["ms_scores"], "ai_applicability_score", pl.Float64, "a number"),
    )
    ep_raw = raw["ep"]
    ep = (
        ep_raw.frame.filter(pl.col("Occupation type").str.strip_chars() == "Line item")
        .select(
            nem_code=pl.col("2024 National Employment Matrix code").str.strip_chars(),
            ep_employment_2024_thousands=_number("Employment, 2024"),
            ep_employment_change_2024_34_pct=_number("Employment change, percent, 2024–34"),
            ep_self_employed_2024_pct=_number("Percent self employed, 2024"),
            ep_openings_2024_34_annual_thousands=_number("Occupational openings, 2024–34 annual average"),
        )
        .unique("nem_code", keep="first")
    )

    counts = (
        tasks.filter(pl.col("onet_status") == "current")
        .group_by("soc_code")
        .agg(n_tasks=pl.len().cast(pl.Int32), n_tasks_labelled=pl.col("is_labelled").sum().cast(pl.Int32))
    )

    out = (
        base.join(zones, on="soc_code", how="left")
        .with_columns(soc2018=pl.col("soc_code").str.slice(0, 7))
        .join(cw, on="soc_code", how="left")
        .join(scores, on="soc_code", how="left")
        .with_columns(has_exposure_scores=pl.col("gpt4_alpha").is_not_null())
        .join(ms, on="soc2018", how="left")
    )
    # OEWS: the SOC 2018 detailed code first, else the NEM aggregate the crosswalk names
    by_detail = oews.rename({"bls_code": "soc2018"})
    out = out.join(by_detail, on="soc2018", how="left")
    fallback = oews.rename({"bls_code": "nem_code"}).rename(lambda c: c if c == "nem_code" else f"{c}__nem")
    out = (
        out.join(fallback, on="nem_code", how="left")
        .with_columns(
            bls_code=pl.when(
                pl.col("bls_employment").is_not_null() | pl.col("bls_median_hourly_wage_usd").is_not_null()
            )
            .then(pl.col("soc2018"))
            .when(pl.col("bls_employment__nem").is_not_null())
            .then(pl.col("nem_code")),
            **{
                c: pl.coalesce(c, f"{c}__nem")
                for c in ("bls_employment", "bls_median_hourly_wage_usd", "bls_median_annual_wage_usd")
            },
        )
        .drop(pl.col("^.*__nem$"))
    )
    out = (
        out.join(ep, on="nem_code", how="left")
        .join(counts, on="soc_code", how="left")
        .with_columns(pl.col("n_tasks").fill_null(0), pl.col("n_tasks_labelled").fill_null(0))
    )
    return out.select(
        "soc_code",
        "title",
        "description",
        "job_zone",
        "soc2018",
        "nem_code",
        "has_exposure_scores",
        *SCORE_COLUMNS,
        "ms_ai_applicability",
        *CONTEXT_COLUMNS[2:],  # soc2018 and nem_code come first, above
        "ep_openings_2024_34_annual_thousands",  # BLS EP: openings a year, for career-path outlooks
        "n_tasks",
        "n_tasks_labelled",
    ).sort("soc_code")


def _build_skills(raw: dict[str, RawFile]) -> pl.DataFrame:
    sk = raw["skills"]
    _check_soc(sk)
    values = sk.frame.select(
        soc_code=pl.col("O*NET-SOC Code"),
        element_id=pl.col("Element ID"),
        skill=pl.col("Element Name"),
        scale=pl.col("Scale ID"),
        value=parse_column(sk, "Data Value", pl.Float64, "a number"),
        not_relevant=pl.col("Not Relevant").str.strip_chars() == "Y",
    )
    wide = (
        values.filter(pl.col("scale").is_in(["IM", "LV"]))
        .with_columns(
            pl.when(pl.col("not_relevant").fill_null(False) & (pl.col("scale") == "LV"))
            .then(0.0)
            .otherwise(pl.col("value"))
            .alias("value")
        )
        .pivot(on="scale", index=["soc_code", "element_id", "skill"], values="value", aggregate_function="first")
        .rename({"IM": "importance", "LV": "level"})
    )
    return wide.select("soc_code", "element_id", "skill", "importance", "level").sort("soc_code", "element_id")


def _build_technology_skills(raw: dict[str, RawFile]) -> pl.DataFrame:
    tk = raw["technology_skills"]
    _check_soc(tk)
    return (
        tk.frame.select(
            soc_code=pl.col("O*NET-SOC Code"),
            technology=pl.col("Example").str.strip_chars(),
            commodity_code=parse_column(tk, "Commodity Code", pl.Int64, "an integer UNSPSC code"),
            commodity_title=pl.col("Commodity Title").str.strip_chars(),
            is_hot=pl.col("Hot Technology").str.strip_chars() == "Y",
            is_in_demand=pl.col("In Demand").str.strip_chars() == "Y",
        )
        .unique(["soc_code", "technology", "commodity_code"], keep="first")
        .sort("soc_code", "commodity_code", "technology")
    )


def _build_alternate_titles(raw: dict[str, RawFile]) -> pl.DataFrame:
    at = raw["alternate_titles"]
    _check_soc(at)
    return (
        at.frame.select(
            soc_code=pl.col("O*NET-SOC Code"),
            alternate_title=pl.col("Alternate Title").str.strip_chars(),
            short_title=pl.when(pl.col("Short Title").str.strip_chars() == "")
            .then(None)
            .otherwise(pl.col("Short Title").str.strip_chars()),
        )
        .unique(["soc_code", "alternate_title"], keep="first")
        .sort("soc_code", "alternate_title")
    )


def _build_task_activities(raw: dict[str, RawFile]) -> pl.DataFrame:
    td, dref = raw["tasks_to_dwas"], raw["dwa_reference"]
    links = td.frame.select(
        task_id=parse_column(td, "Task ID", pl.Float64, "a task id").cast(pl.Int64),
        soc_code=pl.col("O*NET-SOC Code"),
        dwa_id=pl.col("DWA ID"),
        dwa_title=pl.col("DWA Title").str.strip_chars(),
    )
    hierarchy = dref.frame.select(
        dwa_id=pl.col("DWA ID"),
        iwa_id=pl.col("IWA ID"),
        iwa_title=pl.col("IWA Title").str.strip_chars(),
        gwa_title=pl.col("Element Name").str.strip_chars(),
    ).unique("dwa_id")
    return (
        links.join(hierarchy, on="dwa_id", how="left")
        .unique(["task_id", "dwa_id"], keep="first")
        .sort("soc_code", "task_id", "dwa_id")
    )


def _build_oli_levels(raw: dict[str, RawFile]) -> pl.DataFrame:
    """The Online Labour Index by month and occupation class, long: month, occupation_class, level.

    The index counts new projects posted on the largest English-language platforms, 100 = May 2016
    (all classes together); each class's level is its contribution to that total.
    """
    rf = raw["oli_levels"]
    month = pl.col("date").str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    bad = rf.frame.with_row_index("row", offset=1).filter(month.is_null())
    if bad.height:
        raise InputError(
            bad.select(
                pl.col("row").cast(pl.Int64),
                column=pl.lit("date"),
                expected=pl.lit("a date YYYY-MM-DD"),
                got=pl.col("date").fill_null("<empty>"),
            ),
            source=str(rf.path),
        )
    levels = [parse_column(rf, c, pl.Float64, "a number >= 0").alias(c) for c in OLI_CLASSES]
    wide = rf.frame.select(month.alias("date"), *levels)
    negative = [c for c in OLI_CLASSES if (wide.get_column(c) < 0).any()]
    if negative:
        raise InputError.single(
            source=str(rf.path), column=negative[0], expected="a number >= 0", got="a negative value"
        )
    return (
        wide.rename({"date": "month"})
        .unpivot(index="month", variable_name="oli_class", value_name="level")
        .with_columns(occupation_class=pl.col("oli_class").replace_strict(OLI_CLASSES))
        .select("month", "occupation_class", "oli_class", "level")
        .sort("month", "occupation_class")
    )


def _frame_digest(frame: pl.DataFrame) -> str:
    """A content hash of the table's schema and CSV text, independent of Parquet encoding details."""
    h = hashlib.sha256(json.dumps({c: str(t) for c, t in frame.schema.items()}).encode())
    h.update(frame.write_csv().encode())
    return h.hexdigest()


def write_tables(tables: dict[str, pl.DataFrame], out_dir: str | os.PathLike[str]) -> Path:
    """Write derived tables and ``manifest.json`` to ``out_dir`` atomically (all or nothing)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".gigshift-build-", dir=out_dir))
    try:
        manifest: dict[str, object] = {"tables": {}}
        for name, frame in sorted(tables.items()):
            frame.write_parquet(staging / f"{name}.parquet", compression="zstd", compression_level=19, statistics=False)
            manifest["tables"][name] = {  # type: ignore[index]
                "file": f"{name}.parquet",
                "rows": frame.height,
                "columns": frame.columns,
                "content_sha256": _frame_digest(frame),
                "sources": [s.key for s in TABLE_SOURCES[name]],
                "licences": sorted({s.licence for s in TABLE_SOURCES[name]}),
            }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        for item in sorted(staging.iterdir()):
            os.replace(item, out_dir / item.name)
    finally:
        for leftover in staging.iterdir():
            leftover.unlink()
        staging.rmdir()
    return out_dir


def compare_with_shipped(tables: dict[str, pl.DataFrame]) -> list[str]:
    """Differences between freshly derived tables and the shipped ones (empty when identical)."""
    from gigshift.taxonomy._store import TABLE_NAMES, load_table

    problems: list[str] = []
    for name in TABLE_NAMES:
        if name not in tables:
            problems.append(f"{name}: not derived")
            continue
        shipped, fresh = load_table(name), tables[name]
        if shipped.schema != fresh.schema:
            problems.append(f"{name}: schema {dict(fresh.schema)} != shipped {dict(shipped.schema)}")
        elif shipped.height != fresh.height:
            problems.append(f"{name}: {fresh.height} rows != shipped {shipped.height}")
        elif not shipped.equals(fresh, null_equal=True):
            problems.append(f"{name}: same shape, different values")
    return problems
