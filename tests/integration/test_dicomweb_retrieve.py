"""WADO-RS through HTTP (PS3.18 10.4) on SQLite and PostgreSQL: instances, metadata, frames, bulk data, rendered
and thumbnail images, scoped to their owner."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pydicom import Dataset, dcmread
from pydicom.encaps import generate_frames

from dicom_api.errors import CannotTranscode
from dicom_api.services import dicomweb_retrieve as retrieve_service
from tests.helpers import add_user, make_client, sample
from tests.worlds import BACKENDS, backend_settings, bearer

EVRLE = "1.2.840.10008.1.2.1"
DICOM_PARTS = 'multipart/related; type="application/dicom"'
STORED = 'multipart/related; type="application/dicom"; transfer-syntax=*'
OHIF_FRAMES = 'multipart/related; type="application/octet-stream"; transfer-syntax="*"'
FILES = {
    "ct": "CT_small.dcm",
    "multiframe": "emri_small.dcm",
    "jpeg": "SC_rgb_jpeg_dcmtk.dcm",  # JPEG Baseline; a study with the next one
    "rle": "SC_rgb_rle_2frame.dcm",  # RLE Lossless, 2 frames
}


@dataclass
class Stored:
    path: Path
    ds: Dataset

    @property
    def study(self) -> str:
        return f"/dicomweb/studies/{self.ds.StudyInstanceUID}"

    @property
    def series(self) -> str:
        return f"{self.study}/series/{self.ds.SeriesInstanceUID}"

    @property
    def instance(self) -> str:
        return f"{self.series}/instances/{self.ds.SOPInstanceUID}"


@dataclass
class Wado:
    client: TestClient
    alice: dict[str, str]
    bob: dict[str, str]
    files: dict[str, Stored]

    def get(self, url: str, accept: str | None = None, **kwargs: object) -> object:
        headers = dict(self.alice)
        if accept is not None:
            headers["Accept"] = accept
        return self.client.get(url, headers=headers, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(params=BACKENDS)
def wado(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Wado]:
    with backend_settings(request, tmp_path / "data") as settings:
        for client in make_client(settings, as_user=None):
            alice, bob = bearer(add_user(client, "alice")), bearer(add_user(client, "bob"))
            files = {}
            for name, file in FILES.items():
                path = sample(file)
                answer = client.post("/upload/dicom", files={"file": ("f.dcm", path.read_bytes())}, headers=alice)
                assert answer.status_code == 201, answer.text
                files[name] = Stored(path, dcmread(path))
            yield Wado(client, alice, bob, files)


def parts(response: object) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/related answer: headers (lower-cased names) and content."""
    content_type = response.headers["content-type"]  # type: ignore[attr-defined]
    boundary = re.search(r"boundary=([^;]+)", content_type)
    assert boundary is not None, content_type
    delimiter = b"--" + boundary.group(1).strip('"').encode()
    body: bytes = response.content  # type: ignore[attr-defined]
    assert body.endswith(delimiter + b"--\r\n")
    found = []
    for chunk in body.split(delimiter)[1:-1]:
        head, _, content = chunk[2:].partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        found.append(({k.lower(): v for k, v in headers.items()}, content[:-2]))
    return found


def test_instance_without_transfer_syntax_is_explicit_little_endian(wado: Wado) -> None:
    ct = wado.files["ct"]
    answer = wado.get(ct.instance, DICOM_PARTS)
    assert answer.status_code == 200  # type: ignore[attr-defined]
    [(headers, content)] = parts(answer)
    assert headers["content-type"] == f"application/dicom; transfer-syntax={EVRLE}"
    assert headers["content-location"].endswith(ct.instance)
    copy = dcmread(io.BytesIO(content))
    assert copy.file_meta.TransferSyntaxUID == EVRLE
    assert np.array_equal(copy.pixel_array, ct.ds.pixel_array)


def test_compressed_instance_is_decompressed_unless_any_syntax_is_accepted(wado: Wado) -> None:
    jpeg = wado.files["jpeg"]
    [(headers, content)] = parts(wado.get(jpeg.instance, DICOM_PARTS))
    copy = dcmread(io.BytesIO(content))
    assert copy.file_meta.TransferSyntaxUID == EVRLE
    assert copy.pixel_array.shape == jpeg.ds.pixel_array.shape
    [(headers, content)] = parts(wado.get(jpeg.instance, STORED))
    assert headers["content-type"].endswith(str(jpeg.ds.file_meta.TransferSyntaxUID))
    assert content == jpeg.path.read_bytes()


