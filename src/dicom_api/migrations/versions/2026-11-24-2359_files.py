"""The files table: one row per stored DICOM file, with its indexed attributes.

Revision ID: 0001_files
Revises:
Create Date: 2026-11-24 23:59:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_files"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=True),
        sa.Column("patient_name", sa.String(324), nullable=True),
        sa.Column("study_instance_uid", sa.String(64), nullable=True),
        sa.Column("series_instance_uid", sa.String(64), nullable=True),
        sa.Column("sop_instance_uid", sa.String(64), nullable=True),
        sa.Column("sop_class_uid", sa.String(64), nullable=True),
        sa.Column("modality", sa.String(16), nullable=True),
        sa.Column("study_date", sa.String(8), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("columns", sa.Integer(), nullable=True),
        sa.Column("number_of_frames", sa.Integer(), nullable=True),
        sa.Column("transfer_syntax_uid", sa.String(64), nullable=True),
        sa.Column("header_length", sa.BigInteger(), nullable=False),
        sa.Column("pixel_data_tag", sa.BigInteger(), nullable=True),
        sa.Column("pixel_data_vr", sa.String(2), nullable=True),
        sa.Column("pixel_data_length", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
    )
    for column in ("created_at", "patient_id", "study_instance_uid", "series_instance_uid", "sop_instance_uid"):
        op.create_index(op.f(f"ix_files_{column}"), "files", [column])
    op.create_index("ix_files_created_at_id", "files", ["created_at", "id"])


def downgrade() -> None:
    op.drop_table("files")
