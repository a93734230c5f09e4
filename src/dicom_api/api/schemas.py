"""Request and response bodies as the OpenAPI document shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ErrorOut(BaseModel):
    error: str = Field(examples=["No DICOM file with this id."])


class UploadOut(BaseModel):
    file_id: str = Field(pattern="^[0-9a-f]{32}$", examples=["3f2b8a61c9d04e7fa1b2c3d4e5f60718"])


class DeidentifyIn(BaseModel):
    """Options of PS3.15 Annex E for one de-identification; an empty body is the Basic Profile alone."""

    model_config = ConfigDict(extra="forbid")
    options: list[str] = Field(
        default_factory=list,
        max_length=16,
        description="Any of retain_full_dates, retain_modified_dates, retain_patient_characteristics, "
        "retain_device_identity, retain_institution_identity, retain_uids, retain_safe_private, clean_descriptors, "
        "clean_structured_content, and accept_burned_in (your word that the pixels show no identity).",
        examples=[["retain_patient_characteristics", "clean_descriptors"]],
    )
    key: str | None = Field(
        default=None,
        pattern="^[A-Za-z0-9._-]{1,64}$",
        description="A label of your own for a separate UID mapping (a research project); default: your default key.",
    )


class AttributeOut(BaseModel):
    tag: str = Field(examples=["(0010,0010)"])
    VR: str = Field(examples=["PN"])
    name: str = Field(examples=["Patient's Name"])
    keyword: str | None = Field(default=None, examples=["PatientName"])
    value: Any = Field(
        description="Numbers for numeric VRs, a list when VM > 1, SQ as a list of items "
        "(objects keyed by 8-digit tag), binary as base64 up to 64 KiB, else null.",
        examples=["Doe^John"],
    )
    length: int | None = Field(default=None, description="Bytes of a binary value (always for binary VRs).")


class HeaderAttributeOut(BaseModel):
    header_attributes: AttributeOut


class FileOut(BaseModel):
    file_id: str
    created_at: datetime
    size_bytes: int
    sha256: str
    patient_id: str | None
    patient_name: str | None
    study_instance_uid: str | None
    series_instance_uid: str | None
    sop_instance_uid: str | None
    sop_class_uid: str | None
    modality: str | None
    study_date: str | None
    rows: int | None
    columns: int | None
    number_of_frames: int | None
    transfer_syntax_uid: str | None
    has_image: bool = Field(description="Whether the file carries Pixel Data that can be rendered.")


class FileListOut(BaseModel):
    items: list[FileOut]
    total: int
    limit: int
    offset: int


class HealthOut(BaseModel):
    status: str = Field(examples=["ok"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str = Field(description="Exchange at POST /auth/refresh for a new pair; single use.")


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class RegisterIn(BaseModel):
    username: str = Field(min_length=3, max_length=64, examples=["jdoe"])
    password: str = Field(min_length=12, max_length=1024)


class UserCreateIn(RegisterIn):
    role: Literal["user", "admin"] = "user"


class UserPatchIn(BaseModel):
    is_active: bool | None = None
    role: Literal["user", "admin"] | None = None
    password: str | None = Field(default=None, min_length=12, max_length=1024)


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=12, max_length=1024)


class UserOut(BaseModel):
    id: str
    username: str
    role: str
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class UserListOut(BaseModel):
    items: list[UserOut]
    total: int
    limit: int
    offset: int


class AuditEventOut(BaseModel):
    seq: int
    at: datetime
    user_id: str | None
    username: str | None
    action: str
    file_id: str | None
    client: str | None
    outcome: str
    status: int
    request_id: str | None
    token_id: str | None = Field(description="The personal access token used (or created, or revoked), if any.")
    share_id: str | None = Field(description="The share link used (or created, or revoked), if any.")
    hash: str


class AuditListOut(BaseModel):
    items: list[AuditEventOut]
    total: int
    limit: int
    offset: int


class PersonalTokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$", examples=["orthanc-sync"])
    scope: Literal["read", "write"] = Field(description="read: query and download; write: also store and delete.")
    expires_in_days: int | None = Field(
        default=None, ge=1, description="Lifetime in days, up to the service's maximum; default 90 (or the maximum)."
    )


class PersonalTokenOut(BaseModel):
    id: str
    name: str
    scope: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None = Field(description="The last use, to the minute.")


class PersonalTokenCreatedOut(PersonalTokenOut):
    token: str = Field(
        description="The secret: shown this once. Send it as `Authorization: Bearer <token>`, or as the "
        "password of HTTP Basic with your username."
    )


class PersonalTokenListOut(BaseModel):
    items: list[PersonalTokenOut]


class JobOut(BaseModel):
    id: str
    kind: str = Field(examples=["deidentify"])
    state: str = Field(description="queued, running, done or failed.")
    done: int = Field(description="Items processed so far (instances, for a de-identification).")
    total: int
    created_at: datetime
    finished_at: datetime | None
    error: str | None = Field(description="Why the whole job failed, when it did.")
    result: dict[str, Any] | None = Field(
        description="When done: for a de-identification, the copies' study_uid (study_uids when the files were of "
        "several studies), their file_ids, and errors: [{file_id, error}] for the instances refused."
    )


class JobStartedOut(BaseModel):
    job_id: str
    status_url: str = Field(examples=["/jobs/3f2b8a61c9d04e7fa1b2c3d4e5f60718"])


class ShareIn(DeidentifyIn):
    """What to share: a study, a series of a study, or files (all yours), for how long, and how."""

    study_uid: str | None = Field(default=None, pattern=r"^[0-9.]{1,64}$")
    series_uid: str | None = Field(default=None, pattern=r"^[0-9.]{1,64}$", description="With study_uid.")
    file_ids: list[str] | None = Field(default=None, min_length=1, max_length=10_000)
    expires_in: int = Field(ge=60, description="Seconds until the link stops working (at most the server's maximum).")
    deidentify: bool = Field(
        default=False,
        description="Share de-identified copies (made by a job, with options and key as for one file) instead "
        "of the files themselves.",
    )
    passcode: str | None = Field(
        default=None,
        min_length=8,
        max_length=256,
        description="A passcode the holder must also send (X-Share-Passcode, or the password of HTTP Basic).",
    )

    @model_validator(mode="after")
    def _one_target(self) -> ShareIn:
        if (self.study_uid is None) == (self.file_ids is None):
            raise ValueError("name either study_uid (and optionally series_uid) or file_ids")
        if self.series_uid is not None and self.study_uid is None:
            raise ValueError("series_uid needs its study_uid")
        return self


class ShareOut(BaseModel):
    id: str
    kind: str = Field(description="study, series or files.")
    deidentified: bool
    passcode: bool = Field(description="Whether the link needs a passcode.")
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    files: int = Field(description="Files the link opens (0 while its de-identified copies are made).")
    uses: int = Field(description="Requests answered through the link (the audit trail's entries with its id).")
    job: str | None = Field(description="The status URL of the de-identification that makes its copies.")


class ShareCreatedOut(BaseModel):
    id: str
    token: str = Field(
        description="The secret: shown this once. Send it as `Authorization: Bearer <token>` (and the passcode "
        "as X-Share-Passcode), or as the username of HTTP Basic with the passcode as the password."
    )
    url: str = Field(description="The link to hand over; GET /shared with the token lists what it opens.")
    expires_at: datetime
    job: str | None = Field(default=None, description="For a de-identified share: the status URL of its job.")


class ShareListOut(BaseModel):
    items: list[ShareOut]


class ShareDetailOut(ShareOut):
    recent_uses: list[AuditEventOut] = Field(description="The latest audit entries with the share's id.")


class SharedFileOut(BaseModel):
    file_id: str
    study_instance_uid: str | None
    series_instance_uid: str | None
    sop_instance_uid: str | None
    modality: str | None
    png: str | None = Field(description="Its image as PNG (GET), when it has one.")
    dicom: str


class SharedOut(BaseModel):
    share_id: str
    expires_at: datetime
    deidentified: bool
    dicomweb: str = Field(description="The DICOMweb root a viewer opens, with the token as its bearer token.")
    files: list[SharedFileOut]
