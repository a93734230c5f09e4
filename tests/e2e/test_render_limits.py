"""Render processes as a running server has them: they die with it, and one request cannot take the server and
its render processes over their memory budget, while honest large images still render."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import psutil
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless, generate_uid

from tests.e2e.live import Launch, LiveServer, RssSampler
from tests.helpers import sample

pytestmark = pytest.mark.slow

CT = sample("CT_small.dcm")
RESIDENT_LIMIT = 1024 * 1024 * 1024  # the documented budget of a server with two render processes, defaults
WORKERS_EXIT_SECONDS = 15


def _image(path: Path, rows: int, columns: int) -> Path:
    """A 16-bit grey image of noise, uncompressed, with CT_small's header."""
    ds = pydicom.dcmread(CT)
    ds.Rows, ds.Columns = rows, columns
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.PixelData = np.random.default_rng(0).integers(0, 4096, (rows, columns), dtype=np.uint16).tobytes()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)
    return path


def _jpeg2000_frames(path: Path, frames: int) -> Path:
    """A multi-frame JPEG 2000 image: one 512x512 frame encoded once, its codestream repeated."""
    source = get_testdata_file("CT_small.dcm", download=False)
    assert source is not None
    ds = pydicom.dcmread(source)
    ds.Rows = ds.Columns = 512
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.PixelRepresentation = 0
    pixels = np.random.default_rng(1).integers(0, 4096, (512, 512), dtype=np.uint16)
    ds.compress(JPEG2000Lossless, pixels, encoding_plugin="pylibjpeg")
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    ds.PixelData = encapsulate([frame] * frames)
    ds.NumberOfFrames = frames
    ds.save_as(path, enforce_file_format=True)
    return path


def _upload(api: httpx.Client, path: Path) -> str:
    with path.open("rb") as fp:
        answer = api.post("/upload/dicom", files={"file": (path.name, fp, "application/dicom")})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["file_id"])


def _workers(server: LiveServer) -> list[psutil.Process]:
    return server.process.children(recursive=True)


def test_render_processes_die_with_a_killed_server(launch: Launch) -> None:
    server = launch()
    with server.client() as api:
        file_id = _upload(api, CT)
        assert api.get(f"/download/png/{file_id}").status_code == 200
    workers = _workers(server)
    assert len(workers) >= 2
    server.process.kill()  # SIGKILL: no clean-up of its own runs
    _, alive = psutil.wait_procs(workers, timeout=WORKERS_EXIT_SECONDS)
    assert alive == [], f"{len(alive)} render processes outlived their server"


def test_one_request_cannot_take_the_server_over_its_memory_budget(launch: Launch, tmp_path: Path) -> None:
    server = launch()
    with server.client(timeout=300) as api:
        honest = [
            _upload(api, CT),
            _upload(api, _image(tmp_path / "radiograph.dcm", 2000, 2500)),
            _upload(api, _jpeg2000_frames(tmp_path / "j2k.dcm", 100)),
        ]
        # 100 megapixels of 16 bits: its float pipeline needs gigabytes, more than a render may use.
        hungry = _upload(api, _image(tmp_path / "hungry.dcm", 10000, 10000))
        with RssSampler(server.process) as sampler:
            for file_id in honest:
                answer = api.get(f"/download/png/{file_id}", params={"frame": 1})
                assert answer.status_code == 200, answer.text
            last_frame = api.get(f"/download/png/{honest[2]}", params={"frame": 100})
            assert last_frame.status_code == 200, last_frame.text
            refused = api.get(f"/download/png/{hungry}")
            assert refused.status_code == 422, refused.text  # the memory limit, or a check before decoding
            assert set(refused.json()) == {"error"}
            again = api.get(f"/download/png/{honest[0]}", params={"window_center": 40, "window_width": 400})
            assert again.status_code == 200, again.text
    assert sampler.peak < RESIDENT_LIMIT, f"peak resident {sampler.peak >> 20} MiB"
