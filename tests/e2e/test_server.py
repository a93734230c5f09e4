"""The running server as a client sees it: a real process, real sockets, render workers in their own processes."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from tests.e2e.live import Launch, LiveServer
from tests.helpers import sample

CT = sample("CT_small.dcm")
SMALL_LIMIT = 64 * 1024
MULTIPART = "multipart/form-data; boundary=b"
PART_HEAD = b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.dcm"\r\n\r\n'


@pytest.fixture(scope="module")
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture(scope="module")
def small_limit_server(launch: Launch) -> LiveServer:
    return launch(DICOM_API_MAX_UPLOAD_BYTES=str(SMALL_LIMIT))


def _attribute(api: httpx.Client, file_id: str, group: str, element: str) -> dict[str, object]:
    response = api.get("/header_attribute", params={"file_id": file_id, "tag_group": group, "tag_element": element})
    assert response.status_code == 200, response.text
    return dict(response.json()["header_attributes"])


def test_swagger_ui_is_the_front_page(api: httpx.Client) -> None:
    assert api.get("/").headers["location"] == "/ui/"
    page = api.get("/swagger/")
    assert page.status_code == 200
    assert "swagger-ui" in page.text


def test_ct_round_trip(api: httpx.Client, server: LiveServer) -> None:
    data = CT.read_bytes()
    before = server.stored()
    response = api.post("/upload/dicom", files={"file": ("ct.dcm", data, "application/dicom")})
    assert response.status_code == 201, response.text
    file_id = response.json()["file_id"]
    assert response.headers["location"] == f"/files/{file_id}"

    png = api.get(f"/download/png/{file_id}")
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    assert (image.size, image.mode) == ((128, 128), "L")

    assert _attribute(api, file_id, "0010", "0010")["value"] == "CompressedSamples^CT1"
    pixel_data = _attribute(api, file_id, "7FE0", "0010")
    assert (pixel_data["VR"], pixel_data["length"], pixel_data["value"]) == ("OW", 128 * 128 * 2, None)

    original = api.get(f"/files/{file_id}/dicom")
    assert original.status_code == 200
    assert original.content == data
    assert original.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'

    assert api.delete(f"/files/{file_id}").status_code == 204
    assert api.get(f"/files/{file_id}").status_code == 404
    assert api.get(f"/download/png/{file_id}").status_code == 404
    assert server.stored() == before


@pytest.mark.parametrize(
    ("label", "payload"),
    [
        ("empty", b""),
        ("text", b"hello, not dicom\n" * 50),
        ("png", b"\x89PNG\r\n\x1a\n" + bytes(500)),
        ("truncated", CT.read_bytes()[: CT.stat().st_size // 2]),
        ("preamble only", bytes(128) + b"DICM"),
    ],
)
def test_bad_upload_is_400_and_leaves_nothing(
    api: httpx.Client, server: LiveServer, label: str, payload: bytes
) -> None:
    before = server.stored()
    response = api.post("/upload/dicom", files={"file": ("x.dcm", payload, "application/octet-stream")})
    assert response.status_code == 400, (label, response.text)
    assert set(response.json()) == {"error"}
    assert response.json()["error"]
    assert server.stored() == before


def test_upload_that_is_not_multipart_is_415(api: httpx.Client, server: LiveServer) -> None:
    before = server.stored()
    response = api.post("/upload/dicom", content=CT.read_bytes(), headers={"content-type": "application/dicom"})
    assert response.status_code == 415
    assert set(response.json()) == {"error"}
    assert server.stored() == before


def _post_unfinished(server: LiveServer, parts: Iterable[bytes]) -> tuple[int, dict[str, str]]:
    """POST a chunked body without its last chunk, then wait for the answer while the body is still open.

    httpx sends the whole body before it reads an answer, so this client is the one that can tell whether
    the server answers early.
    """
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    try:
        connection.putrequest("POST", "/upload/dicom")
        connection.putheader("Content-Type", MULTIPART)
        connection.putheader("Transfer-Encoding", "chunked")
        for name, value in server.headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        for part in parts:
            connection.send(b"%x\r\n%s\r\n" % (len(part), part))
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_streamed_upload_over_the_limit_is_413_before_the_body_ends(small_limit_server: LiveServer) -> None:
    before = small_limit_server.stored()
    # One byte over the limit and no more: the server has read all that was sent when it answers and closes,
    # so the close is clean (unread bytes would make it a reset that can reach the client before the 413).
    status, body = _post_unfinished(small_limit_server, [PART_HEAD, bytes(SMALL_LIMIT + 1)])
    assert status == 413
    assert "limit" in body["error"]
    assert small_limit_server.stored() == before


def test_chunked_upload_over_the_limit_is_413_and_leaves_nothing(small_limit_server: LiveServer) -> None:
    def body() -> Iterator[bytes]:  # a generator: httpx sends it chunked, with no Content-Length
        yield PART_HEAD
        for _ in range(64):
            yield bytes(SMALL_LIMIT)
        yield b"\r\n--b--\r\n"

    before = small_limit_server.stored()
    with small_limit_server.client() as api:
        response = api.post("/upload/dicom", content=body(), headers={"content-type": MULTIPART})
        assert response.status_code == 413
        assert set(response.json()) == {"error"}
        assert small_limit_server.stored() == before
        # the server still takes uploads within the limit
        response = api.post("/upload/dicom", files={"file": ("ct.dcm", CT.read_bytes(), "application/dicom")})
        assert response.status_code == 201, response.text
        assert api.delete(f"/files/{response.json()['file_id']}").status_code == 204
