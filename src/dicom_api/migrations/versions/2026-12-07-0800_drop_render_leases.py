"""Render leases go: a render is single-flight in process and, on PostgreSQL, under an advisory lock.

Revision ID: 0005_drop_render_leases
Revises: 0004_trailer_offset
Create Date: 2026-12-07 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dicom_api.db.models import UTCDateTime

revision = "0005_drop_render_leases"
down_revision = "0004_trailer_offset"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("render_leases")


def downgrade() -> None:
    op.create_table(
        "render_leases",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_render_leases")),
    )
