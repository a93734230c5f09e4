"""create_app: the one place that wires every layer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from dicom_api import __version__
from dicom_api.api.cors import install_cors
from dicom_api.api.docs import mount_swagger
from dicom_api.api.errors import UnhandledErrors, install_error_handlers
from dicom_api.api.metrics import Metrics
from dicom_api.api.middleware import ObservabilityMiddleware
from dicom_api.api.router import AUDITED, router
from dicom_api.api.urls import RecordPeer
from dicom_api.config import Settings
from dicom_api.db.engine import durability_problems
from dicom_api.logs import withhold_file_values
from dicom_api.services import spool
from dicom_api.services.context import AppContext

log = logging.getLogger("dicom_api")

DESCRIPTION = """Keep DICOM files safely and reach them over HTTP.

Upload a DICOM file, download it rendered as PNG, read any header attribute.
Every error answers `{"error": "<message>"}`."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    withhold_file_values()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        spool.clear(settings.spool_dir)  # what uploads cut off by a crash left; other live processes' stay
        context = AppContext.build(settings)
        for problem in durability_problems(context.engine):
            log.warning("%s", problem)
        with context.accounts() as accounts:
            _announce_admin(accounts.ensure_admin(settings.admin_password))
        app.state.context = context
        await context.renders.warm_up()
        try:
            yield
        finally:
            context.close()

    app = FastAPI(
        title="DICOM API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        # The service keeps its own metrics and logs (which withhold file values); FastAPI's OpenTelemetry
        # hooks would log exception messages, and asked at each request whether a provider is configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    app.state.metrics = Metrics()
    app.add_middleware(UnhandledErrors)  # inside ObservabilityMiddleware: its 500s are logged and audited
    install_cors(app, settings.cors_origin_list)  # its answers, preflights included, are logged too
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics, actions=AUDITED)
    if settings.trusted_proxy_networks:
        # Outermost, so that the throttle, the audit trail and the logs all see the client's address: the
        # right-most address of X-Forwarded-For that is not a trusted proxy, and only from a trusted peer.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_networks)
        app.add_middleware(RecordPeer, networks=settings.trusted_proxy_networks)  # sees the peer before it
    app.include_router(router)
    mount_swagger(app)
    return app


def _announce_admin(generated: str | None) -> None:
    """First start with no account: 'admin' was created; a generated password is printed once, never logged."""
    if generated:
        print(
            f"\n  Created the first account: admin / {generated}\n"
            "  It is shown only this once: sign in and change it (POST /users/me/password).\n",
            flush=True,
        )
