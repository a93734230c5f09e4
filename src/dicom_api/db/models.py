"""Tables. Indexed DICOM attributes are commented with their tag, name and VR (PS3.6)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Dialect, ForeignKey, Index, Integer, MetaData, String, Text
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
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)  # naive means UTC

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
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
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
    # Where elements after Pixel Data start (e.g. Data Set Trailing Padding), when there are any.
    trailer_offset: Mapped[int | None] = mapped_column(BigInteger)

    # Searched by QIDO-RS (PS3.18 10.6); study and series rows are these grouped, so they cannot disagree.
    index_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # see services/reindex.py
    study_time: Mapped[str | None] = mapped_column(String(16))  # (0008,0030) Study Time, TM
    accession_number: Mapped[str | None] = mapped_column(String(16))  # (0008,0050) Accession Number, SH
    referring_physician_name: Mapped[str | None] = mapped_column(String(324))  # (0008,0090) PN
    referring_physician_name_upper: Mapped[str | None] = mapped_column(String(324))  # the same, for matching
    patient_name_upper: Mapped[str | None] = mapped_column(String(324))  # (0010,0010) upper case, for matching
    timezone_offset: Mapped[str | None] = mapped_column(String(16))  # (0008,0201) Timezone Offset From UTC, SH
    study_description: Mapped[str | None] = mapped_column(String(64))  # (0008,1030) Study Description, LO
    patient_birth_date: Mapped[str | None] = mapped_column(String(8))  # (0010,0030) Patient's Birth Date, DA
    patient_sex: Mapped[str | None] = mapped_column(String(16))  # (0010,0040) Patient's Sex, CS
    study_id: Mapped[str | None] = mapped_column(String(16))  # (0020,0010) Study ID, SH
    series_date: Mapped[str | None] = mapped_column(String(8))  # (0008,0021) Series Date, DA
    series_time: Mapped[str | None] = mapped_column(String(16))  # (0008,0031) Series Time, TM
    series_description: Mapped[str | None] = mapped_column(String(64))  # (0008,103E) Series Description, LO
    series_number: Mapped[int | None] = mapped_column(Integer)  # (0020,0011) Series Number, IS
    pps_start_date: Mapped[str | None] = mapped_column(String(8))  # (0040,0244) Performed Procedure Step Start Date
    pps_start_time: Mapped[str | None] = mapped_column(String(16))  # (0040,0245) ... Start Time, TM
    instance_number: Mapped[int | None] = mapped_column(Integer)  # (0020,0013) Instance Number, IS
    bits_allocated: Mapped[int | None] = mapped_column(Integer)  # (0028,0100) Bits Allocated, US

    __table_args__ = (
        Index("ix_files_created_at_id", "created_at", "id"),
        Index("ix_files_owner_id_sha256", "owner_id", "sha256"),  # which of these files does the caller have
        # QIDO-RS: an owner's studies, series and instances in order; STOW-RS: an owner's SOP instance.
        Index("ix_files_owner_hierarchy", "owner_id", "study_instance_uid", "series_instance_uid", "sop_instance_uid"),
        Index("ix_files_owner_sop", "owner_id", "sop_instance_uid"),
        Index("ix_files_index_version", "index_version"),
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # "user" or "admin"
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    token_version: Mapped[int] = mapped_column(Integer, default=0)  # bumped to invalidate issued tokens
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RefreshToken(Base):
    """Opaque refresh tokens, stored as SHA-256; rotated on use. A family shares one login: reuse of a
    rotated token revokes the whole family (it was stolen, or the client is broken)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PersonalToken(Base):
    """A personal access token, stored as SHA-256 (auth/personal_tokens.py). It carries the account's token
    version at its creation: a password change or a disabling bumps the account's, and it stops working."""

    __tablename__ = "personal_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # server-made UUID hex, shown and audited
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(8))  # "read" or "write"
    user_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginFailure(Base):
    """Failed logins, kept in the database so the throttle holds across worker processes."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))  # "user:<name>" or "addr:<client address>"
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)


class AuditEvent(Base):
    """Append-only record of every access to patient data; each entry's hash chains to the previous one."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    user_id: Mapped[str | None] = mapped_column(String(32), index=True)
    username: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32), index=True)
    file_id: Mapped[str | None] = mapped_column(String(32), index=True)
    client: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    status: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(64))
    token_id: Mapped[str | None] = mapped_column(String(32), index=True)  # the personal token used, if any
    share_id: Mapped[str | None] = mapped_column(String(32), index=True)  # the share link used (or made), if any
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """One row: the chain's last sequence number and hash. Updating it first serialises appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class RemoteAE(Base):
    """A DICOM application entity allowed to push instances to the C-STORE receiver (PS3.7 9.1.1), and the
    account whose store receives them. Registered by an admin; any other calling AE title is rejected."""

    __tablename__ = "remote_aes"

    ae_title: Mapped[str] = mapped_column(String(16), primary_key=True)  # Calling AE Title (PS3.8 9.3.2), AE
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    host: Mapped[str | None] = mapped_column(String(255))  # when set, associations only from this address
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Job(Base):
    """Work that outlives its request (a study de-identified), run by one process's job pool; its state is
    here, so any process answers its status. ``heartbeat_at`` is touched while the owning process lives: a
    job whose heartbeat stopped was interrupted (services/jobs.py)."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # server-made UUID hex
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))  # queued, running, done, failed
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str | None] = mapped_column(Text)  # JSON: what the job made, and its errors per item
    error: Mapped[str | None] = mapped_column(String(255))  # why the whole job failed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Share(Base):
    """A share link: read-only access to a fixed set of its owner's files until it expires or is revoked.
    The token is stored as SHA-256, the optional passcode as argon2 (services/shares.py)."""

    __tablename__ = "shares"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # server-made UUID hex, shown and audited
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    passcode_hash: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8))  # study, series or files: what the owner chose
    deidentified: Mapped[bool] = mapped_column(Boolean, default=False)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))  # the de-identification
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # written at most once a minute


class ShareFile(Base):
    """A file a share opens. Fixed when the share is made (or when its de-identification finishes): a file the
    owner adds to the study later is not shared."""

    __tablename__ = "share_files"

    share_id: Mapped[str] = mapped_column(ForeignKey("shares.id", ondelete="CASCADE"), primary_key=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), primary_key=True, index=True)