def test_study_retrieve_streams_every_instance_as_stored_or_transcoded(wado: Wado) -> None:
    jpeg, rle = wado.files["jpeg"], wado.files["rle"]
    stored = parts(wado.get(jpeg.study, STORED))
    assert sorted(content for _, content in stored) == sorted([jpeg.path.read_bytes(), rle.path.read_bytes()])
    transcoded = {}
    for headers, content in parts(wado.get(jpeg.study, DICOM_PARTS)):
        assert headers["content-type"] == f"application/dicom; transfer-syntax={EVRLE}"
        copy = dcmread(io.BytesIO(content))
        transcoded[copy.SOPInstanceUID] = copy
    assert np.array_equal(transcoded[rle.ds.SOPInstanceUID].pixel_array, rle.ds.pixel_array)
    assert transcoded[jpeg.ds.SOPInstanceUID].file_meta.TransferSyntaxUID == EVRLE


def test_a_syntax_that_cannot_be_made_is_406(wado: Wado) -> None:
    answer = wado.get(wado.files["ct"].instance, DICOM_PARTS + "; transfer-syntax=1.2.840.10008.1.2.4.50")
    assert answer.status_code == 406  # type: ignore[attr-defined]
    assert "error" in answer.json()  # type: ignore[attr-defined]


def test_metadata_has_resolvable_bulk_data_and_an_etag(wado: Wado) -> None:
    jpeg = wado.files["jpeg"]
    answer = wado.get(jpeg.series + "/metadata", "application/dicom+json")
    assert answer.status_code == 200  # type: ignore[attr-defined]
    models = answer.json()  # type: ignore[attr-defined]
    assert len(models) == 2  # the JPEG and RLE images of one series
    [model] = [m for m in models if m["00080018"]["Value"] == [jpeg.ds.SOPInstanceUID]]
    assert list(model) == sorted(model)
    uri = model["7FE00010"]["BulkDataURI"]
    assert uri.startswith("http://")
    [(headers, content)] = parts(wado.get(uri.removeprefix("http://testserver"), "multipart/related; type=*/*"))
    assert content == next(generate_frames(jpeg.ds.PixelData, number_of_frames=1))
    etag = answer.headers["etag"]  # type: ignore[attr-defined]
    again = wado.client.get(jpeg.series + "/metadata", headers={**wado.alice, "If-None-Match": etag})
    assert again.status_code == 304


def test_metadata_is_built_once(wado: Wado, monkeypatch: pytest.MonkeyPatch) -> None:
    ct = wado.files["ct"]
    first = wado.get(ct.study + "/metadata")
    files = wado.client.app.state.context.files  # type: ignore[attr-defined]

    def no_reads(*_args: object) -> None:
        raise AssertionError("the header was read again")

    monkeypatch.setattr(files, "header", no_reads)
    second = wado.get(ct.study + "/metadata")
    assert second.content == first.content  # type: ignore[attr-defined]


def test_frames_in_the_order_asked_and_past_the_last_is_404(wado: Wado) -> None:
    multiframe = wado.files["multiframe"]
    size = len(multiframe.ds.PixelData) // int(multiframe.ds.NumberOfFrames)
    found = parts(wado.get(multiframe.instance + "/frames/5,2", OHIF_FRAMES))
    assert [c for _, c in found] == [multiframe.ds.PixelData[(n - 1) * size : n * size] for n in (5, 2)]
    assert all(h["content-type"] == f"application/octet-stream; transfer-syntax={EVRLE}" for h, _ in found)
    assert found[0][0]["content-location"].endswith("/frames/5")
    past = int(multiframe.ds.NumberOfFrames) + 1
    assert wado.get(f"{multiframe.instance}/frames/{past}", OHIF_FRAMES).status_code == 404  # type: ignore[attr-defined]
    assert wado.get(multiframe.instance + "/frames/1,x", OHIF_FRAMES).status_code == 400  # type: ignore[attr-defined]


def test_compressed_frames_as_stored_or_decoded_for_ohif(wado: Wado) -> None:
    jpeg = wado.files["jpeg"]
    syntax = str(jpeg.ds.file_meta.TransferSyntaxUID)
    [(headers, content)] = parts(
        wado.get(jpeg.instance + "/frames/1", f"multipart/related; type=image/jpeg; transfer-syntax={syntax}")
    )
    assert headers["content-type"] == f"image/jpeg; transfer-syntax={syntax}"
    assert content == next(generate_frames(jpeg.ds.PixelData, number_of_frames=1))
    [(headers, content)] = parts(wado.get(jpeg.instance + "/frames/1", OHIF_FRAMES))
    assert headers["content-type"] == f"application/octet-stream; transfer-syntax={EVRLE}"
    assert len(content) == jpeg.ds.Rows * jpeg.ds.Columns * 3


