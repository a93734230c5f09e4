"""`dicom-api serve | migrate | users | aes | audit | storage | deidentify`: what an operator runs; `upload`: what a
user runs."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from dicom_api.config import Settings
from dicom_api.logs import configure as configure_logging
from dicom_api.logs import withhold_file_values

if TYPE_CHECKING:
    from dicom_api.services.context import AppContext


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dicom-api", description="DICOM API service")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the HTTP server")
    serve.add_argument("--host", help="address to bind (default: DICOM_API_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: DICOM_API_PORT or 8080)")
    serve.add_argument("--workers", type=int, help="worker processes (default: DICOM_API_WORKERS or 1)")
    commands.add_parser("migrate", help="upgrade the database schema to the latest revision")
    commands.add_parser(
        "reindex", help="index for QIDO-RS the files stored by an earlier version (serve does it at start)"
    )
    storage = commands.add_parser("storage", help="the blob store").add_subparsers(dest="action", required=True)
    check = storage.add_parser(
        "check", help="rows without blobs, blobs without rows, checksum mismatches, spool leftovers"
    )
    check.add_argument(
        "--repair", action="store_true", help="remove blobs that belong to no row, and the spool's leftovers"
    )
    check.add_argument(
        "--grace",
        type=float,
        default=60.0,
        help="seconds uploads in flight get to commit before their blob (or a loose spool file) counts as "
        "left over (default 60)",
    )
    users = commands.add_parser("users", help="manage accounts").add_subparsers(dest="action", required=True)
    create = users.add_parser("create", help="create an account (the password is asked for)")
    create.add_argument("username")
    create.add_argument("--role", choices=["user", "admin"], default="user")
    users.add_parser("list", help="list accounts")
    users.add_parser("disable", help="disable an account; its tokens stop working").add_argument("username")
    users.add_parser("enable", help="enable a disabled account").add_argument("username")
    users.add_parser("reset-password", help="set a new password (asked for)").add_argument("username")
    audit = commands.add_parser("audit", help="the audit trail").add_subparsers(dest="action", required=True)
    audit.add_parser("verify", help="recompute the hash chain; exit 1 if any entry was altered or removed")
    _add_ae_commands(commands)
    _add_deidentify(commands)
    from dicom_api.uploader.command import add_arguments

    add_arguments(commands.add_parser("upload", help="send files, folders, zip archives to a server (a client)"))
    args = parser.parse_args(argv)
    if args.command == "upload":  # a client: the server's settings are not its business
        from dicom_api.uploader.command import run

        return run(args)
    if args.command == "deidentify":  # local files only: no settings, database or store
        withhold_file_values()  # pydicom's warnings quote values: names would reach the terminal
        return _deidentify(args)

    try:
        settings = Settings()
    except ValidationError as exc:  # say which setting is wrong; never echo values (URLs carry passwords)
        for error in exc.errors():
            where = "DICOM_API_" + "_".join(str(p) for p in error["loc"]).upper() if error["loc"] else "settings"
            print(f"error: {where}: {error['msg']}", file=sys.stderr)
        return 2
    log_config = configure_logging(settings.log_level, settings.log_format)
    withhold_file_values()
    try:
        if args.command == "migrate":
            return _migrate(settings)
        if args.command == "reindex":
            return _reindex(settings)
        if args.command == "storage":
            return _storage_check(settings, args)
        if args.command == "users":
            return _operate(settings, partial(_users, args))
        if args.command == "audit":
            return _audit_verify(settings)
        if args.command == "aes":
            return _operate(settings, partial(_aes, args))
        return _serve(settings, args, log_config)
    except OperationalError as exc:  # the database is down or the URL is wrong: no traceback for an operator
        print(f"error: cannot reach the database: {str(exc.orig or exc).strip().splitlines()[0]}", file=sys.stderr)
        return 1


_OPTION_HELP = "an option of PS3.15 Annex E (see the README's De-identification section)"


def _add_deidentify(commands: Any) -> None:
    from dicom_api.dicom.deidentify import OPTION_COLUMNS

    deid = commands.add_parser(
        "deidentify",
        help="de-identify a folder of DICOM files (PS3.15 Annex E Basic Profile) into another folder",
        description="Writes DEST/<study>/<series>/<instance>.dcm under new UIDs. UIDs map consistently for one "
        "key: give the same key file to every run that must agree (a study de-identified in parts).",
    )
    deid.add_argument("source", type=Path, help="folder of DICOM files (read recursively)")
    deid.add_argument("dest", type=Path, help="folder for the de-identified files (created)")
    deid.add_argument(
        "--key-file",
        type=Path,
        help="file whose bytes are the key (default: DICOM_API_DEIDENTIFY_KEY, else a random key for this run)",
    )
    for name in [*OPTION_COLUMNS, "accept_burned_in"]:
        deid.add_argument(f"--{name.replace('_', '-')}", dest=name, action="store_true", help=_OPTION_HELP)


def _deidentify(args: argparse.Namespace) -> int:
    import secrets

    from dicom_api.dicom.deidentify import OPTION_COLUMNS, Options
    from dicom_api.errors import AppError
    from dicom_api.services.deidentify import deidentify_folder

    if not args.source.is_dir():
        print(f"error: {args.source} is not a folder", file=sys.stderr)
        return 2
    env_key = os.environ.get("DICOM_API_DEIDENTIFY_KEY", "")
    if args.key_file is not None or env_key:
        try:
            key = args.key_file.read_bytes() if args.key_file is not None else env_key.encode()
        except OSError as exc:
            print(f"error: cannot read the key file: {exc.strerror}", file=sys.stderr)
            return 2
        if len(key) < 16:
            print("error: the key must be at least 16 bytes", file=sys.stderr)
            return 2
    else:
        key = secrets.token_bytes(32)
        print("note: no key given; UIDs are mapped with a random key, so another run will not match this one")
    try:
        options = Options.from_names([n for n in [*OPTION_COLUMNS, "accept_burned_in"] if getattr(args, n)])
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    report = deidentify_folder(args.source, args.dest, key, options)
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(f"{report.written} file(s) de-identified into {args.dest}, {len(report.skipped)} skipped")
    return 0


def _migrate(settings: Settings) -> int:
    from dicom_api.db.migrate import upgrade

    upgrade(settings.database_url)
    print("database schema is up to date")
    return 0


def _serve(settings: Settings, args: argparse.Namespace, log_config: dict[str, Any]) -> int:
    import uvicorn

    if settings.auto_migrate:
        _migrate(settings)
    else:
        from dicom_api.db.migrate import pending

        current, head = pending(settings.database_url)
        if current != head:
            print(
                f"error: the database schema is at revision {current or 'none'}, the code needs {head}: "
                "run `dicom-api migrate` first",
                file=sys.stderr,
            )
            return 1
    _reindex_in_background(settings)
    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Metrics from every worker, added up at /metrics: a fresh folder of per-process value files.
        metrics_dir = settings.data_dir / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    print(f"DICOM API on http://{host}:{port}  (Swagger UI: http://{host}:{port}/swagger/)", flush=True)
    with _receiver(settings, host):
        _run_uvicorn(uvicorn, settings, host, port, workers, log_config)
    return 0


def _run_uvicorn(
    uvicorn: Any, settings: Settings, host: str, port: int, workers: int, log_config: dict[str, Any]
) -> None:
    uvicorn.run(
        "dicom_api.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level=settings.log_level,
        log_config=log_config,
        proxy_headers=False,  # uvicorn would trust 127.0.0.1; the app believes DICOM_API_TRUSTED_PROXIES only
        timeout_graceful_shutdown=30,  # finish requests in flight on SIGTERM, then stop
    )


@contextlib.contextmanager
def _receiver(settings: Settings, host: str) -> Iterator[None]:
    """The DICOM C-STORE receiver beside HTTP when DICOM_API_DIMSE_PORT is set: threads of this (the first)
    process, with a context of their own; stopped after HTTP, once associations in flight are done."""
    if settings.dimse_port is None:
        yield
        return
    from dicom_api.services.context import AppContext
    from dicom_api.services.dimse import start_receiver

    context = AppContext.build(settings)
    scp = start_receiver(context, host)
    print(f"DICOM receiver {settings.dimse_ae_title} on {host}:{settings.dimse_port}", flush=True)
    # uvicorn ends by raising the SIGTERM it caught again, under the handler found before it ran: by default
    # that kills the process at once. An exit instead lets the receiver finish what is in flight.
    previous = signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if scp is not None:
            scp.close()
        context.close()


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _reindex(settings: Settings) -> int:
    from dicom_api.services.reindex import reindex_settings

    print(f"{reindex_settings(settings)} file(s) reindexed")
    return 0


def _reindex_in_background(settings: Settings) -> None:
    """Files stored by an earlier version are indexed while the server already answers: until then they are
    found by what the earlier version indexed. Done once per start, a batch per transaction (services/reindex)."""
    import logging
    import threading

    from dicom_api.services.reindex import reindex_settings

    def run() -> None:
        try:
            reindex_settings(settings)
        except Exception:
            logging.getLogger("dicom_api.reindex").exception("reindexing stopped; `dicom-api reindex` resumes it")

    threading.Thread(target=run, name="reindex", daemon=True).start()


def _storage_check(settings: Settings, args: argparse.Namespace) -> int:
    from dicom_api.services.integrity import check_store

    report = check_store(settings, repair=args.repair, grace_seconds=args.grace)
    for line in report.lines():
        print(line)
    print(f"{report.problems} problem(s) left")
    return 1 if report.problems else 0


def _operate(settings: Settings, action: Callable[[AppContext], None]) -> int:
    """``action`` on a context built for it and closed after; an AppError is said on stderr and exits 1."""
    from dicom_api.errors import AppError
    from dicom_api.services.context import AppContext

    context = AppContext.build(settings)
    try:
        action(context)
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        context.close()
    return 0


def _users(args: argparse.Namespace, context: AppContext) -> None:
    with context.accounts() as accounts:
        if args.action == "list":
            users, _ = accounts.list(limit=100_000, offset=0)
            for user in users:
                state = "active" if user.is_active else "disabled"
                print(f"{user.id}  {user.username:<24} {user.role:<6} {state}")
        elif args.action == "create":
            user = accounts.create(args.username, _ask_password(), args.role)
            print(f"created {user.username} ({user.role}), id {user.id}")
        elif args.action == "reset-password":
            accounts.update(accounts.by_username(args.username), password=_ask_password())
            print("password changed; the account's tokens no longer work")
        else:
            accounts.update(accounts.by_username(args.username), is_active=args.action == "enable")
            print(f"{args.username} {args.action}d")


def _add_ae_commands(commands: Any) -> None:
    aes = commands.add_parser("aes", help="remote DICOM AEs that may send to the receiver")
    actions = aes.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="register a calling AE title; its images go to the user's store")
    add.add_argument("ae_title")
    add.add_argument("--user", required=True, help="the account whose store receives what it sends")
    add.add_argument("--host", help="accept it only from this address (an IP address or a DNS name)")
    actions.add_parser("list", help="list the remote AEs")
    actions.add_parser("remove", help="forget a remote AE").add_argument("ae_title")


def _aes(args: argparse.Namespace, context: AppContext) -> None:
    from dicom_api.services.remote_aes import remote_aes

    with remote_aes(context.transaction) as aes:
        if args.action == "add":
            ae = aes.add(args.ae_title, args.user, args.host)
            print(f"added {ae.ae_title}: its images go to {ae.username}")
        elif args.action == "remove":
            aes.remove(args.ae_title)
            print(f"removed {args.ae_title}")
        else:
            for ae in aes.list():
                print(f"{ae.ae_title:<16}  {ae.username:<24} {ae.host or '(any host)'}")


def _ask_password() -> str:
    import getpass

    if not sys.stdin.isatty():  # scripted use: the password on standard input
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password (12 characters or more): ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("error: the passwords differ")
    return first


def _audit_verify(settings: Settings) -> int:
    from dicom_api.services.context import AppContext

    context = AppContext.build(settings)
    try:
        problems = context.audit.verify()
    finally:
        context.close()
    for line in problems:
        print(line)
    print("audit trail intact" if not problems else f"{len(problems)} problem(s): the trail was tampered with")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
