"""Initial schema: organisations, users, workers, tasks, bids, allocation runs, decisions, audits, activity.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "instance_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_instance_settings")),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index("ix_login_attempts_key_at", "login_attempts", ["key", "at"], unique=False)

    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("slug", name=op.f("uq_organisations_slug")),
    )
    op.create_table(
        "clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("country", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_clients_organisation_id_organisations")
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_clients")),
    )
    op.create_index(op.f("ix_clients_organisation_id"), "clients", ["organisation_id"], unique=False)

    op.create_table(
        "workers",
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("hourly_rate_usd", sa.Float(), nullable=True),
        sa.Column("rating", sa.Float(), nullable=True),
        sa.Column("n_jobs_completed", sa.Integer(), nullable=False),
        sa.Column("reliability", sa.Float(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("is_remote", sa.Boolean(), nullable=False),
        sa.Column("location", sa.String(length=100), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("hours_per_week", sa.Float(), nullable=True),
        sa.Column("is_available", sa.Boolean(), nullable=False),
        sa.Column("last_assigned_at", sa.DateTime(), nullable=True),
        sa.Column("n_batches_waiting", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_workers_capacity_non_negative")),
        sa.CheckConstraint("hourly_rate_usd > 0", name=op.f("ck_workers_rate_positive")),
        sa.CheckConstraint("n_jobs_completed >= 0", name=op.f("ck_workers_jobs_non_negative")),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_workers_rating_range")),
        sa.CheckConstraint("reliability BETWEEN 0 AND 1", name=op.f("ck_workers_reliability_range")),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_workers_organisation_id_organisations")
        ),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_workers")),
    )
    op.create_index(op.f("ix_workers_organisation_id"), "workers", ["organisation_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("role IN ('worker', 'client', 'operator', 'auditor')", name=op.f("ck_users_known_role")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.client_id"], name=op.f("fk_users_client_id_clients")),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_users_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.worker_id"], name=op.f("fk_users_worker_id_workers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("client_id", name=op.f("uq_users_client_id")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("worker_id", name=op.f("uq_users_worker_id")),
    )
    op.create_index(op.f("ix_users_organisation_id"), "users", ["organisation_id"], unique=False)

    op.create_table(
        "worker_group_attributes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("attribute", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("consented_at", sa.DateTime(), nullable=False),
        sa.Column("consent_purpose", sa.String(length=500), nullable=False),
        sa.CheckConstraint(
            "attribute IN ('sex', 'race_ethnicity', 'age_band', 'country')",
            name=op.f("ck_worker_group_attributes_known_attribute"),
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["workers.worker_id"],
            name=op.f("fk_worker_group_attributes_worker_id_workers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_group_attributes")),
        sa.UniqueConstraint("worker_id", "attribute", name="uq_worker_group_attributes_worker_attribute"),
    )
    op.create_table(
        "activity",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_activity_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_activity_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity")),
    )
    op.create_index(op.f("ix_activity_at"), "activity", ["at"], unique=False)

    op.create_table(
        "allocation_runs",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.String(length=100), nullable=False),
        sa.Column("policy_yaml", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("is_background", sa.Boolean(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("use_bids", sa.Boolean(), nullable=True),
        sa.Column("n_tasks", sa.Integer(), nullable=True),
        sa.Column("n_assigned", sa.Integer(), nullable=True),
        sa.Column("n_attempts", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'completed', 'failed')", name=op.f("ck_allocation_runs_known_status")
        ),
        sa.CheckConstraint("progress BETWEEN 0 AND 1", name=op.f("ck_allocation_runs_progress_range")),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_allocation_runs_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"], name=op.f("fk_allocation_runs_requested_by_users")),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_allocation_runs")),
        sa.UniqueConstraint("organisation_id", "idempotency_key", name="uq_allocation_runs_organisation_key"),
    )
    op.create_table(
        "audit_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("report_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_audit_reports_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"], name=op.f("fk_audit_reports_requested_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_reports")),
    )
    op.create_index(op.f("ix_audit_reports_organisation_id"), "audit_reports", ["organisation_id"], unique=False)

    op.create_table(
        "policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_policies_created_by_users")),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_policies_organisation_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sa.UniqueConstraint("organisation_id", "version", name="uq_policies_organisation_version"),
    )
    op.create_table(
        "tasks",
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("category_source", sa.String(length=16), nullable=False),
        sa.Column("required_skills", sa.JSON(), nullable=False),
        sa.Column("budget_usd", sa.Float(), nullable=False),
        sa.Column("expected_hours", sa.Float(), nullable=True),
        sa.Column("posted_at", sa.DateTime(), nullable=False),
        sa.Column("is_remote", sa.Boolean(), nullable=False),
        sa.Column("location", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("exposure_gpt4_beta", sa.Float(), nullable=True),
        sa.Column("exposure_human_beta", sa.Float(), nullable=True),
        sa.Column("lookup", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("status IN ('open', 'assigned', 'cancelled')", name=op.f("ck_tasks_known_status")),
        sa.CheckConstraint("budget_usd > 0", name=op.f("ck_tasks_budget_positive")),
        sa.CheckConstraint("expected_hours > 0", name=op.f("ck_tasks_hours_positive")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.client_id"], name=op.f("fk_tasks_client_id_clients")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_tasks_created_by_users")),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_tasks_organisation_id_organisations")
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_tasks")),
    )
    op.create_index(op.f("ix_tasks_client_id"), "tasks", ["client_id"], unique=False)
    op.create_index("ix_tasks_organisation_status", "tasks", ["organisation_id", "status"], unique=False)

    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("price_usd", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["allocation_runs.run_id"], name=op.f("fk_assignments_run_id_allocation_runs")
        ),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.task_id"], name=op.f("fk_assignments_task_id_tasks")),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.worker_id"], name=op.f("fk_assignments_worker_id_workers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
        sa.UniqueConstraint("task_id", name=op.f("uq_assignments_task_id")),
    )
    op.create_index(op.f("ix_assignments_run_id"), "assignments", ["run_id"], unique=False)
    op.create_index(op.f("ix_assignments_worker_id"), "assignments", ["worker_id"], unique=False)

    op.create_table(
        "bids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("price_usd", sa.Float(), nullable=False),
        sa.Column("bid_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("price_usd > 0", name=op.f("ck_bids_price_positive")),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.task_id"], name=op.f("fk_bids_task_id_tasks")),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.worker_id"], name=op.f("fk_bids_worker_id_workers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bids")),
        sa.UniqueConstraint("task_id", "worker_id", name="uq_bids_task_worker"),
    )
    op.create_index(op.f("ix_bids_worker_id"), "bids", ["worker_id"], unique=False)

    op.create_table(
        "decisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("policy_version", sa.String(length=100), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("is_selected", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("winner_worker_id", sa.String(length=64), nullable=True),
        sa.Column("is_bid", sa.Boolean(), nullable=False),
        sa.Column("n_required_skills", sa.Integer(), nullable=False),
        sa.Column("missing_skills", sa.JSON(), nullable=True),
        sa.Column("worker_n_jobs_completed", sa.Integer(), nullable=False),
        sa.Column("worker_capacity", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("skill_match", sa.Float(), nullable=False),
        sa.Column("price_fit", sa.Float(), nullable=False),
        sa.Column("rating", sa.Float(), nullable=False),
        sa.Column("reliability", sa.Float(), nullable=False),
        sa.Column("experience", sa.Float(), nullable=False),
        sa.Column("waiting", sa.Float(), nullable=False),
        sa.Column("opportunity_boost", sa.Float(), nullable=False),
        sa.Column("winner_score", sa.Float(), nullable=True),
        sa.Column("margin", sa.Float(), nullable=True),
        sa.Column("price_usd", sa.Float(), nullable=True),
        sa.Column("budget_usd", sa.Float(), nullable=True),
        sa.Column("expected_hours", sa.Float(), nullable=True),
        sa.Column("worker_rating", sa.Float(), nullable=True),
        sa.Column("worker_reliability", sa.Float(), nullable=True),
        sa.Column("worker_hourly_rate_usd", sa.Float(), nullable=True),
        sa.Column("winner_skill_match", sa.Float(), nullable=True),
        sa.Column("winner_price_fit", sa.Float(), nullable=True),
        sa.Column("winner_rating", sa.Float(), nullable=True),
        sa.Column("winner_reliability", sa.Float(), nullable=True),
        sa.Column("winner_experience", sa.Float(), nullable=True),
        sa.Column("winner_waiting", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["allocation_runs.run_id"], name=op.f("fk_decisions_run_id_allocation_runs")
        ),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.task_id"], name=op.f("fk_decisions_task_id_tasks")),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.worker_id"], name=op.f("fk_decisions_worker_id_workers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    op.create_index(op.f("ix_decisions_run_id"), "decisions", ["run_id"], unique=False)
    op.create_index("ix_decisions_task_run", "decisions", ["task_id", "run_id"], unique=False)
    op.create_index("ix_decisions_worker_run", "decisions", ["worker_id", "run_id"], unique=False)

    op.create_table(
        "explanations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=8), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("counterfactual", sa.Text(), nullable=True),
        sa.CheckConstraint("subject IN ('task', 'worker')", name=op.f("ck_explanations_known_subject")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["allocation_runs.run_id"], name=op.f("fk_explanations_run_id_allocation_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_explanations")),
        sa.UniqueConstraint("run_id", "subject", "subject_id", name="uq_explanations_run_subject"),
    )
    op.create_index("ix_explanations_subject", "explanations", ["subject", "subject_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("amount_usd", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'paid', 'failed')", name=op.f("ck_payments_known_status")),
        sa.CheckConstraint("amount_usd >= 0", name=op.f("ck_payments_amount_non_negative")),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.task_id"], name=op.f("fk_payments_task_id_tasks")),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.worker_id"], name=op.f("fk_payments_worker_id_workers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index(op.f("ix_payments_task_id"), "payments", ["task_id"], unique=False)
    op.create_index(op.f("ix_payments_worker_id"), "payments", ["worker_id"], unique=False)

    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name=op.f("ck_ratings_stars_range")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.client_id"], name=op.f("fk_ratings_client_id_clients")),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.task_id"], name=op.f("fk_ratings_task_id_tasks")),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.worker_id"], name=op.f("fk_ratings_worker_id_workers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ratings")),
        sa.UniqueConstraint("task_id", name=op.f("uq_ratings_task_id")),
    )
    op.create_index(op.f("ix_ratings_worker_id"), "ratings", ["worker_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_ratings_worker_id"), table_name="ratings")

    op.drop_table("ratings")
    op.drop_index(op.f("ix_payments_worker_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_task_id"), table_name="payments")

    op.drop_table("payments")
    op.drop_index("ix_explanations_subject", table_name="explanations")

    op.drop_table("explanations")
    op.drop_index("ix_decisions_worker_run", table_name="decisions")
    op.drop_index("ix_decisions_task_run", table_name="decisions")
    op.drop_index(op.f("ix_decisions_run_id"), table_name="decisions")

    op.drop_table("decisions")
    op.drop_index(op.f("ix_bids_worker_id"), table_name="bids")

    op.drop_table("bids")
    op.drop_index(op.f("ix_assignments_worker_id"), table_name="assignments")
    op.drop_index(op.f("ix_assignments_run_id"), table_name="assignments")

    op.drop_table("assignments")
    op.drop_index("ix_tasks_organisation_status", table_name="tasks")
    op.drop_index(op.f("ix_tasks_client_id"), table_name="tasks")

    op.drop_table("tasks")
    op.drop_table("policies")
    op.drop_index(op.f("ix_audit_reports_organisation_id"), table_name="audit_reports")

    op.drop_table("audit_reports")
    op.drop_table("allocation_runs")
    op.drop_index(op.f("ix_activity_at"), table_name="activity")

    op.drop_table("activity")
    op.drop_table("worker_group_attributes")
    op.drop_index(op.f("ix_users_organisation_id"), table_name="users")

    op.drop_table("users")
    op.drop_index(op.f("ix_workers_organisation_id"), table_name="workers")

    op.drop_table("workers")
    op.drop_index(op.f("ix_clients_organisation_id"), table_name="clients")

    op.drop_table("clients")
    op.drop_table("organisations")
    op.drop_index("ix_login_attempts_key_at", table_name="login_attempts")

    op.drop_table("login_attempts")
    op.drop_table("instance_settings")
