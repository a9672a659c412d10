"""Allocation policy versions: list them, make a new one from the active one, activate one.

A version is stored as the YAML of a checked :class:`gigshift.allocate.Policy`, so a new version is
validated by the engine's own rules (``Policy.from_dict``), whose messages name the key at fault.
Versions are never edited or deleted: runs and decision-log rows refer to them by name. While no
version is stored, the shipped default is the active policy; activating it stores it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gigshift._errors import GigshiftError
from gigshift.server._allocations import active_policy
from gigshift.server._models import AllocationRun, PolicyVersion
from gigshift.server._store import ApiError, now, record

_KEY = re.compile(r"'([a-z_]+(?:\.[a-z_]+)?)'")


def _summary(policy, *, is_active: bool, is_stored: bool, created_at: datetime | None, n_runs: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "version": policy.version,
        "description": policy.description,
        "is_active": is_active,
        "is_stored": is_stored,
        "created_at": created_at,
        "n_runs": n_runs,
        "weights": dict(policy.weights),
        "mode": policy.mode,
        "fairness_attribute": policy.fairness_attribute,
        "min_impact_ratio": policy.min_impact_ratio,
        "min_group_share": policy.min_group_share,
    }


def list_policies(session: Session, organisation_id: int) -> list[dict[str, Any]]:
    """Every stored version, newest first; the shipped default too while it is not stored."""
    from gigshift.allocate import Policy, default_policy

    rows = session.execute(
        sa.select(PolicyVersion)
        .where(PolicyVersion.organisation_id == organisation_id)
        .order_by(PolicyVersion.created_at.desc(), PolicyVersion.id.desc())
    ).scalars()
    runs = dict(
        session.execute(
            sa.select(AllocationRun.policy_version, sa.func.count())
            .where(AllocationRun.organisation_id == organisation_id)
            .group_by(AllocationRun.policy_version)
        ).all()
    )
    out = []
    for row in rows:
        policy = Policy.from_yaml(row.yaml, source=f"policy {row.version}")
        out.append(
            _summary(
                policy,
                is_active=row.is_active,
                is_stored=True,
                created_at=row.created_at,
                n_runs=runs.get(row.version, 0),
            )
        )
    shipped = default_policy()
    if all(p["version"] != shipped.version for p in out):
        is_active = not any(p["is_active"] for p in out)
        out.append(
            _summary(
                shipped, is_active=is_active, is_stored=False, created_at=None, n_runs=runs.get(shipped.version, 0)
            )
        )
    return out


def _field_of(message: str) -> str:
    """The policy key an engine message names (``'weights.rating' must be ...``), else ``policy``."""
    found = _KEY.search(message)
    return found.group(1) if found else "policy"


def create_policy(session: Session, *, actor, body) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A new version: the active policy with the weights, fairness options and solver mode the body changes."""
    from gigshift.allocate import Policy, default_policy

    taken = session.execute(
        sa.select(PolicyVersion.id).where(
            PolicyVersion.organisation_id == actor.organisation_id, PolicyVersion.version == body.version
        )
    ).first()
    if taken is not None or body.version == default_policy().version:
        raise ApiError(
            409, f"version: a policy version {body.version!r} exists already; name a new one", field="version"
        )
    base = active_policy(session, actor.organisation_id)
    data = base.to_dict()
    data["version"] = body.version
    # The base's description would describe another policy; a new version says where it came from.
    data["description"] = body.description or f"Made from {base.version}."
    data["weights"] = {**data["weights"], **body.weights}
    if body.mode is not None:
        data["solver"] = {"mode": body.mode}
    if body.fairness is not None:
        given = body.fairness.model_dump(include=body.fairness.model_fields_set)
        data["fairness"] = {**data["fairness"], **given}
    try:
        policy = Policy.from_dict(data, source=f"policy {body.version}")
    except GigshiftError as exc:
        raise ApiError(422, str(exc), field=_field_of(str(exc))) from None
    stamp = now()
    row = PolicyVersion(
        organisation_id=actor.organisation_id,
        version=policy.version,
        yaml=policy.to_yaml(),
        is_active=False,
        created_by=actor.user_id,
        created_at=stamp,
    )
    session.add(row)
    session.flush()
    record(
        session,
        organisation_id=actor.organisation_id,
        user_id=actor.user_id,
        action="policy.create",
        object_type="policy",
        object_id=policy.version,
        detail={"from": base.version},
    )
    if body.activate:
        activate_policy(session, actor=actor, version=policy.version)
    return _summary(policy, is_active=row.is_active, is_stored=True, created_at=stamp, n_runs=0)


def activate_policy(session: Session, *, actor, version: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Make ``version`` the one new runs use (the others stay stored, inactive)."""
    from gigshift.allocate import Policy, default_policy

    org = actor.organisation_id
    row = session.execute(
        sa.select(PolicyVersion).where(PolicyVersion.organisation_id == org, PolicyVersion.version == version)
    ).scalar_one_or_none()
    if row is None:
        shipped = default_policy()
        if version != shipped.version:
            raise ApiError(404, f"version: no policy version {version!r}", field="version")
        row = PolicyVersion(organisation_id=org, version=version, yaml=shipped.to_yaml(), created_at=now())
        session.add(row)
    # Cleared and set in the caller's one transaction: no reader sees two active versions, or none.
    session.execute(
        sa.update(PolicyVersion)
        .where(PolicyVersion.organisation_id == org, PolicyVersion.version != version)
        .values(is_active=False)
        .execution_options(synchronize_session=False)
    )
    row.is_active = True
    session.flush()
    record(
        session,
        organisation_id=org,
        user_id=actor.user_id,
        action="policy.activate",
        object_type="policy",
        object_id=version,
    )
    policy = Policy.from_yaml(row.yaml, source=f"policy {version}")
    n_runs = session.execute(
        sa.select(sa.func.count())
        .select_from(AllocationRun)
        .where(AllocationRun.organisation_id == org, AllocationRun.policy_version == version)
    ).scalar_one()
    return _summary(policy, is_active=True, is_stored=True, created_at=row.created_at, n_runs=n_runs)
