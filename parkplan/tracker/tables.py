"""The tracker's tables as SQLAlchemy Core objects, for queries.

Created and changed only by the Alembic revisions ``0003_tracker`` and
``0004_meetings_notifications``; these definitions, on the one :data:`metadata`, mirror them
for :mod:`.repository`, :mod:`.journal`, :mod:`.meetings` and :mod:`.notify`, and are never
used to create tables. Dates are ``DATE``, moments ``TIMESTAMP`` without time zone in
Shanghai local time (UTC+8, no daylight saving), lists JSON text.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()


def _v() -> sa.Column:
    return sa.Column("version", sa.Integer, nullable=False)


users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("tasks_json", sa.Text, nullable=False),
    sa.Column("clearance", sa.Text, nullable=False),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    _v(),
)

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("title_zh", sa.Text, nullable=False),
    sa.Column("title_en", sa.Text, nullable=False),
    sa.Column("clause_zh", sa.Text, nullable=False),
    sa.Column("lead_unit", sa.Text, nullable=False),
    sa.Column("co_units_json", sa.Text, nullable=False),
    sa.Column("visibility", sa.Text, nullable=False),
    sa.Column("proposed", sa.Boolean, nullable=False),
    _v(),
)

milestones = sa.Table(
    "milestones",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("task", sa.Integer, nullable=False),
    sa.Column("title_zh", sa.Text, nullable=False),
    sa.Column("title_en", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("start", sa.Date, nullable=False),
    sa.Column("due", sa.Date, nullable=False),
    sa.Column("forecast", sa.Date, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("percent", sa.Integer, nullable=False),
    sa.Column("linked_site_id", sa.Text),
    sa.Column("visibility", sa.Text, nullable=False),
    sa.Column("proposed", sa.Boolean, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    _v(),
)

milestone_dependencies = sa.Table(
    "milestone_dependencies",
    metadata,
    sa.Column("milestone_id", sa.Text, primary_key=True),
    sa.Column("depends_on_id", sa.Text, primary_key=True),
)

evidence = sa.Table(
    "evidence",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("milestone_id", sa.Text, nullable=False),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("media_type", sa.Text, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("visibility", sa.Text, nullable=False),
    sa.Column("added_by", sa.Text, nullable=False),
    sa.Column("added_at", sa.DateTime, nullable=False),
)

kpis = sa.Table(
    "kpis",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("task", sa.Integer, nullable=False),
    sa.Column("name_zh", sa.Text, nullable=False),
    sa.Column("name_en", sa.Text, nullable=False),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("target", sa.Float),
    sa.Column("target_date", sa.Date),
    sa.Column("direction", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("visibility", sa.Text, nullable=False),
    sa.Column("proposed", sa.Boolean, nullable=False),
    _v(),
)

kpi_actuals = sa.Table(
    "kpi_actuals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kpi_id", sa.Text, nullable=False),
    sa.Column("on_date", sa.Date, nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("entered_by", sa.Text, nullable=False),
    sa.Column("entered_at", sa.DateTime, nullable=False),
)

risks = sa.Table(
    "risks",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("task", sa.Integer, nullable=False),
    sa.Column("title_zh", sa.Text, nullable=False),
    sa.Column("title_en", sa.Text, nullable=False),
    sa.Column("cause", sa.Text, nullable=False),
    sa.Column("effect", sa.Text, nullable=False),
    sa.Column("likelihood", sa.Integer, nullable=False),
    sa.Column("impact", sa.Integer, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("mitigation", sa.Text, nullable=False),
    sa.Column("tolerance", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("opened_on", sa.Date, nullable=False),
    sa.Column("reviewed_on", sa.Date),
    sa.Column("visibility", sa.Text, nullable=False),
    sa.Column("proposed", sa.Boolean, nullable=False),
    _v(),
)

escalations = sa.Table(
    "escalations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("esc_key", sa.Text, nullable=False),
    sa.Column("rule_id", sa.Text, nullable=False),
    sa.Column("level", sa.Text, nullable=False),
    sa.Column("subject_type", sa.Text, nullable=False),
    sa.Column("subject_id", sa.Text, nullable=False),
    sa.Column("task", sa.Integer),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("opened_at", sa.DateTime, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("visibility", sa.Text, nullable=False),
    _v(),
)

escalation_steps = sa.Table(
    "escalation_steps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("escalation_id", sa.Integer, nullable=False),
    sa.Column("step", sa.Text, nullable=False),
    sa.Column("who", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
)

major_matters = sa.Table(
    "major_matters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task", sa.Integer),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("what_happened", sa.Text, nullable=False),
    sa.Column("occurred_at", sa.DateTime, nullable=False),
    sa.Column("impact", sa.Text, nullable=False),
    sa.Column("measures", sa.Text, nullable=False),
    sa.Column("coordination_requested", sa.Text, nullable=False),
    sa.Column("opened_at", sa.DateTime, nullable=False),
    sa.Column("opened_by", sa.Text, nullable=False),
    sa.Column("report_deadline", sa.DateTime, nullable=False),
    sa.Column("reported_at", sa.DateTime),
    sa.Column("reported_by", sa.Text),
    sa.Column("reported_to", sa.Text),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("visibility", sa.Text, nullable=False),
    _v(),
)

baselines = sa.Table(
    "baselines",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("saved_at", sa.DateTime, nullable=False),
    sa.Column("saved_by", sa.Text, nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("snapshot_json", sa.Text, nullable=False),
)

journal = sa.Table(
    "journal",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("entity", sa.Text, nullable=False),
    sa.Column("entity_id", sa.Text, nullable=False),
    sa.Column("before_json", sa.Text),
    sa.Column("after_json", sa.Text),
    sa.Column("visibility", sa.Text, nullable=False),
)

#: The ``meetings`` table of migration 0004.
meetings = sa.Table(
    "meetings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("held_on", sa.Date, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("convened_by", sa.Text, nullable=False),
    sa.Column("attendees_json", sa.Text, nullable=False),
    sa.Column("topics_json", sa.Text, nullable=False),
    sa.Column("decisions_json", sa.Text, nullable=False),
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    sa.Column("visibility", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
#: The ``meeting_actions`` table: which milestone carries each action of a meeting.
meeting_actions = sa.Table(
    "meeting_actions",
    metadata,
    sa.Column("meeting_id", sa.Integer, primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("milestone_id", sa.Text, nullable=False),
)

#: The outbox of migration 0004.
notification_outbox = sa.Table(
    "notification_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_key", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("subject_type", sa.Text, nullable=False),
    sa.Column("subject_id", sa.Text, nullable=False),
    sa.Column("task", sa.Integer),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("visibility", sa.Text, nullable=False),
    sa.Column("idempotency_key", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    sa.Column("claimed_at", sa.DateTime),
    sa.Column("claim_token", sa.Text),
    sa.Column("sent_at", sa.DateTime),
    sa.Column("last_error", sa.Text, nullable=False),
)
