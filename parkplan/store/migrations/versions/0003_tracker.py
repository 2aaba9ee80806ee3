"""Pilot-programme tracker: tasks, milestones, risks, KPIs, evidence, escalations, major
matters, users, baselines and the append-only journal.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _version():
    return sa.Column("version", sa.Integer, nullable=False, server_default="1")


def _visibility(default: str):
    return sa.Column("visibility", sa.Text, nullable=False, server_default=default)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("display_name", sa.Text, nullable=False, server_default=""),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("tasks_json", sa.Text, nullable=False, server_default="[]"),
        sa.Column("clearance", sa.Text, nullable=False),
        sa.Column("unit", sa.Text, nullable=False, server_default=""),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        _version(),
    )
    op.create_table(
        "tasks",
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("code", sa.Text, nullable=False, unique=True),
        sa.Column("title_zh", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False, server_default=""),
        sa.Column("clause_zh", sa.Text, nullable=False),
        sa.Column("lead_unit", sa.Text, nullable=False),
        sa.Column("co_units_json", sa.Text, nullable=False, server_default="[]"),
        _visibility("public"),
        sa.Column("proposed", sa.Boolean, nullable=False, server_default=sa.false()),
        _version(),
        sa.CheckConstraint("number BETWEEN 1 AND 9", name="ck_tasks_number"),
    )
    op.create_table(
        "milestones",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("task", sa.Integer, sa.ForeignKey("tasks.number"), nullable=False, index=True),
        sa.Column("title_zh", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False, server_default=""),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("start", sa.Date, nullable=False),
        sa.Column("due", sa.Date, nullable=False),
        sa.Column("forecast", sa.Date, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("percent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("linked_site_id", sa.Text),
        _visibility("shareable"),
        sa.Column("proposed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        _version(),
        sa.CheckConstraint("due >= start", name="ck_milestones_due"),
        sa.CheckConstraint("percent BETWEEN 0 AND 100", name="ck_milestones_percent"),
    )
    op.create_table(
        "milestone_dependencies",
        sa.Column("milestone_id", sa.Text, sa.ForeignKey("milestones.id"), primary_key=True),
        sa.Column("depends_on_id", sa.Text, sa.ForeignKey("milestones.id"), primary_key=True),
    )
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "milestone_id", sa.Text, sa.ForeignKey("milestones.id"), nullable=False, index=True
        ),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("media_type", sa.Text, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        _visibility("shareable"),
        sa.Column("added_by", sa.Text, nullable=False),
        sa.Column("added_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "kpis",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("task", sa.Integer, sa.ForeignKey("tasks.number"), nullable=False, index=True),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False, server_default=""),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("target", sa.Float),
        sa.Column("target_date", sa.Date),
        sa.Column("direction", sa.Text, nullable=False, server_default="increase"),
        sa.Column("source", sa.Text, nullable=False, server_default="manual"),
        _visibility("shareable"),
        sa.Column("proposed", sa.Boolean, nullable=False, server_default=sa.false()),
        _version(),
    )
    op.create_table(
        "kpi_actuals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kpi_id", sa.Text, sa.ForeignKey("kpis.id"), nullable=False, index=True),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("entered_by", sa.Text, nullable=False),
        sa.Column("entered_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("kpi_id", "on_date", name="uq_kpi_actuals_date"),
    )
    op.create_table(
        "risks",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("task", sa.Integer, sa.ForeignKey("tasks.number"), nullable=False, index=True),
        sa.Column("title_zh", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False, server_default=""),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("effect", sa.Text, nullable=False),
        sa.Column("likelihood", sa.Integer, nullable=False),
        sa.Column("impact", sa.Integer, nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("mitigation", sa.Text, nullable=False, server_default=""),
        sa.Column("tolerance", sa.Integer, nullable=False, server_default="12"),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("opened_on", sa.Date, nullable=False),
        sa.Column("reviewed_on", sa.Date),
        _visibility("internal"),
        sa.Column("proposed", sa.Boolean, nullable=False, server_default=sa.false()),
        _version(),
        sa.CheckConstraint("likelihood BETWEEN 1 AND 5", name="ck_risks_likelihood"),
        sa.CheckConstraint("impact BETWEEN 1 AND 5", name="ck_risks_impact"),
    )
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("esc_key", sa.Text, nullable=False, unique=True),
        sa.Column("rule_id", sa.Text, nullable=False),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("subject_type", sa.Text, nullable=False),
        sa.Column("subject_id", sa.Text, nullable=False),
        sa.Column("task", sa.Integer),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        _visibility("internal"),
        _version(),
    )
    op.create_table(
        "escalation_steps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "escalation_id", sa.Integer, sa.ForeignKey("escalations.id"), nullable=False, index=True
        ),
        sa.Column("step", sa.Text, nullable=False),
        sa.Column("who", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "major_matters",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task", sa.Integer, sa.ForeignKey("tasks.number")),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("what_happened", sa.Text, nullable=False),
        sa.Column("occurred_at", sa.DateTime, nullable=False),
        sa.Column("impact", sa.Text, nullable=False),
        sa.Column("measures", sa.Text, nullable=False, server_default=""),
        sa.Column("coordination_requested", sa.Text, nullable=False, server_default=""),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("opened_by", sa.Text, nullable=False),
        sa.Column("report_deadline", sa.DateTime, nullable=False),
        sa.Column("reported_at", sa.DateTime),
        sa.Column("reported_by", sa.Text),
        sa.Column("reported_to", sa.Text),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        _visibility("internal"),
        _version(),
    )
    op.create_table(
        "baselines",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("saved_at", sa.DateTime, nullable=False),
        sa.Column("saved_by", sa.Text, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("snapshot_json", sa.Text, nullable=False),
    )
    op.create_table(
        "journal",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("entity", sa.Text, nullable=False),
        sa.Column("entity_id", sa.Text, nullable=False),
        sa.Column("before_json", sa.Text),
        sa.Column("after_json", sa.Text),
        _visibility("internal"),
    )
    op.create_index("ix_journal_entity", "journal", ["entity", "entity_id"])

    if op.get_bind().dialect.name == "postgresql":
        # The database itself keeps the journal append-only (docs/decisions/0004).
        op.execute("""
            CREATE FUNCTION parkplan_journal_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the journal is append-only: % on journal is refused', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END
            $$
        """)
        op.execute("""
            CREATE TRIGGER journal_no_update_delete BEFORE UPDATE OR DELETE ON journal
            FOR EACH ROW EXECUTE FUNCTION parkplan_journal_append_only()
        """)
        op.execute("""
            CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal
            FOR EACH STATEMENT EXECUTE FUNCTION parkplan_journal_append_only()
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS journal_no_truncate ON journal")
        op.execute("DROP TRIGGER IF EXISTS journal_no_update_delete ON journal")
        op.execute("DROP FUNCTION IF EXISTS parkplan_journal_append_only()")
    op.drop_index("ix_journal_entity", "journal")
    for table in (
        "journal",
        "baselines",
        "major_matters",
        "escalation_steps",
        "escalations",
        "risks",
        "kpi_actuals",
        "kpis",
        "evidence",
        "milestone_dependencies",
        "milestones",
        "tasks",
        "users",
    ):
        op.drop_table(table)
