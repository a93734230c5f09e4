"""The three contract endpoints through HTTP, on the embedded defaults (SQLite + a local folder)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from dicom_api.config import Settings
from tests.helpers import make_client, sample, settings_for

CT = sample("CT_small.dcm")


def _stored(settings: Settings) -> tuple[list[Path], list[Path]]:
    """Everything an upload can leave behind: blobs and spool files (the running server's lock file aside)."""
    blobs = [p for p in (settings.data_dir / "blobs").rglob("*") if p.is_file()]
    spool = [p for p in settings.spool_dir.rglob("*") if p.is_file() and p.suffix != ".lock"]
    return blobs, spool


def test_upload_answers_201_with_hex_id_and_location(client: TestClient) -> None:
    response = client.post("/upload/dicom", files={"file": ("ct.dcm", CT.read_bytes(), "application/dicom")})
    assert response.status_code == 201
    file_id = response.json()["file_id"]
    assert re.fullmatch("[0-9a-f]{32}", file_id)
    assert response.headers["location"] == f"/files/{file_id}"


def test_original_is_kept_byte_for_byte_with_size_and_sha256(client: TestClient, upload) -> None:
    import hashlib

    data = CT.read_bytes()
    file_id = upload(data)
    original = client.get(f"/files/{file_id}/dicom")
    assert original.status_code == 200
    assert original.content == data
    info = client.get(f"/files/{file_id}").json()
    assert info["size_bytes"] == len(data)
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["modality"] == "CT"
    assert info["rows"] == 128
    assert info["patient_id"] == "1CT1"


def test_png_is_the_rescaled_ct_stretched(client: TestClient, upload) -> None:
    import pydicom

    file_id = upload(CT)
    response = client.get(f"/download/png/{file_id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"] == f'attachment; filename="{file_id}.png"'
    image = np.asarray(Image.open(io.BytesIO(response.content)))
    assert image.shape == (128, 128)
    assert image.dtype == np.uint8
    # independent check: the file has no window, so rescaled values are stretched min to max
    ds = pydicom.dcmread(CT)
    assert "WindowCenter" not in ds
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    expected = (hu - hu.min()) / (hu.max() - hu.min()) * 255
    assert np.abs(image.astype(float) - expected).max() <= 1


def test_png_etag_gives_304(client: TestClient, upload) -> None:
    file_id = upload(CT)
    first = client.get(f"/download/png/{file_id}")
    etag = first.headers["etag"]
    again = client.get(f"/download/png/{file_id}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = client.get(f"/download/png/{file_id}?window_center=40&window_width=400", headers={"If-None-Match": etag})
    assert other.status_code == 200
    assert other.headers["etag"] != etag


@pytest.mark.parametrize(
    ("group", "element", "vr", "name", "value"),
    [
        ("0010", "0010", "PN", "Patient's Name", "CompressedSamples^CT1"),
        ("0x0028", "0x0010", "US", "Rows", 128),
        ("0028", "0030", "DS", "Pixel Spacing", [0.661468, 0.661468]),
        ("0002", "0010", "UI", "Transfer Syntax UID", "1.2.840.10008.1.2.1"),
        ("0008", "0008", "CS", "Image Type", ["ORIGINAL", "PRIMARY", "AXIAL"]),
        ("0X0020", "0X0013", "IS", "Instance Number", 1),
    ],
)
def test_header_attribute_values(client: TestClient, upload, group, element, vr, name, value) -> None:
    file_id = upload(CT)
    response = client.get("/header_attribute", params={"file_id": file_id, "tag_group": group, "tag_element": element})
    assert response.status_code == 200, response.text
    attribute = response.json()["header_attributes"]
    assert (attribute["VR"], attribute["name"], attribute["value"]) == (vr, name, value)


def test_pixel_data_attribute_is_described_not_read(client: TestClient, upload) -> None:
    file_id = upload(CT)
    response = client.get("/header_attribute", params={"file_id": file_id, "tag_group": "7FE0", "tag_element": "0010"})
    attribute = response.json()["header_attributes"]
    assert attribute["VR"] == "OW"
    assert attribute["length"] == 128 * 128 * 2
    assert attribute["value"] is None


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"tag_group": "0011", "tag_element": "0999"}, 404),
        ({"tag_group": "zz10", "tag_element": "0010"}, 400),
        ({"tag_group": "010", "tag_element": "0010"}, 400),
        ({"tag_group": "00100", "tag_element": "0010"}, 400),
        ({"tag_group": "0x", "tag_element": "0010"}, 400),
        ({"tag_group": "0010"}, 400),
        ({"tag_element": "0010"}, 400),
    ],
)
def test_header_attribute_errors(client: TestClient, upload, params, status) -> None:
    file_id = upload(CT)
    response = client.get("/header_attribute", params={"file_id": file_id, **params})
    assert response.status_code == status
    assert set(response.json()) == {"error"}
    assert response.json()["error"]


