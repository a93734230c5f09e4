"""The C-STORE receiver of a running server, driven by dcmtk's echoscu and storescu and by pynetdicom as an SCU."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless, JPEGBaseline8Bit, JPEGLSLossless, RLELossless
from pynetdicom import AE, _config
from pynetdicom.association import Association
from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

from tests.corpus import CORPUS
from tests.e2e.instances import variants
from tests.e2e.live import HOST, Launch, LiveServer, free_port
from tests.helpers import sample

CT = sample("CT_small.dcm")
CALLED = "DICOMAPI"
DCMTK = shutil.which("storescu") and shutil.which("echoscu")
needs_dcmtk = pytest.mark.skipif(
    not DCMTK and os.environ.get("CI") != "true", reason="dcmtk (echoscu, storescu) is not installed"
)
# storescu proposes compressed transfer syntaxes only when asked: its option for each
COMPRESSED = {
    "pydicom/SC_rgb_jpeg_dcmtk.dcm": ("-xy", JPEGBaseline8Bit),
    "pydicom-data/emri_small_jpeg_ls_lossless.dcm": ("-xt", JPEGLSLossless),
    "pydicom-data/MR2_J2KR.dcm": ("-xv", JPEG2000Lossless),
    "pydicom-data/emri_small_RLE.dcm": ("-xr", RLELossless),
}


class Receiver:
    def __init__(self, server: LiveServer, port: int, tmp: Path) -> None:
        self.server, self.port, self.tmp = server, port, tmp

    def api(self) -> httpx.Client:
        return self.server.client()

    def count(self) -> int:
        with self.api() as api:
            return int(api.get("/files", params={"limit": 1}).json()["total"])

    def storescu(self, aet: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
        command = ["storescu", "-aet", aet, "-aec", CALLED, HOST, str(self.port), *map(str, args)]
        return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)

    def associate(self, aet: str, *, max_pdu: int = 16382) -> Association:
        ae = AE(ae_title=aet)
        ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)  # the test files' syntax
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
        return ae.associate(HOST, self.port, ae_title=CALLED, max_pdu=max_pdu)


@pytest.fixture(autouse=True)
def _send_files_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    """pynetdicom's SCU would decode a file and encode it again (mending a truncated one); send its bytes."""
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)


@pytest.fixture(scope="module")
def receiver(launch: Launch, tmp_path_factory: pytest.TempPathFactory) -> Receiver:
    port = free_port()
    tmp = tmp_path_factory.mktemp("receiver-tmp")  # where pynetdicom writes instances as they arrive
    server = launch(DICOM_API_DIMSE_PORT=str(port), TMPDIR=str(tmp))
    with server.client() as api:
        for body in (
            {"ae_title": "STORESCU", "username": "admin"},
            {"ae_title": "PYNETDICOM", "username": "admin", "host": HOST},
            {"ae_title": "ELSEWHERE", "username": "admin", "host": "192.0.2.1"},  # TEST-NET-1: never us
        ):
            assert api.post("/admin/aes", json=body).status_code == 201
    return Receiver(server, port, tmp)


@needs_dcmtk
def test_echo_from_a_registered_ae_only(receiver: Receiver) -> None:
    def echo(aet: str) -> int:
        command = ["echoscu", "-aet", aet, "-aec", CALLED, HOST, str(receiver.port)]
        return subprocess.run(command, capture_output=True, timeout=60, check=False).returncode

    assert echo("STORESCU") == 0
    assert echo("UNKNOWN") != 0
    assert echo("ELSEWHERE") != 0  # registered, but for another host


def test_unknown_calling_ae_is_rejected_at_association(receiver: Receiver) -> None:
    for aet in ("UNKNOWN", "ELSEWHERE"):
        assoc = receiver.associate(aet)
        assert assoc.is_rejected
        assert (assoc.acceptor.primitive.result, assoc.acceptor.primitive.diagnostic) == (0x01, 0x03)
    assert "calling AE title not registered" in receiver.server.log.read_text()


def test_a_wrong_called_ae_title_is_rejected(receiver: Receiver) -> None:
    ae = AE(ae_title="PYNETDICOM")
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate(HOST, receiver.port, ae_title="NOT_US")
    assert assoc.is_rejected
    assert assoc.acceptor.primitive.diagnostic == 0x07  # called AE title not recognised (PS3.8 9.3.4)


@needs_dcmtk
def test_a_series_of_300_instances_from_storescu(receiver: Receiver, tmp_path: Path) -> None:
    series = variants(CT, tmp_path / "series", 300)
    before = receiver.count()
    done = receiver.storescu("STORESCU", "+sd", tmp_path / "series")
    assert done.returncode == 0, done.stderr[-2000:]
    assert receiver.count() == before + 300
    with receiver.api() as api:
        newest = api.get("/files", params={"limit": 1}).json()["items"][0]
        original = api.get(f"/files/{newest['file_id']}/dicom")
    stored = pydicom.dcmread(io.BytesIO(original.content))  # a Part 10 file: preamble, file meta, data set
    sent = {pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in series}
    assert stored.file_meta.MediaStorageSOPInstanceUID == stored.SOPInstanceUID
    assert stored.SOPInstanceUID in sent
    assert stored.file_meta.TransferSyntaxUID == newest["transfer_syntax_uid"]


