"""What the uploader and the C-STORE receiver need of the store: which files a caller has, and the ingest."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from dicom_api.auth.tokens import Claims
from dicom_api.db.lookups import AccountState
from dicom_api.db.models import DicomFile
from dicom_api.db.repository import FileRepository
from dicom_api.services.audit import AuditEntry
from dicom_api.services.context import AppContext

MAX_LOOKUP = 1000  # checksums per lookup: one bounded IN query


def stored_checksums(session: Session, owner_id: str, checksums: Sequence[str]) -> list[str]:
    """Those of ``checksums`` (SHA-256, lower-case hex) that a file of the owner has, in the order asked."""
    found = FileRepository(session, owner_id).stored(list(dict.fromkeys(checksums)))
    return [c for c in dict.fromkeys(checksums) if c in found]


def ingest(
    context: AppContext,
    claims: Claims,
    staged: Path,
    size: int,
    sha256: str,
    caller: Callable[[AccountState], None],
    audit: Callable[[str], AuditEntry],
) -> DicomFile:
    """Validate, store, index and audit a staged file as an upload of ``claims``' account (``staged`` is consumed):
    the receiver's one way in, so that it stays the same path as POST /upload/dicom."""
    return context.ingest(claims, staged, size, sha256, caller, audit)
