"""Blobs as files under one root, sharded ab/cd/<key> so no folder grows huge (as Orthanc's storage does)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from dicom_api.storage.base import validate_key


class FilesystemBlobStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """original <id> -> ab/cd/<id>; derived <kind>/<id>/<name> -> <kind>/ab/cd/<id>/<name>."""
        parts = validate_key(key).split("/")
        if len(parts) == 1:
            return self.root / key[:2] / key[2:4] / key
        kind, ident, *rest = parts
        return self.root.joinpath(kind, ident[:2], ident[2:4], ident, *rest)

    def put_file(self, key: str, source: Path) -> None:
        target = self.path(key)
        if target.exists():
            raise FileExistsError("blob already exists")
        _make_dirs(target.parent)
        _fsync_file(source)
        try:
            os.replace(source, target)
        except OSError:  # another file system: copy, then remove the source
            tmp = target.with_name(target.name + ".partial")
            shutil.copyfile(source, tmp)
            _fsync_file(tmp)
            os.replace(tmp, target)
            source.unlink(missing_ok=True)
        _fsync_dir(target.parent)

    def put_bytes(self, key: str, data: bytes) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.partial")
        tmp.write_bytes(data)
        os.replace(tmp, target)

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        with self.path(key).open("rb") as fp:
            yield fp

    def read_range(self, key: str, start: int, length: int) -> bytes:
        with self.path(key).open("rb") as fp:
            fp.seek(start)
            return fp.read(length)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        folder = self.path(prefix)
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def partial_writes(self) -> Iterator[Path]:
        """Temporary files of writes a crash cut off (`*.partial`): never a blob, never read, only removed."""
        yield from (path for path in self.root.rglob("*.partial") if path.is_file())

    def keys(self) -> Iterator[str]:
        for path in self.root.rglob("*"):
            if not path.is_file() or path.name.endswith(".partial"):
                continue
            rel = path.relative_to(self.root).parts
            yield rel[-1] if len(rel) == 3 else "/".join((rel[0], rel[3], *rel[4:]))


def _fsync_file(path: Path) -> None:
    with path.open("rb+") as fp:
        os.fsync(fp.fileno())


def _make_dirs(folder: Path) -> None:
    """Create ``folder`` and the missing shard folders above it durably: a new folder's entry in its parent must
    reach the disk too, or after a power loss the blob renamed into it is gone with it."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        created.mkdir(exist_ok=True)
        _fsync_dir(created.parent)


def _fsync_dir(path: Path) -> None:
    """Make the rename durable; directories cannot be opened on Windows, where NTFS journals it anyway."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
