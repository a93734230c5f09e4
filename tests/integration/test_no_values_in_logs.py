"""pydicom's warnings quote element values: in the server and in render processes they are replaced by
structural messages, so a Patient's Name never reaches a log or stderr, for uploads kept or refused."""

from __future__ import annotations

import logging
import multiprocessing
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pydicom
import pytest
from fastapi.testclient import TestClient

from dicom_api.config import Settings
from dicom_api.logs import structural_message, withhold_file_values
from dicom_api.services.rendering import open_worker_store
from tests.odd_files import DISTINCTIVE_NAME, refused_warning_file, warning_files


def _read_every_route(client: TestClient, file_id: str) -> None:
    for path in (f"/files/{file_id}", f"/files/{file_id}/attributes", f"/download/png/{file_id}", "/files"):
        assert client.get(path).status_code < 500, path
    assert client.get(f"/files/{file_id}/deidentified").status_code < 500
    assert client.post(f"/files/{file_id}/deidentify").status_code < 500
    for group, element in (("0008", "0018"), ("0010", "0010"), ("0028", "1050"), ("0020", "0013"), ("0009", "1010")):
        params = {"file_id": file_id, "tag_group": group, "tag_element": element}
        assert client.get("/header_attribute", params=params).status_code < 500


def test_no_value_from_a_file_in_the_log_or_on_stderr(
    client: TestClient, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    for label, data in warning_files().items():
        response = client.post("/upload/dicom", files={"file": ("f.dcm", data)})
        assert response.status_code == 201, (label, response.text)
        _read_every_route(client, response.json()["file_id"])
    refused = client.post("/upload/dicom", files={"file": ("f.dcm", refused_warning_file())})
    assert refused.status_code == 400
    captured = capfd.readouterr()
    surname = DISTINCTIVE_NAME.split("^")[0]
    assert surname not in caplog.text
    assert surname not in captured.err
    assert surname not in captured.out
    rewritten = [r.getMessage() for r in caplog.records if r.name == "pydicom"]
    assert rewritten, "pydicom warned about nothing: the files no longer test anything"
    assert any("longer than its VR allows" in m for m in rewritten)


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _warn_in_this_process(data: bytes) -> list[str]:
    """Read a file whose values make pydicom warn (through ``warnings`` and its logger), as a render would;
    return what reached the ``pydicom`` logger."""
    import io

    kept = _Kept()
    logging.getLogger("pydicom").addHandler(kept)
    warnings.simplefilter("always")
    ds = pydicom.dcmread(io.BytesIO(data))
    for elem in ds:
        str(elem.value)
    return kept.messages


def _warn_in_a_process(data: bytes, initializer: object, initargs: tuple[object, ...]) -> list[str]:
    context = multiprocessing.get_context("spawn")  # as the render pool starts its processes
    with ProcessPoolExecutor(1, mp_context=context, initializer=initializer, initargs=initargs) as pool:  # type: ignore[arg-type]
        return pool.submit(_warn_in_this_process, data).result(timeout=120)


def _nothing() -> None:
    pass


def test_render_processes_withhold_values(settings: Settings, capfd: pytest.CaptureFixture[str]) -> None:
    data = warning_files()["uid_holding_the_name"]
    surname = DISTINCTIVE_NAME.split("^")[0]
    logged = _warn_in_a_process(data, _nothing, ())
    # What a process without the filter writes: the test can fail.
    assert surname in capfd.readouterr().err
    assert any(surname in m for m in logged)
    logged = _warn_in_a_process(data, open_worker_store, (settings.storage_url, None))
    assert surname not in capfd.readouterr().err
    assert logged
    assert not any(surname in m for m in logged)
    assert "pydicom: a value is longer than its VR allows, VR UI" in logged[0]


def test_structural_message_keeps_kind_tag_and_vr_only() -> None:
    text = (
        "The value length (470) exceeds the maximum length of 64 allowed for VR UI. Invalid value for VR UI: "
        f"'1.2.{DISTINCTIVE_NAME}'"
    )
    assert structural_message(text) == (
        "pydicom: a value is longer than its VR allows, VR UI (the message is withheld: it may quote a value "
        "from the file)"
    )
    tagged = structural_message(f"Unknown Value Representation 'QI' in tag (0009,1010): {DISTINCTIVE_NAME}")
    assert "(0009,1010)" in tagged
    assert "unknown or unexpected VR" in tagged
    assert "Quibbleworth" not in tagged


def test_other_warnings_pass_through(caplog: pytest.LogCaptureFixture) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        withhold_file_values()
        withhold_file_values()  # idempotent
        warnings.warn_explicit("a warning of this code", UserWarning, "mine.py", 1)
        pydicom_module = str(Path(pydicom.__file__).parent / "valuerep.py")
        warnings.warn_explicit(f"Invalid value for VR UI: '{DISTINCTIVE_NAME}'", UserWarning, pydicom_module, 1)
        warnings.warn_explicit("a deprecated pydicom API", DeprecationWarning, pydicom_module, 2)  # about code
    assert [str(w.message) for w in caught] == ["a warning of this code", "a deprecated pydicom API"]
    assert caplog.messages == ["pydicom: a value is not valid for its VR, VR UI (the message is withheld: it may "
                               "quote a value from the file)"]  # fmt: skip


def test_pydicom_keeps_no_warning_text_in_memory() -> None:
    """Python remembers each warning text it showed once, in the module that warned: values included."""
    with warnings.catch_warnings():
        withhold_file_values()
        _warn_in_this_process_without_resetting(warning_files()["uid_holding_the_name"])
        remembered = [
            key
            for module in (pydicom.valuerep, pydicom.misc)
            for key in getattr(module, "__warningregistry__", {})
            if isinstance(key, tuple)
        ]
    assert not any(DISTINCTIVE_NAME in str(key) for key in remembered)


def _warn_in_this_process_without_resetting(data: bytes) -> None:
    import io

    ds = pydicom.dcmread(io.BytesIO(data))
    for elem in ds:
        str(elem.value)
