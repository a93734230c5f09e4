"""The service over HTTP with its blobs in S3 (moto's standalone server on loopback): what it keeps, it keeps
there, byte for byte, and deleting a file leaves no object behind."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from dicom_api.config import Settings
from tests.helpers import make_client, sample, settings_for
from tests.s3 import moto_settings, s3_objects

CT = sample("CT_small.dcm")
MULTIFRAME = sample("emri_small.dcm")  # 10 frames, 64 x 64


@pytest.fixture
def s3_settings(tmp_path: Path, s3_endpoint: str, s3_bucket: str) -> Settings:
    return settings_for(tmp_path / "data", storage_url=f"s3://{s3_bucket}/prefix", **moto_settings(s3_endpoint))


@pytest.fixture
def s3_client(s3_settings: Settings) -> Iterator[TestClient]:
    yield from make_client(s3_settings)


def _upload(client: TestClient, data: bytes) -> str:
    response = client.post("/upload/dicom", files={"file": ("f.dcm", data, "application/dicom")})
    assert response.status_code == 201, response.text
    return str(response.json()["file_id"])


def test_a_file_round_trip_on_s3(s3_client: TestClient, s3_endpoint: str, s3_bucket: str) -> None:
    data = CT.read_bytes()
    file_id = _upload(s3_client, data)
    assert s3_objects(s3_endpoint, s3_bucket) == [f"prefix/{file_id}"]

    png = s3_client.get(f"/download/png/{file_id}")
    assert png.status_code == 200, png.text
    assert Image.open(io.BytesIO(png.content)).size == (128, 128)

    attribute = s3_client.get(
        "/header_attribute", params={"file_id": file_id, "tag_group": "0010", "tag_element": "0020"}
    )
    assert attribute.status_code == 200, attribute.text
    assert attribute.json()["header_attributes"]["value"] == "1CT1"

    original = s3_client.get(f"/files/{file_id}/dicom")
    assert original.status_code == 200
    assert hashlib.sha256(original.content).digest() == hashlib.sha256(data).digest()
    assert original.content == data

    assert s3_client.delete(f"/files/{file_id}").status_code == 204
    assert s3_client.get(f"/files/{file_id}").status_code == 404
    assert s3_objects(s3_endpoint, s3_bucket) == []


def test_a_render_process_reads_the_frame_from_s3(s3_settings: Settings) -> None:
    """A real worker process opens its own S3 store from the options it was sent."""
    for client in make_client(s3_settings.model_copy(update={"render_workers": 1})):
        file_id = _upload(client, MULTIFRAME.read_bytes())
        first = client.get(f"/download/png/{file_id}?frame=1")
        last = client.get(f"/download/png/{file_id}?frame=10")
        assert (first.status_code, last.status_code) == (200, 200), last.text
        assert first.content != last.content
        assert client.get(f"/download/png/{file_id}?frame=11").status_code == 400


def test_a_deidentified_copy_on_s3(s3_client: TestClient, s3_endpoint: str, s3_bucket: str) -> None:
    """De-identification reads the blob through the store's seekable range reader, and stores its copy there."""
    file_id = _upload(s3_client, CT.read_bytes())
    response = s3_client.post(f"/files/{file_id}/deidentify")
    assert response.status_code == 201, response.text
    copy_id = response.json()["file_id"]
    assert sorted(s3_objects(s3_endpoint, s3_bucket)) == sorted([f"prefix/{file_id}", f"prefix/{copy_id}"])
    copy = s3_client.get(f"/files/{copy_id}/dicom").content
    assert b"CompressedSamples" not in copy
    assert s3_client.get(f"/files/{file_id}/deidentified").content == copy  # one key, the same file
