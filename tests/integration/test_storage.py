"""The filesystem blob store: safe keys, no overwrite, sharded layout, derived data removed with its file."""

from __future__ import annotations

from pathlib import Path

import pytest

from dicom_api.storage import FilesystemBlobStore, open_blob_store, validate_key

ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def store(tmp_path: Path) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "blobs")


def _staged(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "staged.upload"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../etc/passwd",
        ID + "/../x",
        "renders/" + ID + "/../../x",
        ID.upper(),
        ID[:-1],
        "/" + ID,
        "renders/" + ID + "/.hidden",
        "a/b/c/d",
        ID + "\x00",
        "renders\\" + ID,
    ],
)
def test_unsafe_keys_are_refused(store: FilesystemBlobStore, key: str) -> None:
    with pytest.raises(ValueError, match="invalid blob key"):
        store.path(key)


def test_valid_keys() -> None:
    assert validate_key(ID) == ID
    assert validate_key(f"renders/{ID}/1-auto-r1.png")
    assert validate_key(f"renders/{ID}")


def test_put_moves_the_file_into_a_sharded_path(store: FilesystemBlobStore, tmp_path: Path) -> None:
    staged = _staged(tmp_path, b"DICM data")
    store.put_file(ID, staged)
    assert not staged.exists()
    assert store.path(ID) == store.root / "01" / "23" / ID
    with store.open(ID) as fp:
        assert fp.read() == b"DICM data"
    assert store.read_range(ID, 2, 3) == b"CM "
    assert list(store.keys()) == [ID]


def test_put_never_overwrites(store: FilesystemBlobStore, tmp_path: Path) -> None:
    store.put_file(ID, _staged(tmp_path, b"first"))
    with pytest.raises(FileExistsError):
        store.put_file(ID, _staged(tmp_path, b"second"))
    with store.open(ID) as fp:
        assert fp.read() == b"first"


def test_derived_blobs_go_with_their_prefix(store: FilesystemBlobStore, tmp_path: Path) -> None:
    store.put_file(ID, _staged(tmp_path, b"x"))
    store.put_bytes(f"renders/{ID}/1-auto-r1.png", b"png")
    store.put_bytes(f"renders/{ID}/2-auto-r1.png", b"png2")
    assert sorted(store.keys()) == sorted([ID, f"renders/{ID}/1-auto-r1.png", f"renders/{ID}/2-auto-r1.png"])
    store.delete_prefix(f"renders/{ID}")
    store.delete(ID)
    store.delete(ID)  # absent is not an error
    assert list(store.keys()) == []
    with pytest.raises(FileNotFoundError), store.open(ID):
        pass


def test_open_blob_store_by_url(tmp_path: Path) -> None:
    store = open_blob_store((tmp_path / "b").as_uri())
    assert isinstance(store, FilesystemBlobStore)
    assert store.root == (tmp_path / "b").resolve()
    with pytest.raises(ValueError, match="Unsupported storage URL"):
        open_blob_store("ftp://example/x")
