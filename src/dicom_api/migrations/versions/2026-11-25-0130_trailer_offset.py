"""Files remember where elements after Pixel Data start, so those attributes answer too.

Revision ID: 0004_trailer_offset
Revises: 0003_render_leases
Create Date: 2026-11-25 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_trailer_offset"
down_revision = "0003_render_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("trailer_offset", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.drop_column("trailer_offset")
