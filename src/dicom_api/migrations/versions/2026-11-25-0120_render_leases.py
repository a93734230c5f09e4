"""Render leases: one renderer per render key across every worker.

Revision ID: 0003_render_leases
Revises: 0002_users_audit
Create Date: 2026-11-25 01:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dicom_api.db.models import UTCDateTime

revision = "0003_render_leases"
down_revision = "0002_users_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "render_leases",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_render_leases")),
    )


def downgrade() -> None:
    op.drop_table("render_leases")
