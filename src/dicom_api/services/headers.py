"""Parsed headers, kept per process: a stored file never changes, so a cached header never goes stale."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass

from cachetools import LRUCache

from dicom_api.dicom.inspect import Header, read_header
from dicom_api.dicom.limits import DEFAULT_LIMITS, DicomLimits
from dicom_api.dicom.memory import Dataset, estimated_size
from dicom_api.dicom.render import RenderHeader, render_header
from dicom_api.storage import BlobStore

MAX_TRAILER = 16 * 1024 * 1024  # elements after Pixel Data beyond this are not read (padding, in practice)
LARGEST_SHARE = 16  # a header estimated above 1/16 of the cache is not kept: it would push out the others

_Key = tuple[str, str]  # ("header" | "render", file id)


@dataclass(frozen=True, slots=True)
class _Entry:
    value: Dataset | RenderHeader
    size: int  # estimated once, when kept

    @classmethod
    def of(cls, value: Dataset | RenderHeader) -> _Entry:
        if isinstance(value, RenderHeader):
            return cls(value, estimated_size(value.attributes))
        meta = getattr(value, "file_meta", None)
        return cls(value, estimated_size(value) + (estimated_size(meta) if meta is not None else 0))


class HeaderCache:
    """An LRU of parsed headers (everything but Pixel Data), read from the blob's first bytes only, and of
    what rendering needs of them (RenderHeader), kept from the parse done at upload; bounded by their
    estimated size in bytes.

    Whole headers are parsed on demand only: kept from every upload, their objects made Python's garbage
    collector cost a millisecond more per upload (measured)."""

    def __init__(self, store: BlobStore, max_bytes: int, limits: DicomLimits = DEFAULT_LIMITS) -> None:
        self._store = store
        self.limits = limits  # what reading a stored file (and ingesting one) may inflate
        self._max = max_bytes
        self._items: LRUCache[_Key, _Entry] = LRUCache(max(max_bytes, 1), getsizeof=lambda e: e.size)
        self._lock = threading.Lock()

    def get(self, file_id: str, header_length: int, trailer: tuple[int, int] | None = None) -> Header:
        """The parsed header; ``trailer`` (offset, length) adds the elements stored after Pixel Data."""
        with self._lock:
            kept = self._items.get(("header", file_id))
        if kept is not None and isinstance(kept.value, Header):
            return kept.value
        data = self._store.read_range(file_id, 0, header_length)
        if trailer is not None and trailer[1] <= MAX_TRAILER:
            # Header and trailer joined: the same element stream with Pixel Data left out.
            data += self._store.read_range(file_id, trailer[0], trailer[1])
        parsed = read_header(io.BytesIO(data), self.limits)
        parsed.buffer = None  # never read again; it would keep the bytes (a deflated file's whole inflated set)
        self._put(("header", file_id), parsed)
        return parsed

    def put_render(self, file_id: str, header: RenderHeader) -> None:
        self._put(("render", file_id), header)

    def _put(self, key: _Key, value: Dataset | RenderHeader) -> None:
        if not self._max:
            return
        entry = _Entry.of(value)
        if entry.size > self._max // LARGEST_SHARE:
            return
        with self._lock:
            self._items[key] = entry

    def render_header(self, file_id: str, pixel_offset: int) -> RenderHeader | None:
        """What rendering needs of the header, if this process has it in memory; never reads the store."""
        with self._lock:
            kept = self._items.get(("render", file_id)) or self._items.get(("header", file_id))
        if kept is None:
            return None
        if isinstance(kept.value, RenderHeader):
            return kept.value
        return render_header(kept.value, pixel_offset)

    @property
    def size(self) -> int:
        """The estimated bytes held."""
        with self._lock:
            return int(self._items.currsize)

    def evict(self, file_id: str) -> None:
        with self._lock:
            self._items.pop(("header", file_id), None)
            self._items.pop(("render", file_id), None)
