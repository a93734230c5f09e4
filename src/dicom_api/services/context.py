"""What one running process holds: settings, database, blob store, caches and the render pool."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from dicom_api.auth.tokens import TokenCodec, load_or_create_secret
from dicom_api.config import Settings
from dicom_api.db.engine import make_engine, make_session_factory
from dicom_api.errors import ServiceUnavailable
from dicom_api.services.accounts import AccountService, LoginThrottle
from dicom_api.services.audit import AuditLog
from dicom_api.services.headers import HeaderCache
from dicom_api.services.rendering import Renderer, RenderLeases, RenderPool
from dicom_api.storage import BlobStore, S3Options, open_blob_store


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: BlobStore
    headers: HeaderCache
    renders: RenderPool  # its worker processes start on the first render
    renderer: Renderer
    tokens: TokenCodec
    throttle: LoginThrottle
    audit: AuditLog

    @classmethod
    def build(cls, settings: Settings) -> AppContext:
        engine = make_engine(settings.database_url)
        s3 = S3Options.from_settings(settings)
        store = open_blob_store(settings.storage_url, s3)
        sessions = make_session_factory(engine)
        pool = RenderPool(settings.storage_url, settings.render_workers, s3)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            store=store,
            headers=HeaderCache(store, settings.header_cache_size),
            renders=pool,
            renderer=Renderer(pool, store, RenderLeases(sessions)),
            tokens=token_codec(settings),
            throttle=LoginThrottle(
                sessions,
                settings.login_window_seconds,
                settings.login_max_failures_per_user,
                settings.login_max_failures_per_address,
            ),
            audit=AuditLog(sessions),
        )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """The transaction boundary: a session committed when the block ends, rolled back when it raises."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def accounts(self) -> Iterator[AccountService]:
        """An account service in its own transaction (for the command line and start-up)."""
        with self.transaction() as session:
            yield AccountService(session, self.tokens, self.settings.refresh_token_ttl_seconds)

    def bootstrap_admin(self) -> None:
        """First start with no account: create 'admin'; a generated password is printed once, never logged."""
        with self.accounts() as accounts:
            generated = accounts.ensure_admin(self.settings.admin_password)
        if generated:
            print(
                f"\n  Created the first account: admin / {generated}\n"
                "  It is shown only this once: sign in and change it (POST /users/me/password).\n",
                flush=True,
            )

    def check_ready(self) -> None:
        """Raise ServiceUnavailable unless the database and the blob store both answer."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            raise ServiceUnavailable("The database is unreachable.") from None
        try:
            self.store.exists("0" * 32)  # any answer, found or not, shows the store is reachable
        except Exception:
            raise ServiceUnavailable("The blob store is unreachable.") from None

    def close(self) -> None:
        self.audit.close()
        self.renders.close()
        self.engine.dispose()


def token_codec(settings: Settings) -> TokenCodec:
    """Signing and verification keys from the settings: a shared secret (current + previous ones during a
    rotation) or an RS256/ES256 key pair read from PEM files."""
    signing: str | bytes
    verifying: list[str | bytes]
    if settings.jwt_algorithm == "HS256":
        signing = settings.jwt_secret or load_or_create_secret(settings.data_dir)
        verifying = [signing, *settings.jwt_previous_secrets]
    else:
        if settings.jwt_private_key_file is None or settings.jwt_public_key_file is None:
            raise ValueError(f"{settings.jwt_algorithm} needs jwt_private_key_file and jwt_public_key_file")
        signing = settings.jwt_private_key_file.read_bytes()
        verifying = [settings.jwt_public_key_file.read_bytes()]
    return TokenCodec(
        algorithm=settings.jwt_algorithm,
        signing_key=signing,
        verification_keys=verifying,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.access_token_ttl_seconds,
    )
