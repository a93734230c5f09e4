"""Parsed headers, kept per process: a stored file never changes, so a cached header never goes stale."""

from __future__ import annotations

import io
import threading
from collections.abc import MutableSequence
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset, FileDataset

from dicom_api.dicom.inspect import read_header
from dicom_api.dicom.limits import DEFAULT_LIMITS, DicomLimits
from dicom_api.dicom.render import RenderHeader, render_header
from dicom_api.storage import BlobStore

MAX_TRAILER = 16 * 1024 * 1024  # elements after Pixel Data beyond this are not read (padding, in practice)
LARGEST_SHARE = 16  # a header estimated above 1/16 of the cache is not kept: it would push out the others

# What a parsed header costs in memory, once every value has been converted (by a read of the whole
# header): per element, and per byte of value. Measured with tracemalloc over every file of the test corpus,
# the estimate is above the real size for all of them (by 14 % at least) and 2.3 times it on average; binary
# values stay bytes, the others grow into Python objects (a directory of short strings: 22 times its bytes).
ELEMENT_BYTES = 800
VALUE_FACTOR = 32
_BINARY = frozenset({"OB", "OD", "OF", "OL", "OV", "OW"})

_Key = tuple[str, str]  # ("header" | "render", file id)


def estimated_size(ds: Dataset) -> int:
    """The memory ``ds`` will hold once all its values are converted, from its elements as read (raw values
    are not converted here), sequences included."""
    total = 0
    for tag in ds.keys():
        elem = ds.get_item(tag)
        value: Any = elem.value
        total += ELEMENT_BYTES
        if isinstance(value, bytes | bytearray):
            total += len(value) if _vr(elem.VR, tag) in _BINARY else len(value) * VALUE_FACTOR
        elif isinstance(value, MutableSequence):  # a sequence (read eagerly), or a converted multi-value
            total += sum(estimated_size(item) if isinstance(item, Dataset) else ELEMENT_BYTES for item in value)
        elif isinstance(value, str):
            total += len(value) * VALUE_FACTOR
    return total


def _vr(vr: str | None, tag: Any) -> str:
    if vr:
        return vr
    try:
        return str(dictionary_VR(tag))  # implicit VR: as the dictionary has it
    except KeyError:
        return "UN"


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

    def get(self, file_id: str, header_length: int, trailer: tuple[int, int] | None = None) -> FileDataset:
        """The parsed header; ``trailer`` (offset, length) adds the elements stored after Pixel Data."""
        with self._lock:
            kept = self._items.get(("header", file_id))
        if kept is not None and isinstance(kept.value, FileDataset):
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