def test_rendered_jpeg_by_default_png_when_asked_and_bad_window_is_400(wado: Wado) -> None:
    ct = wado.files["ct"]
    answer = wado.get(ct.instance + "/rendered")
    assert answer.headers["content-type"] == "image/jpeg"  # type: ignore[attr-defined]
    png = wado.get(ct.instance + "/rendered", params={"accept": "image/png", "window": "40,400,linear"})
    with Image.open(io.BytesIO(png.content)) as picture:  # type: ignore[attr-defined]
        assert (picture.format, picture.size) == ("PNG", (ct.ds.Columns, ct.ds.Rows))
    assert wado.get(ct.instance + "/rendered", params={"window": "40"}).status_code == 400  # type: ignore[attr-defined]
    assert wado.get(ct.instance + "/rendered", "application/dicom").status_code == 406  # type: ignore[attr-defined]


@pytest.mark.parametrize("level", ["study", "series", "instance", "frame"])
def test_thumbnails_at_every_level(wado: Wado, level: str) -> None:
    multiframe = wado.files["multiframe"]
    url = {"frame": multiframe.instance + "/frames/2"}.get(level) or getattr(multiframe, level)
    answer = wado.get(url + "/thumbnail")
    assert answer.status_code == 200  # type: ignore[attr-defined]
    with Image.open(io.BytesIO(answer.content)) as picture:  # type: ignore[attr-defined]
        assert picture.format == "JPEG"
        assert max(picture.size) <= 128


def test_another_users_resources_are_404(wado: Wado) -> None:
    ct = wado.files["ct"]
    for url in (ct.study, ct.series + "/metadata", ct.instance + "/frames/1", ct.instance + "/rendered"):
        answer = wado.client.get(url, headers=wado.bob)
        assert answer.status_code == 404, url
        assert "error" in answer.json()
    assert wado.client.get(ct.study + "/metadata").status_code == 401


def test_the_same_sop_instance_in_two_stores_is_each_owners_own(wado: Wado) -> None:
    ct = wado.files["ct"]
    copy = dcmread(ct.path)
    copy.PatientID = "BOBS-COPY"
    buffer = io.BytesIO()
    copy.save_as(buffer)
    answer = wado.client.post("/upload/dicom", files={"file": ("f.dcm", buffer.getvalue())}, headers=wado.bob)
    assert answer.status_code == 201
    bobs = wado.client.get(ct.instance + "/metadata", headers=wado.bob).json()
    alices = wado.get(ct.instance + "/metadata").json()  # type: ignore[attr-defined]
    assert bobs[0]["00100020"]["Value"] == ["BOBS-COPY"]
    assert alices[0]["00100020"]["Value"] == [ct.ds.PatientID]


@pytest.mark.parametrize(
    ("url", "accept", "status"),
    [
        ("{instance}/frames/" + "1," * 3000 + "1", None, 400),  # longer than a frame list may be
        ("/dicomweb/studies/" + "1." * 40 + "/metadata", None, 400),  # longer than a UID
        ("{instance}/metadata", "application/dicom+xml", 406),
        ("{instance}/rendered?quality=0", None, 400),
        ("{instance}/rendered?viewport=100000,100000", None, 400),
        ("{instance}/bulkdata/nothing", None, 404),
        ("{instance}/bulkdata/00100010", None, 404),  # not bulk data
        ("{study}/metadata", "multipart/related; type=application/dicom", 406),
    ],
)
def test_bad_requests_are_clear_4xx(wado: Wado, url: str, accept: str | None, status: int) -> None:
    ct = wado.files["ct"]
    answer = wado.get(url.format(instance=ct.instance, study=ct.study), accept)
    assert answer.status_code == status  # type: ignore[attr-defined]
    assert "error" in answer.json()  # type: ignore[attr-defined]


def test_a_read_token_retrieves_with_bearer_or_basic(wado: Wado) -> None:
    made = wado.client.post("/users/me/tokens", json={"name": "viewer", "scope": "read"}, headers=wado.alice)
    assert made.status_code == 201, made.text
    token, ct = made.json()["token"], wado.files["ct"]
    bearer_answer = wado.client.get(ct.instance + "/metadata", headers={"Authorization": f"Bearer {token}"})
    assert bearer_answer.status_code == 200
    basic_answer = wado.client.get(ct.instance + "/frames/1", auth=("alice", token))
    assert basic_answer.status_code == 200


def test_an_instance_that_cannot_be_transcoded_goes_as_stored_when_that_is_accepted_too(
    wado: Wado, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_codec(*_args: object) -> None:
        raise CannotTranscode("no decoder here")

    monkeypatch.setattr(retrieve_service, "transcode_to_explicit_little_endian", no_codec)
    jpeg = wado.files["jpeg"]
    assert wado.get(jpeg.instance, DICOM_PARTS).status_code == 406  # type: ignore[attr-defined]
    [(headers, content)] = parts(wado.get(jpeg.instance, f"{DICOM_PARTS}, {STORED}; q=0.5"))
    assert headers["content-type"].endswith(str(jpeg.ds.file_meta.TransferSyntaxUID))
    assert content == jpeg.path.read_bytes()
