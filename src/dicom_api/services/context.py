"""What one running process holds: settings, database, blob store, caches and the render pool."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from dicom_api.config import Settings
from dicom_api.db.engine import make_engine, make_session_factory
from dicom_api.services.headers import HeaderCache
from dicom_api.services.rendering import RenderPool
from dicom_api.storage import BlobStore, open_blob_store


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: BlobStore
    headers: HeaderCache
    renders: RenderPool

    @classmethod
    def build(cls, settings: Settings) -> AppContext:
        engine = make_engine(settings.database_url)
        store = open_blob_store(settings.storage_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            store=store,
            headers=HeaderCache(store, settings.header_cache_size),
            renders=RenderPool(settings.storage_url, settings.render_workers),
        )

    def ping_database(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def close(self) -> None:
        self.renders.close()
        self.engine.dispose()
