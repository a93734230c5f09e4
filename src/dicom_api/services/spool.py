"""The upload spool (`<DATA_DIR>/spool`): where a request body is written while it arrives, before it is
validated and moved into the blob store. A process killed mid-upload leaves its spool file behind; this module
tells those leftovers from uploads in flight, and removes them.

Each server process spools into a folder of its own, `<spool>/<id>/`, and holds an exclusive lock on
`<spool>/<id>.lock` for as long as it lives. The operating system releases the lock however the process ends,
`kill -9` included, so a folder whose lock can be taken belongs to no live process. A per-process lock rather
than an age: an upload from a slow client can sit half-written for a long time, so any age is a guess, while the
lock tells at once and holds for every process sharing the data folder. (Written by hand: the lock is a dozen
lines of `fcntl`/`msvcrt`, not worth a dependency.)

Files directly in the spool folder (written by earlier versions) have no owner to ask: they are left alone
until they are older than a grace period.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("dicom_api.spool")

LOCK_SUFFIX = ".lock"
LOOSE_GRACE_SECONDS = 24 * 3600  # files of earlier versions, at start: surely no upload takes a day


class Spool:
    """This process's spool folder: created, and its lock taken, on first use; removed by ``close``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._folder: Path | None = None
        self._fd: int | None = None
        self._mutex = threading.Lock()

    @property
    def folder(self) -> Path:
        with self._mutex:
            if self._folder is None:
                self._folder = self._open()
            return self._folder

    def _open(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        while True:
            ident = uuid.uuid4().hex
            lock = self.root / f"{ident}{LOCK_SUFFIX}"
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            # A cleaner may have taken this fresh lock file for a dead one's, and removed it: then start over.
            if _try_lock(fd) and _still_at(fd, lock):
                folder = self.root / ident
                folder.mkdir()
                self._fd = fd
                return folder
            os.close(fd)
            with contextlib.suppress(OSError):
                lock.unlink()

    def close(self) -> None:
        """Remove the folder (what is left in it belongs to no request any more), then the lock."""
        with self._mutex:
            if self._folder is None or self._fd is None:
                return
            shutil.rmtree(self._folder, ignore_errors=True)
            lock = self._folder.with_name(self._folder.name + LOCK_SUFFIX)
            if os.name == "posix":  # an open file cannot be removed on Windows
                lock.unlink(missing_ok=True)
            os.close(self._fd)
            lock.unlink(missing_ok=True)
            self._folder = self._fd = None


@dataclass(frozen=True)
class Leftover:
    """A spool entry no live process owns: a dead process's folder (its lock file with it), or a loose file."""

    path: Path
    size: int  # bytes it holds

    def describe(self, root: Path) -> str:
        return f"{self.path.relative_to(root).as_posix()} ({self.size} bytes)"


def find_leftovers(root: Path, loose_grace: float) -> list[Leftover]:
    """Spool entries of no live process; loose files only when older than ``loose_grace`` seconds."""
    if not root.is_dir():
        return []
    found = []
    cutoff = time.time() - loose_grace
    for entry in sorted(root.iterdir()):
        try:
            if entry.is_dir():
                if _owner_alive(root, entry.name):
                    continue
                found.append(Leftover(entry, sum(p.stat().st_size for p in entry.rglob("*") if p.is_file())))
            elif entry.name.endswith(LOCK_SUFFIX):
                if not (root / entry.name.removesuffix(LOCK_SUFFIX)).exists() and not _owner_alive(root, entry.stem):
                    found.append(Leftover(entry, 0))  # a process that died before making its folder
            elif entry.stat().st_mtime < cutoff:
                found.append(Leftover(entry, entry.stat().st_size))
        except FileNotFoundError:  # removed meanwhile, by its owner or another cleaner
            continue
    return found


def remove(root: Path, leftovers: list[Leftover]) -> list[Leftover]:
    """Remove ``leftovers`` (from find_leftovers), each only if its owner is still gone; those removed."""
    removed = []
    for leftover in leftovers:
        path = leftover.path
        name = path.name.removesuffix(LOCK_SUFFIX)
        if path.is_dir() or path.name.endswith(LOCK_SUFFIX):
            if _remove_dead(root, name):
                removed.append(leftover)
        else:
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError:
                log.warning("could not remove the spool file %s", path.name)
                continue
            removed.append(leftover)
    return removed


def clear(root: Path, loose_grace: float = LOOSE_GRACE_SECONDS) -> list[Leftover]:
    """At start: remove what interrupted uploads left in the spool; another live process's uploads stay."""
    removed = remove(root, find_leftovers(root, loose_grace))
    if removed:
        total = sum(leftover.size for leftover in removed)
        log.warning("removed %d spool leftovers of interrupted uploads (%d bytes)", len(removed), total)
    return removed


def _owner_alive(root: Path, ident: str) -> bool:
    """The process that made ``ident`` still holds its lock (no lock file at all: its owner is gone)."""
    try:
        fd = os.open(root / f"{ident}{LOCK_SUFFIX}", os.O_RDWR)
    except FileNotFoundError:
        return False
    except OSError:  # cannot even be opened (held open on Windows): someone has it
        return True
    try:
        return not _try_lock(fd)
    finally:
        os.close(fd)  # closing releases a lock taken just now


def _remove_dead(root: Path, ident: str) -> bool:
    """Remove a folder and its lock file while holding that lock, so its owner is surely gone."""
    lock = root / f"{ident}{LOCK_SUFFIX}"
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        fd = None  # the owner died between making its lock file and its folder, or a cleaner stopped half-way
    except OSError:
        return False
    try:
        if fd is not None and not (_try_lock(fd) and _still_at(fd, lock)):
            return False
        shutil.rmtree(root / ident, ignore_errors=True)
        if fd is not None and os.name == "posix":
            lock.unlink(missing_ok=True)
    finally:
        if fd is not None:
            os.close(fd)
    with contextlib.suppress(OSError):
        lock.unlink(missing_ok=True)  # Windows: only once closed
    return not (root / ident).exists()


def _still_at(fd: int, path: Path) -> bool:
    """``fd`` is still the file at ``path`` (not one removed and made again meanwhile)."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


if sys.platform != "win32":
    import fcntl

    def _try_lock(fd: int) -> bool:
        """Take the lock without waiting; it is the open file's, released when closed or the process ends."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

else:
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
