"""Remote AEs allowed to push to the C-STORE receiver; files found by owner and checksum (the uploader's lookup).

Revision ID: 0006_remote_aes
Revises: 0005_drop_render_leases
Create Date: 2026-12-07 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dicom_api.db.models import UTCDateTime

revision = "0006_remote_aes"
down_revision = "0005_drop_render_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remote_aes",
        sa.Column("ae_title", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_remote_aes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ae_title", name=op.f("pk_remote_aes")),
    )
    op.create_index(op.f("ix_remote_aes_user_id"), "remote_aes", ["user_id"])
    op.create_index(op.f("ix_files_owner_id_sha256"), "files", ["owner_id", "sha256"])


def downgrade() -> None:
    op.drop_index(op.f("ix_files_owner_id_sha256"), table_name="files")
    op.drop_index(op.f("ix_remote_aes_user_id"), table_name="remote_aes")
    op.drop_table("remote_aes")
