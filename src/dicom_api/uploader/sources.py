"""What the uploader sends: the files named on its command line, the folders walked, the members of zip archives.

A DICOMDIR (PS3.10 8.6) only indexes the files beside it on the medium: the folder is walked and the DICOMDIR
itself is skipped, so a partial or damaged directory loses nothing, and a file it names twice is sent once.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

CHUNK = 1024 * 1024
PREAMBLE = 128  # PS3.10 7.1: a 128-byte preamble, then "DICM"
# A data set written without the preamble and file meta starts with a tag of group 0002 or 0008 (little endian).
_BARE_STARTS = (b"\x02\x00", b"\x08\x00")


@dataclass(frozen=True)
class Item:
    """One file to send: a file on disk, or a member of a zip archive."""

    label: str  # as the person named it: a path, or "archive.zip:member"
    size: int
    path: Path
    member: str | None = None

    def open(self) -> IO[bytes]:
        if self.member is None:
            return self.path.open("rb")
        # An archive of its own per reader, as members are read concurrently; closing it leaves the file open
        # until the member is closed too (zipfile counts the references).
        with zipfile.ZipFile(self.path) as archive:
            return archive.open(self.member)

    def examine(self) -> str | None:
        """The SHA-256 of the bytes that would be sent, read in chunks; None when they do not look like DICOM:
        neither 'DICM' after the preamble nor a data set without one (thumbnails, text files)."""
        digest = hashlib.sha256()
        with self.open() as fp:
            head = fp.read(CHUNK)
            if head[PREAMBLE : PREAMBLE + 4] != b"DICM" and head[:2] not in _BARE_STARTS:
                return None
            while head:
                digest.update(head)
                head = fp.read(CHUNK)
        return digest.hexdigest()


@dataclass
class Found:
    items: list[Item] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (label, why)
    missing: list[str] = field(default_factory=list)


def collect(paths: list[Path]) -> Found:
    """Every file under ``paths``, in a stable order; each zip archive's members; DICOMDIR files skipped."""
    found = Found()
    seen: set[Path] = set()
    for path in paths:
        if path.is_file() and path.name.upper() == "DICOMDIR":
            path = path.parent  # the medium: the files beside it
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            files = [path]
        else:
            found.missing.append(str(path))
            continue
        for file in files:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                _add(found, file)
    return found


def _add(found: Found, file: Path) -> None:
    if file.name.upper() == "DICOMDIR":
        found.skipped.append((str(file), "a DICOMDIR: the files it lists are sent instead"))
    elif _is_archive(file):
        try:
            found.items.extend(_members(file))
        except (zipfile.BadZipFile, OSError):
            found.skipped.append((str(file), "a damaged zip archive"))
    else:
        found.items.append(Item(str(file), file.stat().st_size, file))


def _is_archive(file: Path) -> bool:
    """A zip archive: its first local header at the start, and not a DICOM file (whose preamble is free)."""
    with file.open("rb") as fp:
        head = fp.read(PREAMBLE + 4)
    return head.startswith(b"PK\x03\x04") and head[PREAMBLE:] != b"DICM"


def _members(archive: Path) -> list[Item]:
    with zipfile.ZipFile(archive) as zf:
        return [
            Item(f"{archive}:{info.filename}", info.file_size, archive, info.filename)
            for info in zf.infolist()
            if not info.is_dir()
        ]
