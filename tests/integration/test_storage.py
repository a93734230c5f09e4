"""The filesystem blob store beyond the shared contract (test_storage_contract.py): key validation, the sharded
layout, opening a store by URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from dicom_api.storage import FilesystemBlobStore, S3BlobStore, open_blob_store, validate_key
from tests.helpers import UNSAFE_KEYS

ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def store(tmp_path: Path) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "blobs")


@pytest.mark.parametrize("key", UNSAFE_KEYS)
def test_unsafe_keys_never_become_paths(store: FilesystemBlobStore, key: str) -> None:
    with pytest.raises(ValueError, match="invalid blob key"):
        store.path(key)


def test_valid_keys() -> None:
    assert validate_key(ID) == ID
    assert validate_key(f"renders/{ID}/1-auto-r1.png")
    assert validate_key(f"renders/{ID}")


def test_put_moves_the_file_into_a_sharded_path(store: FilesystemBlobStore, tmp_path: Path) -> None:
    staged = tmp_path / "staged.upload"
    staged.write_bytes(b"DICM data")
    store.put_file(ID, staged)
    assert store.path(ID) == store.root / "01" / "23" / ID
    assert store.path(ID).read_bytes() == b"DICM data"
    assert store.path(f"renders/{ID}/1-auto-r1.png") == store.root / "renders" / "01" / "23" / ID / "1-auto-r1.png"


def test_put_syncs_the_file_and_every_folder_entry_it_needs(
    store: FilesystemBlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Durable before the row commits: the data, the rename, and each shard folder created on the way."""
    from dicom_api.storage import filesystem

    synced: list[Path] = []
    monkeypatch.setattr(filesystem, "_fsync_file", lambda path: synced.append(Path(path)))
    monkeypatch.setattr(filesystem, "_fsync_dir", lambda path: synced.append(Path(path)))
    staged = tmp_path / "staged.upload"
    staged.write_bytes(b"DICM data")
    store.put_file(ID, staged)
    # the two new shard folders' entries, the data, then the rename
    assert synced == [store.root, store.root / "01", staged, store.root / "01" / "23"]

    synced.clear()
    other = "0123" + "f" * 28  # the same shard: no folder to create
    staged.write_bytes(b"DICM more")
    store.put_file(other, staged)
    assert synced == [staged, store.root / "01" / "23"]


def test_open_blob_store_by_url(tmp_path: Path) -> None:
    store = open_blob_store((tmp_path / "b").as_uri())
    assert isinstance(store, FilesystemBlobStore)
    assert store.root == (tmp_path / "b").resolve()
    s3 = open_blob_store("s3://test-bucket/some/prefix/")
    assert isinstance(s3, S3BlobStore)
    assert (s3.bucket, s3.prefix) == ("test-bucket", "some/prefix")
    with pytest.raises(ValueError, match="Unsupported storage URL"):
        open_blob_store("ftp://example/x")
