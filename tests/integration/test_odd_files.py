"""Whatever the upload accepts, every read route answers without a 5xx: files with values their VR does not
allow, an unknown VR, and (stored before uploads were bounded) sequences nested thousands deep."""

from __future__ import annotations

import io
import json
import warnings
from typing import Any

import pydicom
import pytest
from fastapi.testclient import TestClient

from dicom_api.dicom import inspect
from tests.odd_files import ODD_VALUES, odd_files

NESTED = [name for name in odd_files() if name.startswith("nested_")]


def _tags(data: bytes) -> list[int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(io.BytesIO(data))
    return sorted({int(t) for t in ds.file_meta.keys()} | {int(t) for t in ds.keys()})


def _strict(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def _read_every_route(client: TestClient, file_id: str, data: bytes) -> dict[str, Any]:
    for tag in _tags(data):
        params = {"file_id": file_id, "tag_group": f"{tag >> 16:04X}", "tag_element": f"{tag & 0xFFFF:04X}"}
        response = client.get("/header_attribute", params=params)
        assert response.status_code in (200, 404), (f"{tag:08X}", response.status_code, response.text)
        _strict(response.text)
    assert client.get(f"/files/{file_id}").status_code == 200
    assert client.get(f"/files/{file_id}/dicom").content == data
    png = client.get(f"/download/png/{file_id}")
    assert png.status_code in (200, 422), png.text  # 422: pixels that cannot be shown, never a 5xx
    listing = client.get("/files")
    assert listing.status_code == 200
    assert file_id in [item["file_id"] for item in listing.json()["items"]]
    model = client.get(f"/files/{file_id}/attributes")
    assert model.status_code == 200, model.text
    return dict(_strict(model.text))


@pytest.mark.parametrize("name", sorted(ODD_VALUES))
def test_odd_values_are_read_by_every_route(client: TestClient, upload, name: str) -> None:
    data = odd_files()[name]
    model = _read_every_route(client, upload(data), data)
    tag = ODD_VALUES[name][0]
    assert model[f"{tag:08X}"]["vr"] in (ODD_VALUES[name][1], "UN")
    assert model["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "CompressedSamples^CT1"}]}


@pytest.mark.parametrize("name", NESTED)
def test_deep_nesting_is_refused_at_upload(client: TestClient, name: str) -> None:
    response = client.post("/upload/dicom", files={"file": ("f.dcm", odd_files()[name])})
    assert response.status_code == 400
    assert response.json() == {
        "error": "The DICOM data set nests sequences more than 64 levels deep, which is not supported."
    }


@pytest.mark.parametrize("name", NESTED)
def test_deep_nesting_stored_before_is_read_by_every_route(
    client: TestClient, upload, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As uploads were before the bounds: the header walk refuses deep nesting too, before pydicom recurses.
    monkeypatch.setattr(inspect, "check_sequence_depth", lambda _ds: None)
    monkeypatch.setattr(inspect, "_check_element_count", lambda _fp, _size: None)
    data = odd_files()[name]
    model = _read_every_route(client, upload(data), data)
    assert model["0040A730"]["vr"] in ("SQ", "UN")
    assert model["00100020"] == {"vr": "LO", "Value": ["1CT1"]}
