"""Readiness: whether the parts a request needs answer (GET /health/ready)."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from dicom_api.errors import ServiceUnavailable
from dicom_api.storage import BlobStore


class Readiness:
    def __init__(self, engine: Engine, store: BlobStore) -> None:
        self._engine = engine
        self._store = store

    def check(self) -> None:
        """Raise ServiceUnavailable unless the database and the blob store both answer."""
        try:
            with self._engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            raise ServiceUnavailable("The database is unreachable.") from None
        try:
            self._store.exists("0" * 32)  # any answer, found or not, shows the store is reachable
        except Exception:
            raise ServiceUnavailable("The blob store is unreachable.") from None
