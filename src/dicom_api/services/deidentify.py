"""De-identification as a use case: a stored file into a new file of the caller's, a stored file as a download,
a folder into a folder (the command line). The rules themselves are in dicom/deidentify.py.

Keys. Each user's UIDs are mapped under a key of their own, HMAC-SHA256(secret, user id, label): the same
original UID gives the same new UID for that user and label, so the files of one study de-identified one by
one still form one study, while another user (or another label of the same user, for a separate research
project) gets other UIDs that cannot be linked to the first. The secret is DICOM_API_DEIDENTIFY_SECRET, or on
the embedded set-up one generated and kept in the data folder, as the JWT secret is; changing it changes every
mapping. A secret rather than per-user keys in the database: no table to migrate, and one setting to back up.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from dicom_api.auth.tokens import load_or_create_secret
from dicom_api.config import Settings
from dicom_api.dicom.deidentify import Options, deidentify_file
from dicom_api.errors import AppError, InvalidParameter, NotConfigured
from dicom_api.services.accounts import Principal
from dicom_api.services.audit import AuditEntry
from dicom_api.services.context import AppContext
from dicom_api.services.files import StoredFile

SECRET_FILE = "deidentify-secret"  # noqa: S105 - a file name, not a secret
DEFAULT_LABEL = "default"
_LABEL = re.compile(r"[A-Za-z0-9._-]{1,64}")
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")


def user_key(secret: str, user_id: str, label: str | None = None) -> bytes:
    """The de-identification key of one user and label: HMAC-SHA256(secret, "deidentify", user id, label)."""
    label = label or DEFAULT_LABEL
    if not _LABEL.fullmatch(label):
        raise InvalidParameter("key must be 1 to 64 letters, digits, '.', '_' or '-'.")
    return hmac.new(secret.encode(), f"deidentify\0{user_id}\0{label}".encode(), hashlib.sha256).digest()


def deidentify_secret(settings: Settings) -> str:
    """DICOM_API_DEIDENTIFY_SECRET, or on the embedded set-up the one generated once in the data folder.
    Elsewhere hosts share a database but not a data folder: each would map UIDs its own way, so none does."""
    if settings.deidentify_secret:
        return settings.deidentify_secret
    if not settings.embedded:
        raise NotConfigured("De-identification needs DICOM_API_DEIDENTIFY_SECRET on this server.")
    return _stored_secret(settings.data_dir.resolve())


@lru_cache(maxsize=4)
def _stored_secret(data_dir: Path) -> str:
    return load_or_create_secret(data_dir, SECRET_FILE)


def options(names: list[str]) -> Options:
    """The options of PS3.15 Annex E named by a client; an unknown name is an InvalidParameter."""
    return Options.from_names(names)


def deidentify_stored(
    context: AppContext,
    principal: Principal,
    file_id: str,
    names: list[str],
    label: str | None,
    audit: Callable[[str], AuditEntry],
) -> StoredFile:
    """A de-identified copy of the caller's file, stored as a new file of theirs through the upload's own
    ingest (validated, indexed, audited). The audit entry names the source file: the access to patient data.
    Blocking: call it through ``RunBlocking``."""
    chosen = options(names)
    source = context.files.open(principal, file_id)
    key = user_key(deidentify_secret(context.settings), principal.claims.subject, label)
    staged = context.spool.folder / f"deid-{uuid.uuid4().hex}"
    try:
        with context.store.open(source.id) as src, staged.open("wb") as dst:
            deidentify_file(src, dst, key, chosen)
        size, sha256 = _size_and_digest(staged)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return context.files.ingest(principal, staged, size, sha256, lambda _new_id: audit(source.id))


def deidentified_bytes(
    context: AppContext, principal: Principal, file_id: str, names: list[str], label: str | None
) -> bytes:
    """The caller's file de-identified, in memory and not stored (a download). The file was bounded by the
    upload limit when it was stored, so the copy is too. Blocking: call it through ``RunBlocking``."""
    chosen = options(names)
    source = context.files.open(principal, file_id)
    key = user_key(deidentify_secret(context.settings), principal.claims.subject, label)
    out = io.BytesIO()
    with context.store.open(source.id) as src:
        deidentify_file(src, out, key, chosen)
    return out.getvalue()


def _size_and_digest(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fp:
        while chunk := fp.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _safe_name(uid: object) -> str:
    """A UID as a file name; anything else a UID may hold (with Retain UIDs, whatever the file said) hashed."""
    text = str(uid or "").strip()
    if _UID.fullmatch(text) and len(text) <= 64:
        return text
    return "x" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:32]


@dataclass
class FolderReport:
    """What ``deidentify_folder`` did: files written, and files left out with the reason (no patient data)."""

    written: int = 0
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def deidentify_folder(src: Path, dst: Path, key: bytes, options: Options) -> FolderReport:
    """Every DICOM file under ``src`` de-identified into ``dst``, named by its new UIDs
    (<study>/<series>/<instance>.dcm) so that no original name or path is carried over. A file that is not
    DICOM or is refused (burned-in annotation) is reported and skipped; one file at a time in memory."""
    report = FolderReport()
    dst.mkdir(parents=True, exist_ok=True)
    for path in _files(src, skip=dst):
        try:
            with path.open("rb") as fp:
                _write_into(fp, dst, key, options)
        except AppError as exc:
            report.skipped.append((path.relative_to(src), exc.message))
            continue
        report.written += 1
    return report


def _files(root: Path, skip: Path) -> Iterator[Path]:
    """The files under ``root`` in a stable order, less the output folder when it lies inside."""
    skip = skip.resolve()
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if (Path(folder) / d).resolve() != skip)
        for name in sorted(names):
            yield Path(folder) / name


def _write_into(fp: BinaryIO, dst: Path, key: bytes, options: Options) -> None:
    fd, name = tempfile.mkstemp(dir=dst, suffix=".tmp")
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            ds = deidentify_file(fp, out, key, options)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    study, series, instance = (
        _safe_name(ds.get(k)) for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
    )
    target = dst / study / series / f"{instance}.dcm"
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temp, target)
