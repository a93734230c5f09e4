"""`dicom-api upload PATH...`: send files, folders, zip archives and DICOM media to a server, several at a time.

Two passes: every file is read once to tell DICOM from the rest and to compute its SHA-256; the server is asked,
in batches, which of those checksums it has for us; then only the others are sent. So a second run sends
nothing, and a run cut short (Ctrl-C, a dropped network) continues where it stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import sys
import threading
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TypeVar

import httpx

from dicom_api.uploader.client import Client, Outcome, SignInFailed, Stopped
from dicom_api.uploader.progress import Progress
from dicom_api.uploader.report import Report
from dicom_api.uploader.sources import Item, collect

T = TypeVar("T")
R = TypeVar("R")
INTERRUPTED = 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, help="files, folders, zip archives, DICOMDIR media")
    parser.add_argument("--url", default=os.environ.get("DICOM_API_URL", "http://127.0.0.1:8080"), help="the server")
    parser.add_argument("--token", help="a bearer token (default: DICOM_API_TOKEN); else --user signs in")
    parser.add_argument("--user", help="sign in as this user; the password is asked for")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    parser.add_argument("--jobs", type=int, default=4, help="files sent at the same time (default 4)")


def run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    client = Client(args.url, args.token or os.environ.get("DICOM_API_TOKEN"), stop)
    report = Report()
    try:
        return _run(args, client, report, stop)
    except KeyboardInterrupt:
        stop.set()
        report.stopped = "interrupted"
        report.print()
        return INTERRUPTED
    except (SignInFailed, httpx.HTTPError) as exc:
        print(f"error: {args.url}: {exc}", file=sys.stderr)
        return 2
    finally:
        client.close()


def _run(args: argparse.Namespace, client: Client, report: Report, stop: threading.Event) -> int:
    if args.jobs < 1:
        print("error: --jobs must be 1 or more", file=sys.stderr)
        return 2
    _sign_in(args, client)
    found = collect(args.paths)
    for missing in found.missing:
        print(f"error: no such file or folder: {missing}", file=sys.stderr)
    if found.missing:
        return 2
    report.skipped.extend(found.skipped)
    progress = Progress(sys.stdout)
    with progress:
        checked = _examine(found.items, args.jobs, progress, report, stop)
        have = client.stored(sorted({sha for _, sha in checked}))
        to_send = report.sort(checked, have)
        progress.start("sending", len(to_send), sum(item.size for item, _ in to_send))
        sent = contextlib.closing(_each(to_send, lambda pair: _send(client, pair), args.jobs, stop))
        with sent as results:  # closed at once on Ctrl-C: see _each
            for (item, _), outcome in results:
                report.add(item, outcome)
                if outcome.kind == "failed" and not stop.is_set():  # retried for half a minute: the server is away
                    report.stopped = "the server could not be reached"
                    stop.set()
                loud = outcome.kind in ("refused", "failed")
                line = f"{outcome.kind:<8} {item.label}" + (f": {outcome.detail}" if loud else "")
                progress.advance(item.size, line, loud=loud)
    report.print()
    return 0 if report.all_in else 1


def _sign_in(args: argparse.Namespace, client: Client) -> None:
    if args.token or os.environ.get("DICOM_API_TOKEN"):
        client.check()
        return
    if not args.user:
        raise SignInFailed("give --token (or DICOM_API_TOKEN), or --user to sign in with a password")
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.user} at {args.url}: ")
    client.sign_in(args.user, password)


def _examine(
    items: list[Item], jobs: int, progress: Progress, report: Report, stop: threading.Event
) -> list[tuple[Item, str]]:
    """Each DICOM-looking item with its checksum; the others go to the report as skipped."""
    progress.start("checking", len(items), sum(item.size for item in items))
    checked: list[tuple[Item, str]] = []
    with contextlib.closing(_each(items, _checksum, jobs, stop)) as results:
        for item, (sha256, why) in results:
            progress.advance(item.size)
            if sha256 is None:
                report.skipped.append((item.label, why))
            else:
                checked.append((item, sha256))
    return checked


def _checksum(item: Item) -> tuple[str | None, str]:
    try:
        sha256 = item.examine()
    except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: an encrypted zip member
        return None, f"unreadable ({exc.__class__.__name__})"
    return sha256, "" if sha256 else "not DICOM"


def _send(client: Client, pair: tuple[Item, str]) -> Outcome:
    try:
        return client.upload(*pair)
    except Stopped:
        return Outcome("failed", "interrupted")


def _each(
    items: Iterable[T], work: Callable[[T], R], jobs: int, stop: threading.Event
) -> Generator[tuple[T, R], None, None]:
    """``work`` on each item in ``jobs`` threads, results as they finish. Closed early (Ctrl-C, an error):
    nothing new starts, what is in flight finishes (one file a thread), then the close returns."""
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = {pool.submit(_unless_stopped, work, item, stop): item for item in items}
        for future in as_completed(futures):
            try:
                result = future.result()
            except Stopped:  # queued when the run stopped: never started
                continue
            yield futures[future], result
    except BaseException:  # KeyboardInterrupt while waiting here, or GeneratorExit when the loop over us stops
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _unless_stopped(work: Callable[[T], R], item: T, stop: threading.Event) -> R:
    if stop.is_set():
        raise Stopped()
    return work(item)
