"""`dicom-api serve | migrate | check`: what an operator runs."""

from __future__ import annotations

import argparse
import logging
import sys

from dicom_api.config import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dicom-api", description="DICOM API service")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the HTTP server")
    serve.add_argument("--host", help="address to bind (default: DICOM_API_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: DICOM_API_PORT or 8080)")
    serve.add_argument("--workers", type=int, help="worker processes (default: DICOM_API_WORKERS or 1)")
    commands.add_parser("migrate", help="upgrade the database schema to the latest revision")
    commands.add_parser("check", help="verify that every stored file has its blob, with the recorded checksum")
    args = parser.parse_args(argv)

    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "migrate":
        return _migrate(settings)
    if args.command == "check":
        return _check(settings)
    return _serve(settings, args)


def _migrate(settings: Settings) -> int:
    from dicom_api.db.migrate import upgrade

    upgrade(settings.database_url)
    print("database schema is up to date")
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    if settings.auto_migrate:
        _migrate(settings)
    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    print(f"DICOM API on http://{host}:{port}  (Swagger UI: http://{host}:{port}/swagger/)", flush=True)
    uvicorn.run(
        "dicom_api.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level=settings.log_level,
        proxy_headers=False,
    )
    return 0


def _check(settings: Settings) -> int:
    from dicom_api.services.integrity import verify_store

    problems = verify_store(settings)
    for line in problems:
        print(line)
    print(f"{len(problems)} problem(s) found")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
