"""Store, find, describe and delete DICOM files."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydicom.dataset import FileDataset
from sqlalchemy import event
from sqlalchemy.orm import Session

from dicom_api.auth.tokens import Claims
from dicom_api.db.lookups import AccountState, FileRecord, Lookups
from dicom_api.db.models import DicomFile
from dicom_api.db.repository import FileRepository
from dicom_api.dicom.attributes import bulk_element_json, dicom_json_model, element_json, find_element
from dicom_api.dicom.inspect import DicomSummary, PixelDataInfo, inspect_dicom
from dicom_api.dicom.render import render_header
from dicom_api.errors import AttributeNotFound, FileNotFound
from dicom_api.services.accounts import check_account
from dicom_api.services.headers import HeaderCache
from dicom_api.services.qido import INDEX_VERSION, indexed_columns
from dicom_api.services.rendering import RENDERS
from dicom_api.storage import BlobStore


class FileService:
    """The files of one owner: every method sees only what ``owner_id`` uploaded."""

    def __init__(self, session: Session, store: BlobStore, headers: HeaderCache, owner_id: str) -> None:
        self.session = session
        self.files = FileRepository(session, owner_id)
        self.store = store
        self.headers = headers

    def ingest(self, staged: Path, size: int, sha256: str) -> DicomFile:
        """Validate the spooled upload, store it (blob first, then the row) and index it.

        The staged file is always consumed: moved into the store, or removed when refused.
        """
        try:
            summary = inspect_dicom(staged, self.headers.limits)
            file_id = uuid.uuid4().hex
            self.store.put_file(file_id, staged)
        finally:
            staged.unlink(missing_ok=True)
        # A blob whose row is not committed would never be reachable: remove it if the transaction fails.
        event.listen(self.session, "after_rollback", lambda _s: self.store.delete(file_id), once=True)
        row = _row(file_id, size, sha256, summary)
        self.files.add(row)
        if summary.header is not None:  # parsed already: the first render needs no parse
            with contextlib.suppress(Exception):  # an attribute that cannot be copied: rendering parses it
                self.headers.put_render(file_id, render_header(summary.header, summary.header_length))
        return row

    def get(self, file_id: str) -> DicomFile:
        row = self.files.get(file_id) if _is_file_id(file_id) else None
        if row is None:
            raise FileNotFound()
        return row

    def list(self, *, limit: int, offset: int) -> tuple[Sequence[DicomFile], int]:
        return self.files.list(limit=limit, offset=offset), self.files.count()

    def delete(self, file_id: str) -> None:
        """Row first, then the blob and its renders: a row never points at nothing."""
        row = self.get(file_id)
        self.files.delete(row)
        self.headers.evict(file_id)

        def purge(_session: Session) -> None:
            self.store.delete_prefix(f"{RENDERS}/{file_id}")
            self.store.delete(file_id)

        event.listen(self.session, "after_commit", purge, once=True)

    def dicom_json(self, file_id: str) -> dict[str, Any]:
        """The whole header in the DICOM JSON Model (PS3.18 F.2), bulk data left out."""
        row = self.get(file_id)
        ds = _header(self.headers, row)
        model = dicom_json_model(ds.file_meta) if ds.file_meta else {}
        model.update(dicom_json_model(ds))
        if row.pixel_data_tag is not None:
            model[f"{row.pixel_data_tag:08X}"] = {"vr": row.pixel_data_vr}
        return {key: model[key] for key in sorted(model)}


class FileReader:
    """The hot reads (one attribute, a PNG's file) for a token's bearer, without an ORM session."""

    def __init__(self, lookups: Lookups, headers: HeaderCache) -> None:
        self.lookups = lookups
        self.headers = headers

    def open(self, claims: Claims, file_id: str, caller: Callable[[AccountState], None]) -> FileRecord:
        """The caller's file, or FileNotFound. Their account is checked as for every request, and handed to
        ``caller`` before the file is looked at (so a refused access is recorded with its user)."""
        account, record = self.lookups.account_and_file(claims.subject, file_id if _is_file_id(file_id) else None)
        caller(check_account(account, claims))
        if record is None:
            raise FileNotFound()
        return record

    def attribute(
        self, claims: Claims, file_id: str, tag: int, caller: Callable[[AccountState], None]
    ) -> dict[str, Any]:
        """One attribute, from the header or (Pixel Data) from what was indexed at upload."""
        record = self.open(claims, file_id, caller)
        if record.pixel_data_tag is not None and tag == record.pixel_data_tag:
            return bulk_element_json(tag, record.pixel_data_vr or "OB", record.pixel_data_length or 0)
        ds = _header(self.headers, record)
        try:
            return element_json(find_element(ds, tag))
        except AttributeNotFound:
            raise
        except Exception:  # a malformed value is reported as such, not as a server error
            raise AttributeNotFound("The attribute exists but its value cannot be read.") from None


class _Stored(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def header_length(self) -> int: ...
    @property
    def trailer_offset(self) -> int | None: ...


def _header(headers: HeaderCache, row: _Stored) -> FileDataset:
    """Everything but Pixel Data: the bytes before it, and those after it when the file has any."""
    trailer = None if row.trailer_offset is None else (row.trailer_offset, row.size_bytes - row.trailer_offset)
    return headers.get(row.id, row.header_length, trailer)


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
