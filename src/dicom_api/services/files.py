"""The read path, and the file use cases: every route that reads or changes a file comes through here."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from dicom_api.db.lookups import Lookups
from dicom_api.db.models import DicomFile, User
from dicom_api.db.repository import FileRepository
from dicom_api.dicom.attributes import bulk_element_json, dicom_json_model, element_json, find_element, parse_tag_part
from dicom_api.dicom.inspect import DicomSummary, Header, PixelDataInfo, inspect_dicom
from dicom_api.dicom.render import render_header
from dicom_api.errors import AttributeNotFound, FileNotFound
from dicom_api.services.accounts import Principal, check_account
from dicom_api.services.audit import AuditEntry, AuditLog
from dicom_api.services.headers import HeaderCache
from dicom_api.services.qido import INDEX_VERSION, indexed_columns
from dicom_api.services.rendering import RENDERS
from dicom_api.storage import BlobStore

StoredFile = DicomFile  # what the routes are handed: the files table's row, detached
CHUNK = 1024 * 1024  # bytes of a stored file read at a time when it is sent
Transaction = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class Admission:
    """What an ingest's ``admit`` decided once the file was read: ``existing`` when the same bytes are stored
    already (nothing is stored again), ``replaces`` the ids of files the new one replaces, removed in the
    transaction that adds it. To refuse the file, ``admit`` raises."""

    existing: StoredFile | None = None
    replaces: tuple[str, ...] = ()


Admit = Callable[[User, DicomSummary], Admission]


def parse_tag(group: str, element: str) -> int:
    """A tag from its group and element as a client writes them (four hex digits each, optional 0x)."""
    return parse_tag_part(group, "tag_group") << 16 | parse_tag_part(element, "tag_element")


class Files:
    """A bearer's files. Each method checks the account first (``check_account``), then sees only what
    that account uploaded: another's file is the same 404 as a missing one. Blocking: call it through
    ``RunBlocking``."""

    def __init__(
        self, lookups: Lookups, store: BlobStore, headers: HeaderCache, transaction: Transaction, audit: AuditLog
    ) -> None:
        self.lookups = lookups
        self.store = store
        self.headers = headers
        self.transaction = transaction
        self.audit = audit

    def account(self, principal: Principal) -> User:
        """The bearer's account, checked."""
        found, _ = self.lookups.account_and_file(principal.claims.subject, None)
        return check_account(found, principal)

    def open(self, principal: Principal, file_id: str) -> StoredFile:
        """The bearer's file, or FileNotFound; one database read for both the account and the file."""
        found, row = self.lookups.account_and_file(principal.claims.subject, file_id if _is_file_id(file_id) else None)
        check_account(found, principal)
        if row is None:
            raise FileNotFound()
        return row

    def attribute(self, principal: Principal, file_id: str, tag: int) -> dict[str, Any]:
        """One attribute, from the header or (Pixel Data) from what was indexed at upload."""
        row = self.open(principal, file_id)
        if row.pixel_data_tag is not None and tag == row.pixel_data_tag:
            return bulk_element_json(tag, row.pixel_data_vr or "OB", row.pixel_data_length or 0)
        ds = self.header(row)
        try:
            return element_json(find_element(ds, tag))
        except AttributeNotFound:
            raise
        except Exception:  # a malformed value is reported as such, not as a server error
            raise AttributeNotFound("The attribute exists but its value cannot be read.") from None

    def dicom_json(self, principal: Principal, file_id: str) -> dict[str, Any]:
        """The whole header in the DICOM JSON Model (PS3.18 F.2), bulk data left out."""
        row = self.open(principal, file_id)
        ds = self.header(row)
        model = dicom_json_model(ds.file_meta) if ds.file_meta else {}
        model.update(dicom_json_model(ds))
        if row.pixel_data_tag is not None:
            model[f"{row.pixel_data_tag:08X}"] = {"vr": row.pixel_data_vr}
        return {key: model[key] for key in sorted(model)}

    def header(self, row: StoredFile) -> Header:
        """Everything but Pixel Data: the bytes before it, and those after it when the file has any."""
        size = row.size_bytes
        trailer = None if row.trailer_offset is None else (row.trailer_offset, size - row.trailer_offset)
        return self.headers.get(row.id, row.header_length, trailer)

    def content(self, row: StoredFile) -> Iterator[bytes]:
        """The stored file's bytes in chunks, the blob opened now: a store that is down fails here, before
        an answer starts, not in the middle of its body."""
        opened = contextlib.ExitStack()
        fp = opened.enter_context(self.store.open(row.id))

        def chunks() -> Iterator[bytes]:
            with opened:
                while chunk := fp.read(CHUNK):
                    yield chunk

        return chunks()

    def list(self, principal: Principal, limit: int, offset: int) -> tuple[Sequence[StoredFile], int]:
        account = self.account(principal)
        with self.transaction() as session:
            files = FileRepository(session, account.id)
            return files.list(limit=limit, offset=offset), files.count()

    def ingest(
        self,
        principal: Principal,
        staged: Path,
        size: int,
        sha256: str,
        audit: Callable[[str], AuditEntry],
        admit: Admit | None = None,
    ) -> StoredFile:
        """Validate the spooled upload, store it (blob first, then the row) and index it. ``staged`` is always
        consumed. Returns once the row and its audit entry (``audit`` of the new id) are committed together.
        ``admit`` (STOW-RS) sees the account and the file's summary before anything is stored (see Admission);
        the files it replaces are removed with the new row's commit, each with a delete audit entry."""
        try:
            account = self.account(principal)
            summary = inspect_dicom(staged, self.headers.limits)
            admission = admit(account, summary) if admit else Admission()
            if admission.existing is not None:
                self.audit.record(audit(admission.existing.id))
                return admission.existing
            file_id = uuid.uuid4().hex
            self.store.put_file(file_id, staged)
        finally:
            staged.unlink(missing_ok=True)
        row = _row(file_id, size, sha256, summary)
        with self.transaction() as session:
            # A blob whose row is not committed would never be reachable: remove it if the transaction fails.
            event.listen(session, "after_rollback", lambda _s: self.store.delete(file_id), once=True)
            files = FileRepository(session, account.id)
            files.add(row)
            self._remove_in(session, files, admission.replaces, lambda old: replace(audit(old), action="delete"))
            self.audit.append_in(session, audit(file_id))  # last before the commit: the chain's head held briefly
        if summary.header is not None:  # parsed already: the first render needs no parse
            with contextlib.suppress(Exception):  # an attribute that cannot be copied: rendering parses it
                self.headers.put_render(file_id, render_header(summary.header, summary.header_length))
        return row

    def delete(self, principal: Principal, file_id: str, audit: Callable[[str], AuditEntry]) -> None:
        """Row first, then the blob and its renders, after the commit that also holds the audit entry."""
        row = self.open(principal, file_id)
        with self.transaction() as session:
            if not self._remove_in(session, FileRepository(session, principal.claims.subject), [row.id], audit):
                raise FileNotFound()  # deleted meanwhile

    def delete_instances(
        self,
        principal: Principal,
        study_uid: str,
        series_uid: str | None,
        sop_uid: str | None,
        audit: Callable[[str], AuditEntry],
    ) -> int:
        """Every file of the bearer's study, series or SOP instance (DICOMweb DELETE), in one transaction with
        an audit entry each; FileNotFound when there is none."""
        account = self.account(principal)
        with self.transaction() as session:
            files = FileRepository(session, account.id)
            removed = self._remove_in(session, files, files.ids_of(study_uid, series_uid, sop_uid), audit)
        if not removed:
            raise FileNotFound("No such study, series or instance.")
        return removed

    def _remove_in(
        self, session: Session, files: FileRepository, file_ids: Sequence[str], audit: Callable[[str], AuditEntry]
    ) -> int:
        """Remove the rows now, their blobs and renders once ``session`` commits: a row never points at nothing."""
        removed = [file_id for file_id in file_ids if files.remove(file_id)]
        if not removed:
            return 0

        def purge(_session: Session) -> None:
            for file_id in removed:
                self.store.delete_prefix(f"{RENDERS}/{file_id}")
                self.store.delete(file_id)
                self.headers.evict(file_id)

        event.listen(session, "after_commit", purge, once=True)
        for file_id in removed:
            self.audit.append_in(session, audit(file_id))
        return len(removed)


