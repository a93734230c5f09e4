"""What one running process holds: settings, database, blob store, caches and the render pool."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import anyio
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from dicom_api.auth.tokens import Claims, TokenCodec, load_or_create_secret
from dicom_api.config import Settings
from dicom_api.db.engine import make_engine, make_session_factory
from dicom_api.db.lookups import AccountState, Lookups
from dicom_api.db.models import DicomFile
from dicom_api.dicom.limits import DicomLimits
from dicom_api.errors import ServiceUnavailable
from dicom_api.services.accounts import AccountService, check_account
from dicom_api.services.audit import AuditEntry, AuditLog
from dicom_api.services.files import FileReader, FileService
from dicom_api.services.headers import HeaderCache
from dicom_api.services.render_pool import MIB, RenderPool
from dicom_api.services.rendering import FileLeases, Leases, PngCache, Renderer, RenderLeases, open_worker_store
from dicom_api.services.signin import LoginThrottle, PasswordWork, SignIn
from dicom_api.services.spool import Spool
from dicom_api.storage import BlobStore, S3Options, open_blob_store
from dicom_api.storage.filesystem import FilesystemBlobStore

T = TypeVar("T")


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
    reader: FileReader
    spool: Spool  # this process's folder for uploads in flight
    local_io: bool  # SQLite and a filesystem store: every read is a local file read

    @classmethod
    def build(cls, settings: Settings) -> AppContext:
        engine = make_engine(settings.database_url)
        s3 = S3Options.from_settings(settings)
        store = open_blob_store(settings.storage_url, s3)
        sessions = make_session_factory(engine)
        limits = DicomLimits(settings.max_inflated_bytes, settings.max_inflation_ratio, settings.max_frame_bytes)
        pool = RenderPool(
            settings.render_workers,
            open_worker_store,
            (settings.storage_url, s3, limits),
            memory_mib=settings.render_memory_mib,
            timeout=settings.render_timeout_seconds,
        )
        headers = HeaderCache(store, settings.header_cache_mib * MIB, limits)
        lookups = Lookups(engine)
        sqlite_file = _sqlite_file(settings)
        local_io = sqlite_file is not None and isinstance(store, FilesystemBlobStore)
        leases: Leases = RenderLeases(sessions)
        if sqlite_file is not None:  # every process sharing this database sees the folder beside it
            leases = FileLeases(sqlite_file.with_name(sqlite_file.name + ".render-leases"))
        context = cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            store=store,
            headers=headers,
            renders=pool,
            renderer=Renderer(
                pool, store, leases, PngCache(settings.render_cache_mib * MIB), headers, lookups.file_exists
            ),
            tokens=token_codec(settings),
            throttle=LoginThrottle(
                sessions,
                settings.login_window_seconds,
                settings.login_max_failures_per_user,
                settings.login_max_failures_per_address,
            ),
            audit=AuditLog(sessions),
            reader=FileReader(lookups, headers),
            spool=Spool(settings.spool_dir),
            local_io=local_io,
        )
        context.renderer.offload = context.offload
        return context

    def ingest(
        self,
        claims: Claims,
        staged: Path,
        size: int,
        sha256: str,
        caller: Callable[[AccountState], None],
        audit: Callable[[str], AuditEntry],
    ) -> DicomFile:
        """FileService.ingest for a token's bearer, whose account is checked first; ``staged`` is consumed.
        Returns once the row and its audit entry (``audit`` of the new file's id) are committed together."""
        try:
            self._check(claims, caller)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        with self.transaction() as session:
            row = FileService(session, self.store, self.headers, owner_id=claims.subject).ingest(staged, size, sha256)
            self.audit.append_in(session, audit(row.id))  # last before the commit: the chain's head is held briefly
        return row

    def delete(
        self, claims: Claims, file_id: str, caller: Callable[[AccountState], None], audit: Callable[[str], AuditEntry]
    ) -> None:
        """FileService.delete for a token's bearer, whose account is checked first. Returns once the row is gone
        and its audit entry committed, in one transaction; the blob and its renders go after that commit."""
        self._check(claims, caller)
        with self.transaction() as session:
            FileService(session, self.store, self.headers, owner_id=claims.subject).delete(file_id)
            self.audit.append_in(session, audit(file_id))

    def _check(self, claims: Claims, caller: Callable[[AccountState], None]) -> None:
        account, _ = self.reader.lookups.account_and_file(claims.subject, None)
        caller(check_account(account, claims))

    async def offload(self, fn: Callable[..., T], *args: object) -> T:
        """Run blocking I/O for the event loop. With SQLite and a filesystem store it runs inline: a
        primary-key read of a local file costs less than the hop to a worker thread (measured: the hop
        was most of an attribute read); a network database or store is always called from a thread."""
        if self.local_io:
            return fn(*args)
        return await anyio.to_thread.run_sync(fn, *args)

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

    @cached_property
    def signin(self) -> SignIn:
        """Sign-in and password changes, each step in a transaction of its own (see services/signin.py)."""
        return SignIn(self.transaction, self.account_service, self.throttle, PasswordWork())

    def account_service(self, session: Session) -> AccountService:
        return AccountService(session, self.tokens, self.settings.refresh_token_ttl_seconds)

    @contextmanager
    def accounts(self) -> Iterator[AccountService]:
        """An account service in its own transaction (for the command line, start-up and handlers that
        must not hold a connection before they get here)."""
        with self.transaction() as session:
            yield self.account_service(session)

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
        self.spool.close()
        self.engine.dispose()


def _sqlite_file(settings: Settings) -> Path | None:
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).resolve()


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
