"""Scenario ledger: every siting run, and its allocation as a GIS layer.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from parkplan.store import gpkg
from parkplan.store.geometry import GpkgGeometry, PostgisGeometry

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.create_table(
        "scenario_runs",
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("scenario_name", sa.Text, nullable=False),
        sa.Column("scenario_hash", sa.Text, nullable=False),
        sa.Column("scenario_yaml", sa.Text, nullable=False),
        sa.Column("layers_hash", sa.Text, nullable=False),
        sa.Column("solver", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("objective", sa.Float),
        sa.Column("bound", sa.Float),
        sa.Column("gap", sa.Float),
        sa.Column("seconds_build", sa.Float, nullable=False),
        sa.Column("seconds_solve", sa.Float, nullable=False),
        sa.Column("seconds_total", sa.Float, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("result_json", sa.Text, nullable=False),
        sa.Column("explanation_json", sa.Text),
        sa.Column("stale_reason", sa.Text),
        sa.Column("adopted", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "scenario_allocations",
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.Text,
            sa.ForeignKey("scenario_runs.run_id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("cand_id", sa.Text, nullable=False),
        sa.Column("site_id", sa.Text, nullable=False),
        sa.Column("park_id", sa.Text, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column(
            "geometry",
            GpkgGeometry("POINT") if sqlite else PostgisGeometry("POINT"),
            nullable=False,
        ),
    )
    if sqlite:
        gpkg.register(bind, "scenario_allocations", "POINT", "方案分配 Scenario allocations", None)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        gpkg.unregister(bind, "scenario_allocations")
    op.drop_table("scenario_allocations")
    op.drop_table("scenario_runs")
