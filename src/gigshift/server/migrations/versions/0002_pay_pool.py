"""Pay pool: when each paid job was worked, and workers' consent to pool their pay records.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("work_started_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("work_ended_at", sa.DateTime(), nullable=True))
    op.create_table(
        "pay_pool_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("terms", sa.String(length=500), nullable=False),
        sa.Column("given_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["workers.worker_id"],
            name=op.f("fk_pay_pool_consents_worker_id_workers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pay_pool_consents")),
    )
    op.create_index(op.f("ix_pay_pool_consents_worker_id"), "pay_pool_consents", ["worker_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_pay_pool_consents_worker_id"), table_name="pay_pool_consents")
    op.drop_table("pay_pool_consents")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("work_ended_at")
        batch.drop_column("work_started_at")
