"""Parsed headers, kept per process: a stored file never changes, so a cached header never goes stale."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict

import pydicom
from pydicom.dataset import FileDataset

from dicom_api.storage import BlobStore

MAX_TRAILER = 16 * 1024 * 1024  # elements after Pixel Data beyond this are not read (padding, in practice)


class HeaderCache:
    """An LRU of parsed headers (everything but Pixel Data), read from the blob's first bytes only.

    An entry put at upload may hold only the elements before Pixel Data (``complete`` False): enough to
    render, and replaced by the whole header the first time an attribute is read."""

    def __init__(self, store: BlobStore, capacity: int) -> None:
        self._store = store
        self._capacity = capacity
        self._items: OrderedDict[str, tuple[FileDataset, bool]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, file_id: str, header_length: int, trailer: tuple[int, int] | None = None) -> FileDataset:
        """The parsed header; ``trailer`` (offset, length) adds the elements stored after Pixel Data."""
        with self._lock:
            ds, complete = self._items.get(file_id, (None, False))
            if ds is not None and (complete or trailer is None):
                self._items.move_to_end(file_id)
                return ds
        data = self._store.read_range(file_id, 0, header_length)
        if trailer is not None and trailer[1] <= MAX_TRAILER:
            # Header and trailer joined: the same element stream with Pixel Data left out.
            data += self._store.read_range(file_id, trailer[0], trailer[1])
        parsed = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=True)
        self.put(file_id, parsed)
        return parsed

    def put(self, file_id: str, ds: FileDataset, complete: bool = True) -> None:
        """A header parsed elsewhere (at upload); ``complete`` False: only the elements before Pixel Data."""
        if self._capacity:
            with self._lock:
                self._items[file_id] = (ds, complete)
                while len(self._items) > self._capacity:
                    self._items.popitem(last=False)

    def peek(self, file_id: str) -> FileDataset | None:
        """The elements before Pixel Data if they are in memory; never reads the store."""
        with self._lock:
            return self._items.get(file_id, (None, False))[0]

    def evict(self, file_id: str) -> None:
        with self._lock:
            self._items.pop(file_id, None)
