"""The memory promise, proved on a real process: a 1 GiB upload moves through the server, not into it."""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest

from tests.e2e.big_dicom import write_big_dicom
from tests.e2e.live import LiveServer, MultipartBody, RssSampler

MIB = 1024 * 1024
GIB = 1024 * MIB
MAX_GROWTH = 100 * MIB


def test_the_sampler_sees_a_child_process_grow() -> None:
    """The instrument first: 200 MiB filled in a child of the watched process show in the peak."""
    child = "import time; b = b'x' * (200 * 2**20); time.sleep(0.5)"
    watched = f"import subprocess, sys; sys.stdin.readline(); subprocess.run([sys.executable, '-c', {child!r}])"
    process = subprocess.Popen([sys.executable, "-c", watched], stdin=subprocess.PIPE)
    try:
        with RssSampler(psutil.Process(process.pid), interval=0.05) as rss:
            process.communicate(b"go\n", timeout=60)
        assert rss.growth > 150 * MIB
    finally:
        process.kill()
        process.wait()


@pytest.mark.slow
def test_one_gib_upload_keeps_server_memory_flat(server: LiveServer, tmp_path) -> None:
    big = write_big_dicom(tmp_path / "big.dcm", GIB)
    body = MultipartBody(big.path)
    headers = {"content-type": body.content_type, "content-length": str(len(body))}
    try:
        with server.client(timeout=600) as api:
            with RssSampler(server.process, interval=0.05) as rss:
                response = api.post("/upload/dicom", content=body, headers=headers)
            assert response.status_code == 201, response.text
            assert rss.samples > 0
            assert rss.growth < MAX_GROWTH, (
                f"resident memory grew by {rss.growth / MIB:.1f} MiB "
                f"({rss.before / MIB:.1f} -> {rss.peak / MIB:.1f} MiB) during the upload"
            )
            file_id = response.json()["file_id"]
            try:
                info = api.get(f"/files/{file_id}").json()
                assert (info["size_bytes"], info["sha256"]) == (big.size, big.sha256)
                assert info["number_of_frames"] == big.frames

                params = {"file_id": file_id, "tag_group": "7FE0", "tag_element": "0010"}
                pixel_data = api.get("/header_attribute", params=params).json()["header_attributes"]
                assert (pixel_data["VR"], pixel_data["length"]) == ("OW", big.pixel_data_length)
                params = {"file_id": file_id, "tag_group": "0010", "tag_element": "0010"}
                name = api.get("/header_attribute", params=params).json()["header_attributes"]
                assert (name["VR"], name["value"]) == ("PN", "CompressedSamples^CT1")
            finally:
                assert api.delete(f"/files/{file_id}").status_code == 204
        assert server.stored() == ([], [])
    finally:
        big.path.unlink(missing_ok=True)
