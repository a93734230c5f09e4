"""What one running process holds: settings, database, blob store, caches and the render pool, wired once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import cached_property, partial

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dicom_api.auth.tokens import TokenCodec, load_or_create_secret
from dicom_api.config import Settings
from dicom_api.db.engine import make_engine, make_session_factory, transaction
from dicom_api.db.lookups import Lookups
from dicom_api.dicom.limits import DicomLimits
from dicom_api.services.accounts import AccountService
from dicom_api.services.audit import AuditLog
from dicom_api.services.blocking import RunBlocking
from dicom_api.services.dicomweb_retrieve import MetadataCache, Retrieve
from dicom_api.services.dicomweb_store import DicomwebStore
from dicom_api.services.files import Files
from dicom_api.services.headers import HeaderCache
from dicom_api.services.personal_tokens import PersonalTokens
from dicom_api.services.qido import Qido
from dicom_api.services.readiness import Readiness
from dicom_api.services.render_pool import MIB, RenderPool
from dicom_api.services.rendering import AdvisoryLocks, NoLocks, PngCache, Renderer, RenderLocks, open_worker_store
from dicom_api.services.signin import LoginThrottle, PasswordWork, SignIn
from dicom_api.services.spool import Spool
from dicom_api.storage import BlobStore, S3Options, open_blob_store
from dicom_api.storage.filesystem import FilesystemBlobStore

# What a database that is down or unreachable raises: a 503, not a 500 (api/errors.py).
DATABASE_UNREACHABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError)


@dataclass
class AppContext:
    """The composition root: builds every part once and hands each the parts it needs. No use case here."""

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
    files: Files  # the read path: every route that reads or changes a file
    personal_tokens: PersonalTokens
    qido: Qido  # QIDO-RS searches, and the instances WADO-RS and STOW-RS look up by UID
    dicomweb_store: DicomwebStore  # STOW-RS, QIDO-RS and DELETE under /dicomweb
    run_blocking: RunBlocking  # the one way off the event loop
    spool: Spool  # this process's folder for uploads in flight
    retrieve: Retrieve  # WADO-RS: the caller's instances, metadata, frames and bulk data
    readiness: Readiness  # whether the database and the blob store answer

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
        postgres = engine.dialect.name == "postgresql"
        # SQLite and a filesystem store: every read is a local file read, done inline (see RunBlocking).
        run_blocking = RunBlocking(inline=not postgres and isinstance(store, FilesystemBlobStore))
        locks: RenderLocks = AdvisoryLocks(engine) if postgres else NoLocks()
        png_cache = PngCache(settings.render_cache_mib * MIB)
        audit = AuditLog(sessions)
        files = Files(lookups, store, headers, partial(transaction, sessions), audit)
        qido = Qido(partial(transaction, sessions))
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            store=store,
            headers=headers,
            renders=pool,
            renderer=Renderer(pool, store, locks, png_cache, headers, lookups.file_exists, run_blocking),
            tokens=token_codec(settings),
            throttle=LoginThrottle(
                sessions,
                settings.login_window_seconds,
                settings.login_max_failures_per_user,
                settings.login_max_failures_per_address,
            ),
            audit=audit,
            files=files,
            personal_tokens=PersonalTokens(partial(transaction, sessions), settings.personal_token_max_days),
            qido=qido,
            dicomweb_store=DicomwebStore(files, qido, partial(transaction, sessions), settings.stow_duplicates),
            run_blocking=run_blocking,
            spool=Spool(settings.spool_dir),
            retrieve=Retrieve(files, qido, run_blocking, limits, MetadataCache(settings.metadata_cache_mib * MIB)),
            readiness=Readiness(engine, store),
        )

    def transaction(self) -> AbstractContextManager[Session]:
        """The transaction boundary (db/engine.py): committed when the block ends, rolled back when it raises."""
        return transaction(self.sessions)

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

    def close(self) -> None:
        self.audit.close()
        self.renders.close()
        self.spool.close()
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
