"""Tables. Indexed DICOM attributes are commented with their tag, name and VR (PS3.6)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Dialect, Index, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored and returned in UTC; SQLite would otherwise hand back naive datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class DicomFile(Base):
    """One uploaded DICOM file (a SOP instance), its stored blob and what was indexed at upload."""

    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # server-made UUID hex, also the blob key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))

    patient_id: Mapped[str | None] = mapped_column(String(64), index=True)  # (0010,0020) Patient ID, LO
    patient_name: Mapped[str | None] = mapped_column(String(324))  # (0010,0010) Patient's Name, PN
    study_instance_uid: Mapped[str | None] = mapped_column(String(64), index=True)  # (0020,000D) UI
    series_instance_uid: Mapped[str | None] = mapped_column(String(64), index=True)  # (0020,000E) UI
    sop_instance_uid: Mapped[str | None] = mapped_column(String(64), index=True)  # (0008,0018) UI
    sop_class_uid: Mapped[str | None] = mapped_column(String(64))  # (0008,0016) SOP Class UID, UI
    modality: Mapped[str | None] = mapped_column(String(16))  # (0008,0060) Modality, CS
    study_date: Mapped[str | None] = mapped_column(String(8))  # (0008,0020) Study Date, DA
    rows: Mapped[int | None] = mapped_column(Integer)  # (0028,0010) Rows, US
    columns: Mapped[int | None] = mapped_column(Integer)  # (0028,0011) Columns, US
    number_of_frames: Mapped[int | None] = mapped_column(Integer)  # (0028,0008) Number of Frames, IS
    transfer_syntax_uid: Mapped[str | None] = mapped_column(String(64))  # (0002,0010) Transfer Syntax UID, UI

    # Where Pixel Data sits, so it is described without being read and headers are read without it.
    header_length: Mapped[int] = mapped_column(BigInteger)
    pixel_data_tag: Mapped[int | None] = mapped_column(BigInteger)
    pixel_data_vr: Mapped[str | None] = mapped_column(String(2))
    pixel_data_length: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_files_created_at_id", "created_at", "id"),)
