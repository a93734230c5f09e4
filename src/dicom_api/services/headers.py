"""Parsed headers, kept per process: a stored file never changes, so a cached header never goes stale."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict

import pydicom
from pydicom.dataset import FileDataset

from dicom_api.storage import BlobStore


class HeaderCache:
    """An LRU of parsed headers (everything before Pixel Data), read from the blob's first bytes only."""

    def __init__(self, store: BlobStore, capacity: int) -> None:
        self._store = store
        self._capacity = capacity
        self._items: OrderedDict[str, FileDataset] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, file_id: str, header_length: int) -> FileDataset:
        with self._lock:
            ds = self._items.get(file_id)
            if ds is not None:
                self._items.move_to_end(file_id)
                return ds
        data = self._store.read_range(file_id, 0, header_length)
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=True)
        if self._capacity:
            with self._lock:
                self._items[file_id] = ds
                while len(self._items) > self._capacity:
                    self._items.popitem(last=False)
        return ds

    def evict(self, file_id: str) -> None:
        with self._lock:
            self._items.pop(file_id, None)
