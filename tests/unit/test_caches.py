"""The in-memory caches are bounded in bytes: recent renders by their length, parsed headers by an estimate
that is never below what they really hold."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest

from dicom_api.dicom.inspect import inspect_dicom
from dicom_api.dicom.memory import estimated_size
from dicom_api.dicom.render import render_header
from dicom_api.services.headers import LARGEST_SHARE, HeaderCache
from dicom_api.services.rendering import PngCache
from tests.helpers import sample

HEADERS = ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "rtstruct.dcm", "waveform_ecg.dcm", "image_dfl.dcm"]


class FolderStore:
    """read_range over local files, by key: all HeaderCache asks of a blob store."""

    def __init__(self) -> None:
        self.files: dict[str, Path] = {}
        self.reads = 0

    def add(self, path: Path) -> tuple[str, int]:
        key = f"{len(self.files):032x}"
        self.files[key] = path
        return key, inspect_dicom(path).header_length

    def read_range(self, key: str, start: int, length: int) -> bytes:
        self.reads += 1
        with self.files[key].open("rb") as fp:
            fp.seek(start)
            return fp.read(length)


def test_png_cache_evicts_the_least_recent_renders_by_bytes() -> None:
    cache = PngCache(1000)
    for name in "abcd":
        cache.put(name, name.encode() * 240)
    assert cache.get("a") is not None  # used: now the most recent
    cache.put("e", b"e" * 240)  # 1200 bytes asked for: the least recent, b, goes
    assert cache.get("b") is None
    assert [cache.get(n) is not None for n in "acde"] == [True] * 4
    assert cache.size == 960
    cache.put("huge", b"h" * 251)  # over a quarter of the cache: it would push out everything else
    assert cache.get("huge") is None


def _kept_size(store: FolderStore, key: str, length: int) -> int:
    cache = HeaderCache(store, 1 << 30)
    cache.get(key, length)
    return cache.size


def test_header_cache_evicts_the_least_recent_headers_by_estimated_bytes() -> None:
    store = FolderStore()
    sizes = {name: _kept_size(store, *store.add(sample(name))) for name in HEADERS[:4]}
    capacity = max(sizes.values()) * LARGEST_SHARE  # every header fits its share
    files = []
    while sum(sizes[name] for name, _ in files) < 2 * capacity:  # twice what fits
        name = HEADERS[len(files) % 4]
        files.append((name, store.add(sample(name))))
    cache = HeaderCache(store, capacity)
    for _, (key, length) in files:
        cache.get(key, length)
        assert 0 < cache.size <= capacity
    reads = store.reads
    cache.get(*files[-1][1])  # the most recent is kept
    assert store.reads == reads
    cache.get(*files[0][1])  # the first was pushed out: read again
    assert store.reads == reads + 1


def test_a_header_too_large_for_its_share_is_not_kept() -> None:
    store = FolderStore()
    key, length = store.add(sample("waveform_ecg.dcm"))
    cache = HeaderCache(store, _kept_size(store, key, length) * LARGEST_SHARE - 1)
    reads = store.reads
    cache.get(key, length)
    assert cache.size == 0
    cache.get(key, length)
    assert store.reads == reads + 2  # read each time: never kept


def test_render_headers_share_the_byte_budget() -> None:
    store = FolderStore()
    cache = HeaderCache(store, 1 << 20)
    summary = inspect_dicom(sample("CT_small.dcm"))
    assert summary.header is not None
    header = render_header(summary.header, summary.header_length)
    cache.put_render("a" * 32, header)
    assert cache.size == estimated_size(header.attributes) > 0
    assert cache.render_header("a" * 32, summary.header_length) is header
    cache.evict("a" * 32)
    assert cache.size == 0


@pytest.mark.parametrize("name", HEADERS)
def test_the_estimate_is_not_below_what_a_header_holds_once_read_whole(name: str) -> None:
    """Measured with tracemalloc after every value has been converted (as a read of the whole header does)."""
    store = FolderStore()
    key, length = store.add(sample(name))
    cache = HeaderCache(store, 0)  # keeps nothing: the data set below is the only reference
    cache.get(key, length).to_json_dict(1024, lambda _elem: "")  # once before: pydicom's own caches filled
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        ds = cache.get(key, length)
        estimate = estimated_size(ds) + (estimated_size(ds.file_meta) if ds.file_meta else 0)
        ds.to_json_dict(1024, lambda _elem: "")
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert estimate >= held, f"{name}: estimated {estimate} bytes, holds {held}"
