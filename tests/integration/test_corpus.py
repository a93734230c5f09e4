"""Every file of pydicom's test data and of pydicom-data through the HTTP contract.

Upload answers 201, or 400 for the reviewed files of REFUSED; a stored file renders as a PNG of Columns x Rows,
answers 404 when it has no Pixel Data, or 422 for the reviewed files of UNDECODABLE; and every top-level
attribute of it, file meta and Pixel Data included, answers with the VR pydicom reads.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator

import httpx
import pydicom
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from dicom_api.dicom.inspect import PIXEL_TAGS
from tests.corpus import CORPUS
from tests.helpers import make_client, settings_for

# Refused at upload (400), each for a reason read in the file itself.
REFUSED = {
    "pydicom/README.txt": "text",
    "pydicom/dicomdirtests/README.txt": "text",
    "pydicom/dicomdirtests/TINY_ALPHA/README": "text",
    "pydicom/rtplan.dump": "a text dump of rtplan.dcm",
    "pydicom/rtstruct.dump": "a text dump of rtstruct.dcm",
    "pydicom/test1.json": "the DICOM JSON model, not a PS3.10 file",
    "pydicom/test_PN.json": "the DICOM JSON model, not a PS3.10 file",
    "pydicom/zipMR.gz": "gzip",
    "pydicom/crayons.icc": "an ICC colour profile",
    "pydicom/no_meta.dcm": "no preamble, and starts one byte into a data set (pydicom reads one 38 KB element)",
    "pydicom/MR_truncated.dcm": "truncated: Pixel Data shorter than its declared length",
    "pydicom/rtplan_truncated.dcm": "truncated inside its last attribute",
    "pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm": (
        "truncated: the encapsulated Pixel Data ends without its sequence delimiter"
    ),
}

# Stored, but their Pixel Data cannot be shown (422), each for a reason checked with pydicom.
UNDECODABLE = {
    "pydicom/JPEG2000-embedded-sequence-delimiter.dcm": (
        "its one 250-byte fragment is no J2K codestream (the SIZ marker holds a sequence delimiter's bytes)"
    ),
    "pydicom/meta_missing_tsyntax.dcm": "2 bytes of Pixel Data and no Image Pixel module (no Rows, Columns)",
    "pydicom/nested_priv_SQ.dcm": "2 bytes of Pixel Data and no Image Pixel module (no Rows, Columns)",
}

ACCEPTED = [name for name in CORPUS if name not in REFUSED]


def _reference(name: str) -> pydicom.Dataset:
    return pydicom.dcmread(CORPUS[name], force=True)


def _pixel_tag(ds: pydicom.Dataset) -> int | None:
    return next((t for t in PIXEL_TAGS if t in ds), None)


def _after_pixel_data(name: str) -> list[int]:
    """Top-level tags after Pixel Data (such as Data Set Trailing Padding)."""
    ds = pydicom.dcmread(CORPUS[name], force=True, defer_size=256)
    pixel = _pixel_tag(ds)
    return [int(t) for t in ds.keys() if pixel is not None and t > pixel]


TRAILING = [name for name in ACCEPTED if _after_pixel_data(name)]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app and database for the whole corpus (the conftest client, built once per module)."""
    yield from make_client(settings_for(tmp_path_factory.mktemp("corpus") / "data"))


@pytest.fixture(scope="module")
def stored() -> dict[str, str]:
    """Each accepted file's id, uploaded once by test_upload and reused by the tests that follow."""
    return {}


def _file_id(client: TestClient, stored: dict[str, str], name: str) -> str:
    if name not in stored:
        response = client.post("/upload/dicom", files={"file": (CORPUS[name].name, CORPUS[name].read_bytes())})
        assert response.status_code == 201, response.text
        stored[name] = response.json()["file_id"]
    return stored[name]


def test_reviewed_lists_name_files_of_the_corpus() -> None:
    assert len(CORPUS) > 200
    assert set(REFUSED) <= set(CORPUS)
    assert set(UNDECODABLE) <= set(ACCEPTED)


@pytest.mark.parametrize("name", CORPUS)
def test_upload(client: TestClient, stored: dict[str, str], name: str) -> None:
    if name in REFUSED:
        response = client.post("/upload/dicom", files={"file": (CORPUS[name].name, CORPUS[name].read_bytes())})
        assert response.status_code == 400, (REFUSED[name], response.text)
        assert set(response.json()) == {"error"}
        assert len(response.json()["error"]) > 20
        return
    _file_id(client, stored, name)


@pytest.mark.parametrize("name", ACCEPTED)
def test_png(client: TestClient, stored: dict[str, str], name: str) -> None:
    ds = _reference(name)
    response = client.get(f"/download/png/{_file_id(client, stored, name)}")
    if name in UNDECODABLE:
        assert response.status_code == 422, (UNDECODABLE[name], response.text)
        assert len(response.json()["error"]) > 20
    elif _pixel_tag(ds) is None:
        assert response.status_code == 404, response.text
        assert "no image" in response.json()["error"]
    else:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(response.content))
        image.verify()  # CRCs and structure
        assert image.size == (int(ds.Columns), int(ds.Rows))


def _vrs_answered(client: TestClient, file_id: str, tags: list[int]) -> dict[int, tuple[int, str | None]]:
    """GET /header_attribute for each tag: (status, VR), or (status, error) when it is not 200.

    Sent through an async client on the app itself: the test client's hop between threads costs more than
    the request, and the corpus makes some 14,000 of them.
    """

    async def ask() -> dict[int, tuple[int, str | None]]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(
            transport=transport, base_url=str(client.base_url), headers=client.headers
        ) as http:
            answers = {}
            for tag in tags:
                group, element = f"{tag >> 16:04X}", f"{tag & 0xFFFF:04x}"  # both cases, as clients write them
                params = {"file_id": file_id, "tag_group": group, "tag_element": element}
                response = await http.get("/header_attribute", params=params)
                body = response.json()
                ok = response.status_code == 200
                answers[tag] = (response.status_code, body["header_attributes"]["VR"] if ok else body.get("error"))
            return answers

    return asyncio.run(ask())


@pytest.mark.parametrize("name", ACCEPTED)
def test_every_attribute_answers_with_its_vr(client: TestClient, stored: dict[str, str], name: str) -> None:
    ds = _reference(name)
    file_id = _file_id(client, stored, name)
    trailing = set(_after_pixel_data(name))
    expected = {int(t): str(ds.file_meta[t].VR) for t in ds.file_meta.keys()}
    expected.update({int(t): str(ds[t].VR) for t in ds.keys() if int(t) not in trailing})
    answered = _vrs_answered(client, file_id, list(expected))
    wrong = {f"{t:08X}": (expected[t], got) for t, got in answered.items() if got != (200, expected[t])}
    assert wrong == {}, "(expected VR, (status, VR or error)) by tag"


@pytest.mark.parametrize("name", TRAILING)
def test_attributes_after_pixel_data_answer_with_their_vr(
    client: TestClient, stored: dict[str, str], name: str
) -> None:
    ds = _reference(name)
    file_id = _file_id(client, stored, name)
    tags = _after_pixel_data(name)
    assert _vrs_answered(client, file_id, tags) == {tag: (200, str(ds[tag].VR)) for tag in tags}
