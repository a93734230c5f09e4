"""Fill the QIDO-RS columns of files stored before they existed (or before INDEX_VERSION last changed).

A migration cannot do it: the values are in the stored headers, and Alembic has no blob store. Each file whose
index_version is older is read (its header only), indexed and marked in a transaction per batch, so the work
survives an interruption and is never done twice for a file. Two processes running it at once (two
containers starting) write the same values: harmless. A file that cannot be read is marked too, with its new
values empty, and logged by id, so it is not read again at every start.
"""

from __future__ import annotations

import io
import logging

from sqlalchemy.orm import Session, sessionmaker

from dicom_api.config import Settings
from dicom_api.db import qido as db
from dicom_api.db.engine import make_engine, make_session_factory
from dicom_api.dicom.inspect import read_header
from dicom_api.dicom.limits import DicomLimits
from dicom_api.dicom.qido_attributes import indexed_values
from dicom_api.services.headers import MAX_TRAILER
from dicom_api.services.qido import INDEX_VERSION, indexed_columns
from dicom_api.storage import BlobStore, S3Options, open_blob_store

log = logging.getLogger("dicom_api.reindex")
BATCH = 200


def reindex(sessions: sessionmaker[Session], store: BlobStore, limits: DicomLimits) -> int:
    """Index every file whose index is older than INDEX_VERSION; how many were."""
    done, after = 0, ""
    while True:
        with sessions() as session:
            rows = db.pending_reindex(session, INDEX_VERSION, after, BATCH)
            for file_id, header_length, size, trailer_offset in rows:
                db.set_indexed(
                    session,
                    file_id,
                    INDEX_VERSION,
                    _values(store, limits, file_id, header_length, size, trailer_offset),
                )
            session.commit()
        if not rows:
            return done
        done += len(rows)
        after = rows[-1][0]
        log.info("reindexed %d files for QIDO-RS", done)


def reindex_settings(settings: Settings) -> int:
    """``reindex`` on the database and blob store of ``settings`` (`dicom-api reindex`, and `serve` at start)."""
    engine = make_engine(settings.database_url)
    try:
        store = open_blob_store(settings.storage_url, S3Options.from_settings(settings))
        limits = DicomLimits(settings.max_inflated_bytes, settings.max_inflation_ratio, settings.max_frame_bytes)
        return reindex(make_session_factory(engine), store, limits)
    finally:
        engine.dispose()


def _values(
    store: BlobStore, limits: DicomLimits, file_id: str, header_length: int, size: int, trailer_offset: int | None
) -> dict[str, object]:
    try:
        data = store.read_range(file_id, 0, header_length)
        if trailer_offset is not None and size - trailer_offset <= MAX_TRAILER:
            data += store.read_range(file_id, trailer_offset, size - trailer_offset)
        return indexed_columns(indexed_values(read_header(io.BytesIO(data), limits)))
    except Exception:  # a missing blob or an unreadable header: the file keeps what ingest indexed
        log.warning("file %s: its header cannot be read; it is searchable by what was indexed at upload", file_id)
        return {}
