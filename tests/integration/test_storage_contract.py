"""One contract for every blob store, run on the filesystem and on S3 (moto's standalone server on loopback);
then what only the S3 store does: conditional writes, ranged reads, failures as StorageError."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import random
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest

from dicom_api.errors import StorageError
from dicom_api.storage import BlobStore, S3BlobStore, S3Options, open_blob_store
from dicom_api.storage.s3 import MIN_PART_SIZE, READ_AHEAD
from tests.helpers import UNSAFE_KEYS, settings_for
from tests.s3 import bucket_client, moto_settings, s3_objects

ID = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"
MIB = 1024**2


# --- stores on moto's S3 server (tests/s3.py) -------------------------------------------------------------------


def _s3_store(endpoint: str, bucket: str, tmp_path: Path) -> S3BlobStore:
    # Parts of the smallest size S3 accepts, so the 20 MiB round trip goes through multipart upload.
    options = S3Options.from_settings(settings_for(tmp_path / "data", **moto_settings(endpoint)))
    store = open_blob_store(f"s3://{bucket}/deployment/blobs", dataclasses.replace(options, part_size=MIN_PART_SIZE))
    assert isinstance(store, S3BlobStore)
    return store


# --- the contract -----------------------------------------------------------------------------------------------


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "filesystem":
        return open_blob_store((tmp_path / "blobs").as_uri())
    return _s3_store(request.getfixturevalue("s3_endpoint"), request.getfixturevalue("s3_bucket"), tmp_path)


def _staged(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / f"{uuid.uuid4().hex}.upload"
    path.write_bytes(data)
    return path


def test_put_consumes_the_source_and_reads_back(store: BlobStore, tmp_path: Path) -> None:
    staged = _staged(tmp_path, b"DICM data")
    store.put_file(ID, staged)
    assert not staged.exists()
    assert store.exists(ID)
    assert list(store.keys()) == [ID]
    with store.open(ID) as fp:
        assert fp.read() == b"DICM data"


def test_open_is_seekable(store: BlobStore, tmp_path: Path) -> None:
    data = bytes(range(256)) * 64
    store.put_file(ID, _staged(tmp_path, data))
    with store.open(ID) as fp:
        assert fp.seekable()
        assert fp.read(4) == data[:4]
        assert fp.tell() == 4
        assert fp.seek(1000) == 1000
        assert fp.read(10) == data[1000:1010]
        fp.seek(-6, io.SEEK_CUR)
        assert fp.read(6) == data[1004:1010]
        assert fp.seek(-3, io.SEEK_END) == len(data) - 3
        assert fp.read() == data[-3:]
        assert fp.read(5) == b""
        fp.seek(len(data) + 10)
        assert fp.read(5) == b""
        fp.seek(0)
        assert fp.read() == data


def test_read_range(store: BlobStore, tmp_path: Path) -> None:
    store.put_file(ID, _staged(tmp_path, b"0123456789"))
    assert store.read_range(ID, 0, 4) == b"0123"
    assert store.read_range(ID, 2, 3) == b"234"
    assert store.read_range(ID, 7, 100) == b"789"  # fewer at the end
    assert store.read_range(ID, 10, 5) == b""
    assert store.read_range(ID, 50, 5) == b""
    assert store.read_range(ID, 3, 0) == b""


def test_an_empty_blob(store: BlobStore, tmp_path: Path) -> None:
    store.put_file(ID, _staged(tmp_path, b""))
    with store.open(ID) as fp:
        assert fp.read() == b""
    assert store.read_range(ID, 0, 10) == b""


def test_put_never_overwrites(store: BlobStore, tmp_path: Path) -> None:
    store.put_file(ID, _staged(tmp_path, b"first"))
    second = _staged(tmp_path, b"second")
    with pytest.raises(FileExistsError):
        store.put_file(ID, second)
    with store.open(ID) as fp:
        assert fp.read() == b"first"


def test_put_bytes_replaces_derived_data(store: BlobStore) -> None:
    key = f"renders/{ID}/1-auto-r1.png"
    store.put_bytes(key, b"png")
    store.put_bytes(key, b"png, again")
    with store.open(key) as fp:
        assert fp.read() == b"png, again"


def test_derived_blobs_go_with_their_prefix(store: BlobStore, tmp_path: Path) -> None:
    store.put_file(ID, _staged(tmp_path, b"x"))
    store.put_file(OTHER, _staged(tmp_path, b"y"))
    store.put_bytes(f"renders/{ID}/1-auto-r1.png", b"png")
    store.put_bytes(f"renders/{ID}/2-auto-r1.png", b"png2")
    store.put_bytes(f"renders/{OTHER}/1-auto-r1.png", b"other png")
    assert sorted(store.keys()) == sorted(
        [ID, OTHER, f"renders/{ID}/1-auto-r1.png", f"renders/{ID}/2-auto-r1.png", f"renders/{OTHER}/1-auto-r1.png"]
    )
    store.delete_prefix(f"renders/{ID}")
    store.delete_prefix(f"renders/{ID}")  # nothing left is not an error
    store.delete(ID)
    store.delete(ID)  # absent is not an error
    assert sorted(store.keys()) == sorted([OTHER, f"renders/{OTHER}/1-auto-r1.png"])
    assert not store.exists(ID)
    assert store.exists(OTHER)


def test_a_missing_key(store: BlobStore) -> None:
    with pytest.raises(FileNotFoundError), store.open(ID):
        pass
    with pytest.raises(FileNotFoundError):
        store.read_range(ID, 0, 10)
    assert not store.exists(ID)
    store.delete(ID)
    assert list(store.keys()) == []


def test_a_20_mib_blob_round_trip(store: BlobStore, tmp_path: Path) -> None:
    data = random.Random(7).randbytes(20 * MIB + 12345)
    store.put_file(ID, _staged(tmp_path, data))
    digest, size = hashlib.sha256(), 0
    with store.open(ID) as fp:
        while chunk := fp.read(MIB):
            digest.update(chunk)
            size += len(chunk)
        assert (size, digest.hexdigest()) == (len(data), hashlib.sha256(data).hexdigest())
        middle = 10 * MIB - 7
        fp.seek(middle)
        assert fp.read(100) == data[middle : middle + 100]
    across_parts = MIN_PART_SIZE - 50
    assert store.read_range(ID, across_parts, 100) == data[across_parts : across_parts + 100]


@pytest.mark.parametrize("key", UNSAFE_KEYS)
def test_unsafe_keys_are_refused(store: BlobStore, tmp_path: Path, key: str) -> None:
    staged = _staged(tmp_path, b"x")
    calls = [
        lambda: store.put_file(key, staged),
        lambda: store.put_bytes(key, b"x"),
        lambda: store.open(key).__enter__(),
        lambda: store.read_range(key, 0, 1),
        lambda: store.delete(key),
        lambda: store.delete_prefix(key),
        lambda: store.exists(key),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="invalid blob key"):
            call()
    assert staged.exists()
    assert list(store.keys()) == []


# --- what only the S3 store does ------------------------------------------------------------------------------


@pytest.fixture
def s3_store(s3_endpoint: str, s3_bucket: str, tmp_path: Path) -> S3BlobStore:
    return _s3_store(s3_endpoint, s3_bucket, tmp_path)


def test_objects_live_under_the_url_prefix(s3_store: S3BlobStore, s3_endpoint: str, tmp_path: Path) -> None:
    s3_store.put_file(ID, _staged(tmp_path, b"x"))
    s3_store.put_bytes(f"renders/{ID}/1-auto-r1.png", b"png")
    assert s3_objects(s3_endpoint, s3_store.bucket) == [
        f"deployment/blobs/{ID}",
        f"deployment/blobs/renders/{ID}/1-auto-r1.png",
    ]


def test_a_bucket_without_prefix(s3_endpoint: str, s3_bucket: str, tmp_path: Path) -> None:
    options = S3Options.from_settings(settings_for(tmp_path / "data", **moto_settings(s3_endpoint)))
    store = open_blob_store(f"s3://{s3_bucket}", options)
    store.put_file(ID, _staged(tmp_path, b"x"))
    assert list(store.keys()) == [ID]
    assert s3_objects(s3_endpoint, s3_bucket) == [ID]


@pytest.mark.parametrize("url", ["s3://", "s3:///prefix", "s3://bucket/prefix?versionId=1"])
def test_malformed_s3_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="s3://bucket"):
        open_blob_store(url)


def test_credentials_come_in_pairs() -> None:
    with pytest.raises(ValueError, match="together"):
        S3Options(access_key_id="only-the-id")
    assert "testing" not in repr(S3Options(access_key_id="id", secret_access_key="testing"))


def _racing_put(store: S3BlobStore, s3_endpoint: str, *, same_upload: bool) -> None:
    """Just before the store's conditional write, another writer stores the same key: a foreign upload, or
    (``same_upload``) an earlier attempt of this very request whose answer was lost."""

    def race(params: dict[str, Any], **_: Any) -> None:
        metadata = {}
        if same_upload:
            metadata = {"upload-token": params["headers"]["x-amz-meta-upload-token"]}
        bucket_client(s3_endpoint, store.bucket).put_object(
            Bucket=store.bucket, Key=f"{store.prefix}/{ID}", Body=b"already there", Metadata=metadata
        )

    store._s3_create.meta.events.register_first("before-call.s3.PutObject", race)


def test_a_write_racing_another_is_refused_by_s3(s3_store: S3BlobStore, s3_endpoint: str, tmp_path: Path) -> None:
    _racing_put(s3_store, s3_endpoint, same_upload=False)
    staged = _staged(tmp_path, b"mine")
    with pytest.raises(FileExistsError):
        s3_store.put_file(ID, staged)
    assert staged.exists()
    with s3_store.open(ID) as fp:
        assert fp.read() == b"already there"


def test_a_retried_write_that_had_landed_is_a_success(s3_store: S3BlobStore, s3_endpoint: str, tmp_path: Path) -> None:
    _racing_put(s3_store, s3_endpoint, same_upload=True)
    staged = _staged(tmp_path, b"already there")
    s3_store.put_file(ID, staged)
    assert not staged.exists()


def test_a_refused_multipart_upload_leaves_nothing(
    s3_store: S3BlobStore, s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_store.put_file(ID, _staged(tmp_path, b"first"))
    monkeypatch.setattr(s3_store, "_head", lambda _name: None)  # as if the object appeared after the check
    with pytest.raises(FileExistsError):
        s3_store.put_file(ID, _staged(tmp_path, random.Random(1).randbytes(2 * MIN_PART_SIZE + 1)))
    client = bucket_client(s3_endpoint, s3_store.bucket)
    assert client.list_multipart_uploads(Bucket=s3_store.bucket).get("Uploads", []) == []
    assert client.get_object(Bucket=s3_store.bucket, Key=f"{s3_store.prefix}/{ID}")["Body"].read() == b"first"


def test_reads_fetch_ranges_not_the_whole_object(s3_store: S3BlobStore, tmp_path: Path) -> None:
    data = random.Random(3).randbytes(12 * MIB)
    s3_store.put_file(ID, _staged(tmp_path, data))
    ranges: list[str] = []
    s3_store._s3.meta.events.register(
        "before-call.s3.GetObject", lambda params, **_: ranges.append(params["headers"]["Range"])
    )
    with s3_store.open(ID) as fp:
        assert fp.read(132) == data[:132]  # small reads are served from one read-ahead block
        assert fp.read(100) == data[132:232]
        fp.seek(-10, io.SEEK_END)
        assert fp.read() == data[-10:]
    assert ranges == [f"bytes=0-{READ_AHEAD - 1}", f"bytes={len(data) - 10}-{len(data) - 1}"]


def test_an_unreachable_endpoint_is_a_storage_error(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = S3Options.from_settings(settings_for(tmp_path / "data", **moto_settings(f"http://127.0.0.1:{port}")))
    store = open_blob_store("s3://test-unreachable", options)
    with pytest.raises(StorageError) as raised:
        store.exists(ID)
    assert raised.value.status_code >= 500
    with pytest.raises(StorageError):
        store.put_file(ID, _staged(tmp_path, b"x"))


def test_a_missing_bucket_is_a_storage_error_not_a_missing_key(s3_endpoint: str, tmp_path: Path) -> None:
    options = S3Options.from_settings(settings_for(tmp_path / "data", **moto_settings(s3_endpoint)))
    store = open_blob_store(f"s3://test-{uuid.uuid4().hex[:20]}", options)
    with pytest.raises(StorageError):
        store.read_range(ID, 0, 10)
    with pytest.raises(StorageError):
        list(store.keys())
