"""Consistency of rows and blobs: every row has its blob with the recorded size and sha256."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from dicom_api.config import Settings
from dicom_api.db.engine import make_engine, make_session_factory
from dicom_api.db.models import DicomFile
from dicom_api.storage import S3Options, open_blob_store


def verify_store(settings: Settings) -> list[str]:
    store = open_blob_store(settings.storage_url, S3Options.from_settings(settings))
    engine = make_engine(settings.database_url)
    problems: list[str] = []
    known: set[str] = set()
    with make_session_factory(engine)() as session:
        for row in session.scalars(select(DicomFile)):
            known.add(row.id)
            if not store.exists(row.id):
                problems.append(f"missing blob: {row.id}")
                continue
            digest, size = hashlib.sha256(), 0
            with store.open(row.id) as fp:
                while chunk := fp.read(1024 * 1024):
                    digest.update(chunk)
                    size += len(chunk)
            if size != row.size_bytes or digest.hexdigest() != row.sha256:
                problems.append(f"checksum mismatch: {row.id}")
    engine.dispose()
    problems += [f"orphan blob: {key}" for key in store.keys() if "/" not in key and key not in known]
    return problems