def test_unknown_ids_are_404(client: TestClient) -> None:
    unknown = os.urandom(16).hex()
    for path in (
        f"/download/png/{unknown}",
        f"/files/{unknown}",
        f"/files/{unknown}/dicom",
        f"/files/{unknown}/attributes",
        "/download/png/..%2F..%2Fetc%2Fpasswd",
        "/download/png/x' OR 1=1",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert set(response.json()) == {"error"}
    response = client.get("/header_attribute", params={"file_id": unknown, "tag_group": "0010", "tag_element": "0010"})
    assert response.status_code == 404
    assert response.json()["error"]


@pytest.mark.parametrize(
    ("label", "payload"),
    [
        ("empty", b""),
        ("text", b"hello, not dicom\n" * 50),
        ("png", b"\x89PNG\r\n\x1a\n" + bytes(500)),
        ("random", np.random.default_rng(7).bytes(4096)),
        ("truncated third", CT.read_bytes()[: len(CT.read_bytes()) // 3]),
        ("truncated in header", CT.read_bytes()[:300]),
        ("preamble only", bytes(128) + b"DICM"),
    ],
)
def test_bad_uploads_are_400_and_leave_nothing(client: TestClient, settings: Settings, label, payload) -> None:
    response = client.post("/upload/dicom", files={"file": ("x.dcm", payload, "application/octet-stream")})
    assert response.status_code == 400, (label, response.text)
    assert set(response.json()) == {"error"}
    assert len(response.json()["error"]) > 10
    assert _stored(settings) == ([], [])
    assert client.get("/files").json()["total"] == 0


def test_upload_without_file_field_or_multipart(client: TestClient, settings: Settings) -> None:
    response = client.post("/upload/dicom", files={"other": ("x.dcm", CT.read_bytes(), "application/dicom")})
    assert response.status_code == 400
    assert "'file'" in response.json()["error"]
    response = client.post("/upload/dicom", content=CT.read_bytes(), headers={"content-type": "application/dicom"})
    assert response.status_code == 415
    assert response.json()["error"]
    assert _stored(settings) == ([], [])


def test_upload_over_the_limit_is_413_and_leaves_nothing(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data", max_upload_bytes=10_000)
    for client in make_client(settings):

        def body():  # chunked, no Content-Length: the limit must be enforced while streaming
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n'
            for _ in range(100):
                yield bytes(1000)
            yield b"\r\n--b--\r\n"

        response = client.post(
            "/upload/dicom", content=body(), headers={"content-type": "multipart/form-data; boundary=b"}
        )
        assert response.status_code == 413
        assert "limit" in response.json()["error"]
        response = client.post("/upload/dicom", files={"file": ("ct.dcm", CT.read_bytes(), "application/dicom")})
        assert response.status_code == 413
        assert _stored(settings) == ([], [])


def test_file_without_preamble_is_accepted(client: TestClient, upload) -> None:
    data = CT.read_bytes()[128 + 4 :]  # the meta group follows 'DICM' directly
    file_id = upload(data)
    assert client.get(f"/download/png/{file_id}").status_code == 200


def test_no_image_is_404_and_names_it(client: TestClient, upload) -> None:
    file_id = upload(sample("rtplan.dcm"))
    response = client.get(f"/download/png/{file_id}")
    assert response.status_code == 404
    assert "no image" in response.json()["error"]


def test_frame_and_window_parameters(client: TestClient, upload) -> None:
    file_id = upload(CT)
    for query in (
        "frame=2",
        "frame=0",
        "frame=x",
        "window_center=40",
        "window_width=0&window_center=1",
        "window_center=nan&window_width=10",
    ):
        response = client.get(f"/download/png/{file_id}?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"]


def test_delete_removes_row_and_blob(client: TestClient, settings: Settings, upload) -> None:
    file_id = upload(CT)
    client.get(f"/download/png/{file_id}")
    assert client.delete(f"/files/{file_id}").status_code == 204
    assert client.get(f"/files/{file_id}").status_code == 404
    assert client.delete(f"/files/{file_id}").status_code == 404
    assert _stored(settings) == ([], [])


def test_list_is_newest_first_and_paginated(client: TestClient, upload) -> None:
    ids = [upload(CT) for _ in range(3)]
    page = client.get("/files?limit=2").json()
    assert page["total"] == 3
    assert [i["file_id"] for i in page["items"]] == ids[::-1][:2]
    rest = client.get("/files?limit=2&offset=2").json()
    assert [i["file_id"] for i in rest["items"]] == ids[:1]
    assert client.get("/files?limit=0").status_code == 400


def test_dicom_json_model(client: TestClient, upload) -> None:
    file_id = upload(CT)
    response = client.get(f"/files/{file_id}/attributes")
    assert response.headers["content-type"].startswith("application/dicom+json")
    model = response.json()
    assert model["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "CompressedSamples^CT1"}]}
    assert model["00280010"]["Value"] == [128]
    assert model["7FE00010"] == {"vr": "OW"}
    assert model["00020010"]["Value"] == ["1.2.840.10008.1.2.1"]


def test_every_error_is_an_error_object(client: TestClient) -> None:
    for method, path, status in (
        ("GET", "/no/such/route", 404),
        ("PUT", "/files", 405),
        ("DELETE", "/upload/dicom", 405),
        ("GET", "/files?limit=abc", 400),
    ):
        response = client.request(method, path)
        assert response.status_code == status, (method, path)
        assert set(response.json()) == {"error"}
        assert response.json()["error"]


def test_unhandled_error_is_500_with_request_id(settings: Settings, monkeypatch) -> None:
    from dicom_api.services import files

    def boom(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(files.Files, "list", boom)
    upgrade_settings = settings
    for client in make_client(upgrade_settings):
        client_no_raise = TestClient(client.app, raise_server_exceptions=False, headers=client.headers)
        response = client_no_raise.get("/files")
        assert response.status_code == 500
        body = response.json()
        assert set(body) == {"error"}
        assert "secret" not in body["error"]
        assert response.headers["x-request-id"] in body["error"]


def test_swagger_ui_is_served_offline(client: TestClient) -> None:
    page = client.get("/swagger/")
    assert page.status_code == 200
    assert "swagger-ui" in page.text
    assert "cdn" not in page.text.lower()
    assert "https://" not in page.text.split("<body>")[0]
    assert client.get("/swagger/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/swagger/assets/swagger-ui.css").status_code == 200
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/upload/dicom"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["properties"]["file"]["format"] == "binary"
    assert {"400", "413"} <= set(spec["paths"]["/upload/dicom"]["post"]["responses"])


def test_health_and_metrics(client: TestClient, upload) -> None:
    assert client.get("/health/live").json() == {"status": "ok"}
    assert client.get("/health/ready").json() == {"status": "ok"}
    upload(CT)
    text = client.get("/metrics").text
    assert "dicom_api_uploads_total 1.0" in text
    assert 'route="/upload/dicom"' in text


def test_database_down_is_503(settings: Settings) -> None:
    from functools import partial

    from dicom_api.db.engine import make_engine, make_session_factory, transaction
    from dicom_api.db.lookups import Lookups
    from dicom_api.services.files import Files
    from dicom_api.services.readiness import Readiness

    for client in make_client(settings):
        context = client.app.state.context
        closed_port = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2")
        context.engine, context.sessions = closed_port, make_session_factory(closed_port)
        unreachable = partial(transaction, context.sessions)
        context.files = Files(Lookups(closed_port), context.store, context.headers, unreachable, context.audit)
        context.readiness = Readiness(closed_port, context.store)
        answers = TestClient(client.app, raise_server_exceptions=False, headers=client.headers)
        for path in ("/files", "/health/ready"):
            response = answers.get(path)
            assert response.status_code == 503, (path, response.text)
            assert set(response.json()) == {"error"}


def test_head_on_the_png_route_answers_as_declared(client: TestClient, upload) -> None:
    """The route declares GET only: HEAD is a 405 with its Allow header, not a render."""
    file_id = upload(CT)
    response = client.head(f"/download/png/{file_id}")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


def test_the_contract_routes_honour_dependency_overrides(client: TestClient, upload) -> None:
    """Every route goes through FastAPI's dependencies, the hot ones included."""
    from dicom_api.api.deps import get_principal
    from dicom_api.errors import Unauthorized

    file_id = upload(CT)

    def refuse() -> None:
        raise Unauthorized("overridden")

    client.app.dependency_overrides[get_principal] = refuse
    try:
        for path in (
            f"/download/png/{file_id}",
            f"/header_attribute?file_id={file_id}&tag_group=0010&tag_element=0010",
        ):
            response = client.get(path)
            assert (response.status_code, response.json()) == (401, {"error": "overridden"})
    finally:
        client.app.dependency_overrides.clear()
