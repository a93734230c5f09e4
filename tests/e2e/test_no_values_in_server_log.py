"""A running server (render workers in their own processes) never writes a value from a file to its log, while
pydicom warns about the values it reads; and answers every read of those files without a 5xx."""

from __future__ import annotations

import httpx

from tests.e2e.live import LiveServer
from tests.odd_files import DISTINCTIVE_NAME, refused_warning_file, warning_files


def _reads(api: httpx.Client, file_id: str) -> list[httpx.Response]:
    paths = [f"/files/{file_id}", f"/files/{file_id}/attributes", f"/files/{file_id}/dicom", "/files"]
    paths += [f"/download/png/{file_id}", f"/download/png/{file_id}?window_center=40&window_width=400"]
    answers = [api.get(path) for path in paths]
    for group, element in (("0008", "0018"), ("0010", "0010"), ("0028", "1050"), ("0020", "0013"), ("0009", "1010")):
        params = {"file_id": file_id, "tag_group": group, "tag_element": element}
        answers.append(api.get("/header_attribute", params=params))
    return answers


def test_the_server_log_holds_no_value_from_a_file(server: LiveServer) -> None:
    with server.client() as api:
        for label, data in warning_files().items():
            response = api.post("/upload/dicom", files={"file": ("f.dcm", data)})
            assert response.status_code == 201, (label, response.text)
            for answer in _reads(api, response.json()["file_id"]):
                assert answer.status_code < 500, (label, answer.request.url, answer.text)
        refused = api.post("/upload/dicom", files={"file": ("f.dcm", refused_warning_file())})
        assert refused.status_code == 400
    log = server.log.read_text(encoding="utf-8", errors="replace")
    assert "pydicom: a value is longer than its VR allows" in log  # pydicom did warn, and was rewritten
    assert DISTINCTIVE_NAME.split("^")[0] not in log
    assert "ISO_IR 999" not in log