@needs_dcmtk
@pytest.mark.parametrize("label", COMPRESSED)
def test_compressed_instances_are_kept_as_they_come(receiver: Receiver, label: str) -> None:
    option, syntax = COMPRESSED[label]
    source = CORPUS[label]
    done = receiver.storescu("STORESCU", option, source)
    assert done.returncode == 0, done.stderr[-2000:]
    with receiver.api() as api:
        newest = api.get("/files", params={"limit": 1}).json()["items"][0]
        assert newest["transfer_syntax_uid"] == syntax
        stored = pydicom.dcmread(io.BytesIO(api.get(f"/files/{newest['file_id']}/dicom").content))
        assert stored.PixelData == pydicom.dcmread(source).PixelData  # the frames as they came, not re-encoded
        assert api.get(f"/download/png/{newest['file_id']}").status_code == 200


def test_pynetdicom_scu_stores_and_the_audit_trail_says_so(receiver: Receiver, tmp_path: Path) -> None:
    (path,) = variants(CT, tmp_path, 1)
    before = receiver.count()
    assoc = receiver.associate("PYNETDICOM")
    assert assoc.is_established
    try:
        assert assoc.send_c_store(path).Status == 0x0000
        assert assoc.send_c_store(path).Status == 0x0000  # sent again: stored once
    finally:
        assoc.release()
    assert receiver.count() == before + 1
    with receiver.api() as api:
        entries = api.get("/audit", params={"action": "c_store", "limit": 1}).json()["items"]
    assert [(e["outcome"], e["username"]) for e in entries] == [("success", "admin")]


def test_a_corrupt_data_set_is_refused_and_nothing_stored(receiver: Receiver, tmp_path: Path) -> None:
    (path,) = variants(CT, tmp_path, 1)
    path.write_bytes(path.read_bytes()[:-5000])  # cut off inside its Pixel Data
    before, blobs = receiver.count(), receiver.server.stored()[0]
    assoc = receiver.associate("PYNETDICOM")
    try:
        status = assoc.send_c_store(path).Status
    finally:
        assoc.release()
    assert 0xC000 <= status <= 0xCFFF
    assert receiver.count() == before
    assert receiver.server.stored() == (blobs, [])
    log = receiver.server.log.read_text()
    assert "refused an instance from AE PYNETDICOM" in log
    assert str(pydicom.dcmread(CT).PatientName) not in log  # never a value from the file


def test_an_association_aborted_halfway_leaves_nothing(receiver: Receiver, tmp_path: Path) -> None:
    big = tmp_path / "big.dcm"
    dataset = pydicom.dcmread(CT)
    dataset.Rows = dataset.Columns = 1024
    dataset.NumberOfFrames = 8
    dataset.PixelData = bytes(1024 * 1024 * 2 * 8)  # 16 MB: many PDUs
    dataset.save_as(big, enforce_file_format=True)
    before, blobs = receiver.count(), receiver.server.stored()[0]

    assoc = receiver.associate("PYNETDICOM", max_pdu=16382)
    reached, release = _hold_after(assoc, pdus=20)  # of 64: the receiver takes PDUs of 256 KiB
    sender = threading.Thread(target=_send_quietly, args=(assoc, big), daemon=True)
    sender.start()
    assert reached.wait(30)
    _wait_for(lambda: any(p.stat().st_size > 0 for p in receiver.tmp.glob("*.dcm")))  # arriving on the server
    assoc.abort()
    release.set()
    sender.join(30)

    _wait_for(lambda: not list(receiver.tmp.glob("*.dcm")))  # the partial instance is removed
    assert receiver.count() == before
    assert receiver.server.stored() == (blobs, [])


def _hold_after(assoc: Association, pdus: int) -> tuple[threading.Event, threading.Event]:
    """Make the SCU stop sending after ``pdus`` P-DATA PDUs, until released."""
    reached, release = threading.Event(), threading.Event()
    send = assoc.dul.send_pdu
    count = 0

    def held(primitive: object) -> None:
        nonlocal count
        count += 1
        if count == pdus:
            reached.set()
            release.wait(30)
        send(primitive)  # type: ignore[arg-type]

    assoc.dul.send_pdu = held  # type: ignore[method-assign]
    return reached, release


def _send_quietly(assoc: Association, path: Path) -> None:
    try:
        assoc.send_c_store(path)
    except Exception:  # noqa: S110 - the association was aborted under it, as intended
        pass


def _wait_for(condition: object, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("the condition did not come true in time")


def test_an_instance_over_the_upload_limit_is_refused(launch: Launch, tmp_path: Path) -> None:
    port = free_port()
    server = launch(DICOM_API_DIMSE_PORT=str(port), DICOM_API_MAX_UPLOAD_BYTES="20000")
    with server.client() as api:
        assert api.post("/admin/aes", json={"ae_title": "PYNETDICOM", "username": "admin"}).status_code == 201
    small = Receiver(server, port, tmp_path)
    (path,) = variants(CT, tmp_path, 1)  # 39 kB
    assoc = small.associate("PYNETDICOM")
    try:
        assert assoc.send_c_store(path).Status == 0xA700  # out of resources
    finally:
        assoc.release()
    assert small.count() == 0
    assert server.stored() == ([], [])


def test_sigterm_stops_the_server_cleanly_with_an_association_open(launch: Launch, tmp_path: Path) -> None:
    port = free_port()
    server = launch(DICOM_API_DIMSE_PORT=str(port))
    with server.client() as api:
        assert api.post("/admin/aes", json={"ae_title": "PYNETDICOM", "username": "admin"}).status_code == 201
    assoc = Receiver(server, port, tmp_path).associate("PYNETDICOM")
    assert assoc.is_established
    server.process.terminate()
    assert server.process.wait(20) == 128 + 15  # an exit, not the signal's kill: the receiver closed first
    _wait_for(lambda: not assoc.is_established)
    assert "DICOM receiver stopped" in server.log.read_text()