def _is_file_id(value: str) -> bool:
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)


def _fit(value: str | None, length: int) -> str | None:
    return value[:length] if value else None


def _row(file_id: str, size: int, sha256: str, s: DicomSummary) -> DicomFile:
    pixel = s.pixel_data
    return DicomFile(
        id=file_id,
        created_at=datetime.now(UTC),
        size_bytes=size,
        sha256=sha256,
        patient_id=_fit(s.patient_id, 64),
        patient_name=_fit(s.patient_name, 324),
        study_instance_uid=_fit(s.study_instance_uid, 64),
        series_instance_uid=_fit(s.series_instance_uid, 64),
        sop_instance_uid=_fit(s.sop_instance_uid, 64),
        sop_class_uid=_fit(s.sop_class_uid, 64),
        modality=_fit(s.modality, 16),
        study_date=_fit(s.study_date, 8),
        rows=s.rows,
        columns=s.columns,
        number_of_frames=s.number_of_frames,
        transfer_syntax_uid=_fit(s.transfer_syntax_uid, 64),
        header_length=s.header_length,
        pixel_data_tag=pixel.tag if pixel else None,
        pixel_data_vr=pixel.vr if pixel else None,
        pixel_data_length=pixel.length if pixel else None,
        trailer_offset=_trailer_start(pixel, size),
        index_version=INDEX_VERSION,  # QIDO-RS: what services/qido.py searches
        **indexed_columns(s.indexed),
    )


def _trailer_start(pixel: PixelDataInfo | None, size: int) -> int | None:
    """Deflated files are read whole as their header (header_length is the file size): no trailer."""
    if pixel is None or pixel.value_offset >= size:
        return None
    end = pixel.value_offset + pixel.length
    return end if end < size else None
