"""Consistency of rows and blobs: every row has its blob with the recorded size and SHA-256, every blob
belongs to a row, and the upload spool and the store hold no half-written files. Orphans, spool leftovers and
partial writes are what an interrupted upload or delete can leave; `repair` removes them."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from sqlalchemy import select

from dicom_api.config import Settings
from dicom_api.db.engine import make_engine, make_session_factory
from dicom_api.db.models import DicomFile
from dicom_api.services import spool
from dicom_api.storage import BlobStore, FilesystemBlobStore, S3Options, open_blob_store


@dataclass
class StoreReport:
    missing: list[str] = field(default_factory=list)  # rows without their blob
    mismatched: list[str] = field(default_factory=list)  # blobs whose size or SHA-256 differ from the row
    orphans: list[str] = field(default_factory=list)  # file ids with blobs (or renders) but no row
    removed: list[str] = field(default_factory=list)
    spool: list[str] = field(default_factory=list)  # spool entries of uploads no live process is receiving
    spool_removed: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)  # temporary files of blob writes cut off by a crash
    partial_removed: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return (
            [f"missing blob: {i}" for i in self.missing]
            + [f"checksum mismatch: {i}" for i in self.mismatched]
            + [f"orphan blob: {i}" for i in self.orphans]
            + [f"removed orphan: {i}" for i in self.removed]
            + [f"spool leftover: {i}" for i in self.spool]
            + [f"removed spool leftover: {i}" for i in self.spool_removed]
            + [f"partial write: {i}" for i in self.partial]
            + [f"removed partial write: {i}" for i in self.partial_removed]
        )

    @property
    def problems(self) -> int:
        left = len(self.orphans) - len(self.removed) + len(self.spool) - len(self.spool_removed)
        return len(self.missing) + len(self.mismatched) + left + len(self.partial) - len(self.partial_removed)


def check_store(settings: Settings, *, repair: bool = False, grace_seconds: float = 60.0) -> StoreReport:
    """Compare rows and blobs, and look for spool leftovers and partial writes. With ``repair``, orphans still
    without a row after ``grace_seconds`` (time for uploads in flight, whose blob is written before their row,
    to commit) are removed, and so are the spool folders of processes that are gone (their lock tells at once;
    a loose spool file of an earlier version counts once it is ``grace_seconds`` old) and the partial writes
    untouched for ``grace_seconds``."""
    report = StoreReport()
    _check_spool(settings, report, repair=repair, grace_seconds=grace_seconds)
    store = open_blob_store(settings.storage_url, S3Options.from_settings(settings))
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    try:
        with sessions() as session:
            known = set()
            for row in session.scalars(select(DicomFile)):
                known.add(row.id)
                _check_blob(store, row, report)
        if isinstance(store, FilesystemBlobStore):
            _check_partial_writes(store, report, repair=repair, grace_seconds=grace_seconds)
        stored = {key.split("/")[1] if "/" in key else key for key in store.keys()}
        report.orphans = sorted(stored - known)
        if repair and report.orphans:
            time.sleep(grace_seconds)
            with sessions() as session:
                committed = set(session.scalars(select(DicomFile.id).where(DicomFile.id.in_(report.orphans))))
            for file_id in report.orphans:
                if file_id not in committed:
                    store.delete_prefix(f"renders/{file_id}")
                    store.delete(file_id)
                    report.removed.append(file_id)
    finally:
        engine.dispose()
    return report


def _check_spool(settings: Settings, report: StoreReport, *, repair: bool, grace_seconds: float) -> None:
    root = settings.spool_dir
    leftovers = spool.find_leftovers(root, grace_seconds)
    report.spool = [leftover.describe(root) for leftover in leftovers]
    if repair:
        report.spool_removed = [leftover.describe(root) for leftover in spool.remove(root, leftovers)]


def _check_partial_writes(
    store: FilesystemBlobStore, report: StoreReport, *, repair: bool, grace_seconds: float
) -> None:
    """A write in progress keeps its file's modification time fresh: only those older than the grace count."""
    cutoff = time.time() - grace_seconds
    for path in sorted(store.partial_writes()):
        try:
            if path.stat().st_mtime >= cutoff:
                continue
            name = f"{path.relative_to(store.root).as_posix()} ({path.stat().st_size} bytes)"
            report.partial.append(name)
            if repair:
                path.unlink()
                report.partial_removed.append(name)
        except FileNotFoundError:  # finished or removed meanwhile
            continue


def _check_blob(store: BlobStore, row: DicomFile, report: StoreReport) -> None:
    if not store.exists(row.id):
        report.missing.append(row.id)
        return
    digest, size = hashlib.sha256(), 0
    with store.open(row.id) as fp:
        while chunk := fp.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    if size != row.size_bytes or digest.hexdigest() != row.sha256:
        report.mismatched.append(row.id)
