"""Bias audits of the stored decision log, for auditors: group attributes joined in, small groups suppressed.

Protected attributes leave the database only here, and only as aggregates: a group with fewer than
``suppress_below`` workers (counted per attribute, and per cell of the intersection) has its value
replaced by "not disclosed" before :func:`gigshift.audit.audit` sees the table, so no section of
the report can describe it.
"""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from gigshift._errors import GigshiftError
from gigshift.server._models import AllocationRun, AuditReport, Decision, GroupAttribute
from gigshift.server._schemas import AuditIn
from gigshift.server._store import ApiError, record

INTERSECTION = "+"  # as gigshift.audit names intersections


def _suppress(frame: pl.DataFrame, column: str, *, k: int) -> pl.DataFrame:
    """Null out the values of ``column`` held by fewer than ``k`` distinct workers."""
    people = pl.col("worker_id").filter(pl.col(column).is_not_null()).n_unique().over(column)
    return frame.with_columns(pl.when(people >= k).then(pl.col(column)).otherwise(None).alias(column))


def decision_table(session: Session, *, organisation_id: int, body) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    """The decision log in scope, with the requested group attributes (only those workers gave)."""
    query = (
        sa.select(Decision.worker_id, Decision.is_selected, Decision.rank, Decision.score)
        .join(AllocationRun, AllocationRun.run_id == Decision.run_id)
        .where(AllocationRun.organisation_id == organisation_id, AllocationRun.status == "completed")
    )
    if body.run_id is not None:
        run = session.get(AllocationRun, body.run_id)
        if run is None or run.organisation_id != organisation_id:
            raise ApiError(404, f"run_id: no allocation run {body.run_id!r}", field="run_id")
        query = query.where(Decision.run_id == body.run_id)
    if body.since is not None:
        query = query.where(AllocationRun.finished_at >= body.since)
    if body.until is not None:
        query = query.where(AllocationRun.finished_at < body.until)
    rows = session.execute(query).all()
    schema = {"worker_id": pl.String, "is_selected": pl.Boolean, "rank": pl.Int64, "score": pl.Float64}
    decisions = pl.DataFrame(rows, schema=schema, orient="row")
    if decisions.height == 0:
        raise ApiError(422, "run_id: no completed allocation decisions in the chosen period or run", field="run_id")
    attrs = session.execute(
        sa.select(GroupAttribute.worker_id, GroupAttribute.attribute, GroupAttribute.value).where(
            GroupAttribute.attribute.in_(list(body.groups))
        )
    ).all()
    given = pl.DataFrame(
        attrs,
        schema={"worker_id": pl.String, "attribute": pl.String, "value": pl.String},
        orient="row",
    )
    wide = (
        given.pivot(on="attribute", index="worker_id", values="value")
        if given.height
        else pl.DataFrame(schema={"worker_id": pl.String})
    )
    for group in body.groups:
        if group not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.String).alias(group))
    table = decisions.join(wide.select("worker_id", *body.groups), on="worker_id", how="left")
    for group in body.groups:
        table = _suppress(table, group, k=body.suppress_below)
    if body.intersect and len(body.groups) > 1:
        name = INTERSECTION.join(body.groups)
        joined = pl.concat_str([pl.col(g) for g in body.groups], separator=INTERSECTION)  # null if any is null
        table = _suppress(table.with_columns(joined.alias(name)), name, k=body.suppress_below)
    return table


def run_audit(session: Session, *, actor, body) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """Audit, store the report, and return (audit id, the ``gigshift audit --json`` text)."""
    from gigshift.audit import audit

    table = decision_table(session, organisation_id=actor.organisation_id, body=body)
    wanted = list(body.groups)
    if body.intersect and len(wanted) > 1:
        wanted.append(INTERSECTION.join(body.groups))
    groups = [g for g in wanted if table.get_column(g).null_count() < table.height]
    left_out = [g for g in wanted if g not in groups]
    if not groups:
        raise ApiError(
            422,
            f"groups: no group of {', '.join(wanted)} has {body.suppress_below} or more workers with decisions; "
            "nothing can be shown without identifying people",
            field="groups",
        )
    description = body.description
    if left_out:
        note = f"Left out: {', '.join(left_out)} (every group under {body.suppress_below} workers)."
        description = f"{description} {note}".strip()
    scope = f"run {body.run_id}" if body.run_id else "all completed runs"
    try:
        result = audit(
            table,
            groups,
            selected="is_selected",
            person="worker_id" if body.count == "people" else None,
            rank="rank",
            exclude_small=body.exclude_small,
            min_n=body.min_n,
            n_bootstrap=body.n_bootstrap,
            seed=body.seed,
            audit_date=date.today(),
            source=f"gigshift server decision log ({scope})",
            description=description,
        )
    except GigshiftError as exc:
        raise ApiError(422, f"groups: {exc}", field="groups") from None
    text = result.to_json()
    params = json.loads(body.model_dump_json())
    report = AuditReport(
        organisation_id=actor.organisation_id, requested_by=actor.user_id, params=params, report_json=text
    )
    session.add(report)
    session.flush()
    record(
        session,
        organisation_id=actor.organisation_id,
        user_id=actor.user_id,
        action="audit.create",
        object_type="audit_report",
        object_id=str(report.id),
        detail={"groups": groups},
    )
    return report.id, text


def impact_over_time(
    session: Session, *, organisation_id: int, attribute: str, suppress_below: int = 10, n_runs: int = 20
) -> list[dict[str, object]]:
    """Selection rates and impact ratios on one attribute per completed run, oldest first.

    Each run is audited on its own, through the same path as an auditor's audit, so a group held
    by fewer than ``suppress_below`` workers *in that run* is not disclosed for that run.
    """
    from gigshift.audit import audit

    runs = session.execute(
        sa.select(AllocationRun.run_id, AllocationRun.finished_at, AllocationRun.policy_version)
        .where(AllocationRun.organisation_id == organisation_id, AllocationRun.status == "completed")
        .order_by(AllocationRun.finished_at.desc(), AllocationRun.run_id)
        .limit(n_runs)
    ).all()
    out: list[dict[str, object]] = []
    for run_id, finished_at, policy_version in reversed(runs):
        body = AuditIn(groups=[attribute], run_id=run_id, suppress_below=suppress_below, n_bootstrap=0)  # type: ignore[list-item]
        try:
            table = decision_table(session, organisation_id=organisation_id, body=body)
        except ApiError:  # a run that had nothing to decide
            continue
        hidden = table.filter(pl.col(attribute).is_null()).get_column("worker_id").n_unique()
        groups: list[dict[str, object]] = []
        if hidden < table.get_column("worker_id").n_unique():
            result = audit(
                table,
                [attribute],
                selected="is_selected",
                person="worker_id",
                min_n=body.min_n,
                n_bootstrap=0,
                audit_date=date.today(),
                source=f"gigshift server decision log (run {run_id})",
            )
            groups = (
                result.groups.select("category", "n", "n_selected", "rate", "impact_ratio").sort("category").to_dicts()
            )
        out.append(
            {
                "run_id": run_id,
                "finished_at": finished_at,
                "policy_version": policy_version,
                "n_not_disclosed": hidden,
                "groups": groups,
            }
        )
    return out
