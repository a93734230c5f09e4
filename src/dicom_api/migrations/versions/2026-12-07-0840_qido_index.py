"""Files carry the attributes QIDO-RS searches and returns; studies and series are their rows grouped.

Rows stored before this revision get their values from `dicom-api reindex` (run by `serve` at start), which
reads each stored header: a migration has no blob store. Until then their index_version is 0.

Revision ID: 0007_qido_index
Revises: 0006_remote_aes
Create Date: 2026-12-07 08:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_qido_index"
down_revision = "0006_remote_aes"
branch_labels = None
depends_on = None

_STRINGS = {
    "study_time": 16,
    "accession_number": 16,
    "referring_physician_name": 324,
    "referring_physician_name_upper": 324,
    "patient_name_upper": 324,
    "timezone_offset": 16,
    "study_description": 64,
    "patient_birth_date": 8,
    "patient_sex": 16,
    "study_id": 16,
    "series_date": 8,
    "series_time": 16,
    "series_description": 64,
    "pps_start_date": 8,
    "pps_start_time": 16,
}
_INTEGERS = ("series_number", "instance_number", "bits_allocated")


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("index_version", sa.Integer(), nullable=False, server_default="0"))
        for name, size in _STRINGS.items():
            batch.add_column(sa.Column(name, sa.String(size), nullable=True))
        for name in _INTEGERS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
        batch.create_index(
            "ix_files_owner_hierarchy", ["owner_id", "study_instance_uid", "series_instance_uid", "sop_instance_uid"]
        )
        batch.create_index("ix_files_owner_sop", ["owner_id", "sop_instance_uid"])
        batch.create_index("ix_files_index_version", ["index_version"])


def downgrade() -> None:
    with op.batch_alter_table("files") as batch:
        for index in ("ix_files_index_version", "ix_files_owner_sop", "ix_files_owner_hierarchy"):
            batch.drop_index(index)
        for name in (*_INTEGERS, *reversed(_STRINGS), "index_version"):
            batch.drop_column(name)
