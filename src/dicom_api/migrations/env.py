"""Alembic environment: the URL comes from the caller's config (see dicom_api.db.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from dicom_api.db.engine import make_engine
from dicom_api.db.migrate import MIGRATION_LOCK
from dicom_api.db.models import Base

config = context.config
engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Workers or containers started at once on a new database: one migrates while the others wait,
            # then find the schema at head (Alembic reads the current revision after this).
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()
engine.dispose()
