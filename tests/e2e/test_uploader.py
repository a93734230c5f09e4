"""`dicom-api upload` as a person runs it, against the server as a process: folders, zip archives, media, twice."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.corpus import CORPUS
from tests.e2e.instances import variants
from tests.e2e.live import Launch, LiveServer
from tests.helpers import sample

PASSWORD = "uploader-admin-password"
CT = sample("CT_small.dcm")
SUMMARY = re.compile(
    r"(\d+) stored, (\d+) already there, (\d+) refused, (\d+) skipped \(not DICOM, DICOMDIR\), (\d+) failed"
)


@pytest.fixture(scope="module")
def server(launch: Launch) -> LiveServer:
    return launch(DICOM_API_ADMIN_PASSWORD=PASSWORD)


def _token(server: LiveServer) -> str:
    return server.headers["Authorization"].removeprefix("Bearer ")


def upload(
    server: LiveServer, *args: str | Path, token: bool = True, stdin: str = ""
) -> tuple[int, str, tuple[int, ...]]:
    """Run the uploader to its end; its exit status, its output, and its summary's counts."""
    env = {**os.environ, "DICOM_API_TOKEN": _token(server) if token else ""}
    command = [sys.executable, "-m", "dicom_api.cli", "upload", "--url", server.url, *map(str, args)]
    done = subprocess.run(command, env=env, input=stdin, capture_output=True, text=True, timeout=300, check=False)
    found = SUMMARY.search(done.stdout)
    return done.returncode, done.stdout + done.stderr, tuple(int(n) for n in found.groups()) if found else ()


def _uploads_in_log(server: LiveServer) -> int:
    return server.log.read_text(encoding="utf-8", errors="replace").count("POST /upload/dicom")


@pytest.fixture
def medium(tmp_path: Path) -> Path:
    """A CD export: 40 instances in nested folders, a DICOMDIR, a zip of 10 more, a text file, a thumbnail."""
    root = tmp_path / "cd"
    variants(CT, root / "DICOM" / "ST1" / "SE1", 25)
    variants(CT, root / "DICOM" / "ST1" / "SE2", 15)
    (root / "DICOMDIR").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00" * 8)  # DICM, yet only an index
    (root / "README.txt").write_text("exported by a viewer\n")
    (root / "thumb.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 200)
    with zipfile.ZipFile(root / "more.zip", "w") as archive:
        for path in variants(CT, tmp_path / "zipped", 10):
            archive.write(path, f"series/{path.name}")
        archive.writestr("series/notes.txt", "not an image")
    return root


def test_a_medium_goes_in_once(server: LiveServer, medium: Path) -> None:
    status, output, counts = upload(server, medium, "--jobs", "3")
    assert status == 0, output
    assert counts == (50, 0, 0, 4, 0), output  # DICOMDIR, README.txt, thumb.jpg, notes.txt skipped
    assert "sending 50 file(s)" in output  # not a terminal: plain lines

    sent_before = _uploads_in_log(server)
    status, output, counts = upload(server, medium)
    assert status == 0, output
    assert counts == (0, 50, 0, 4, 0), output
    assert "sending 0 file(s)" in output
    assert _uploads_in_log(server) == sent_before  # the second run sent nothing


def test_refused_files_are_reported_with_the_servers_reason(server: LiveServer, tmp_path: Path) -> None:
    folder = tmp_path / "real"
    folder.mkdir()
    dicom = [p for label, p in CORPUS.items() if label.startswith("pydicom/") and _is_part10(p)][:50]
    for number, path in enumerate(dicom):
        shutil.copy(path, folder / f"{number:03d}_{path.name}")
    truncated = folder / "truncated.dcm"
    truncated.write_bytes(CT.read_bytes()[:-1000])

    status, output, counts = upload(server, folder)
    stored, already, refused, skipped, failed = counts
    assert status == 1, output  # not everything went in
    assert stored + already + refused == len(dicom) + 1, output
    assert (skipped, failed) == (0, 0), output
    assert re.search(rf"refused +{re.escape(str(truncated))}: HTTP 400: .*Pixel Data", output), output

    status, output, again = upload(server, folder)
    assert status == 1
    assert again == (0, stored + already, refused, 0, 0), output  # what was stored is not sent again


def test_signing_in_with_a_password(server: LiveServer, tmp_path: Path) -> None:
    variants(CT, tmp_path / "s", 2)
    status, output, counts = upload(server, tmp_path / "s", "--user", "admin", "--password-stdin", token=False,
                                    stdin=PASSWORD + "\n")  # fmt: skip
    assert status == 0, output
    assert counts[:2] == (2, 0)

    status, output, _ = upload(server, tmp_path / "s", "--user", "admin", "--password-stdin", token=False,
                               stdin="wrong-password\n")  # fmt: skip
    assert status == 2
    assert "Wrong username or password." in output  # the server's reason


def test_usage_errors(server: LiveServer, tmp_path: Path) -> None:
    status, output, _ = upload(server, tmp_path / "nothing-here")
    assert status == 2
    assert "no such file or folder" in output
    status, output, _ = upload(server, tmp_path, token=False)
    assert status == 2
    assert "--token" in output


def test_ctrl_c_stops_cleanly_and_the_next_run_sends_the_rest(server: LiveServer, tmp_path: Path) -> None:
    folder = tmp_path / "big"
    variants(CT, folder, 150)
    env = {**os.environ, "DICOM_API_TOKEN": _token(server)}
    command = [sys.executable, "-m", "dicom_api.cli", "upload", "--url", server.url, "--jobs", "1", str(folder)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:  # interrupted once the first file is in
        lines.append(line)
        if line.startswith("[1/150] stored"):
            process.send_signal(signal.SIGINT)
            break
    rest = process.communicate(timeout=60)[0]
    output = "".join(lines) + rest
    assert process.returncode == 130, output
    found = re.search(r"interrupted: (\d+) file\(s\) not sent", output)
    assert found, output
    assert 0 < int(found.group(1)) < 150

    status, output, counts = upload(server, folder)
    assert status == 0, output
    assert counts[0] + counts[1] == 150, output
    left = int(found.group(1))
    assert left - 1 <= counts[0] <= left, output  # the one in flight at Ctrl-C finished; nothing else went


def _is_part10(path: Path) -> bool:
    with path.open("rb") as fp:
        return fp.read(132)[128:] == b"DICM"
