"""Task-force meetings (会商研判) with their actions, and the notification outbox.

``meetings`` holds a meeting's date, title, attendees, topics and decisions;
``meeting_actions`` links each of its actions to the milestone that carries it on the
task's board. ``notification_outbox`` holds one row per (event key, channel): what to send,
where, and how far its delivery got (docs/decisions/0006-notifications.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("convened_by", sa.Text, nullable=False, server_default=""),
        sa.Column("attendees_json", sa.Text, nullable=False, server_default="[]"),
        sa.Column("topics_json", sa.Text, nullable=False, server_default="[]"),
        sa.Column("decisions_json", sa.Text, nullable=False, server_default="[]"),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("visibility", sa.Text, nullable=False, server_default="internal"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_index("ix_meetings_held_on", "meetings", ["held_on"])
    op.create_table(
        "meeting_actions",
        sa.Column("meeting_id", sa.Integer, sa.ForeignKey("meetings.id"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(
            "milestone_id", sa.Text, sa.ForeignKey("milestones.id"), nullable=False, unique=True
        ),
    )
    op.create_table(
        "notification_outbox",
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
        sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("claimed_at", sa.DateTime),
        sa.Column("claim_token", sa.Text),
        sa.Column("sent_at", sa.DateTime),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.UniqueConstraint("event_key", "channel", name="uq_outbox_event_channel"),
        sa.CheckConstraint(
            "status IN ('pending', 'retry', 'sending', 'sent', 'failed', 'uncertain')",
            name="ck_outbox_status",
        ),
    )
    op.create_index("ix_outbox_due", "notification_outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_due", "notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_table("meeting_actions")
    op.drop_index("ix_meetings_held_on", "meetings")
    op.drop_table("meetings")
