"""The instances every client test stores, and a plain STOW-RS request (PS3.18 10.5) to store them with."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydicom import Dataset, dcmread
from pydicom.data import get_testdata_file

# Distinct SOP Instance UIDs (several pydicom files share theirs); SC_* share one study, the rest one each.
FILES = {
    "ct": "CT_small.dcm",  # single frame, Explicit VR Little Endian
    "mr": "MR_small.dcm",
    "multiframe": "emri_small.dcm",  # 10 frames, uncompressed
    "jpeg": "SC_rgb_jpeg_dcmtk.dcm",  # JPEG Baseline, RGB
    "rle": "SC_rgb_rle_2frame.dcm",  # RLE Lossless, 2 frames
}


@dataclass(frozen=True)
class Original:
    name: str
    path: Path
    dataset: Dataset

    @property
    def study(self) -> str:
        return str(self.dataset.StudyInstanceUID)

    @property
    def series(self) -> str:
        return str(self.dataset.SeriesInstanceUID)

    @property
    def sop(self) -> str:
        return str(self.dataset.SOPInstanceUID)

    @property
    def frames(self) -> int:
        return int(self.dataset.get("NumberOfFrames", 1) or 1)

    @property
    def transfer_syntax(self) -> str:
        return str(self.dataset.file_meta.TransferSyntaxUID)


def originals() -> dict[str, Original]:
    found = {}
    for name, file in FILES.items():
        path = Path(get_testdata_file(file, download=False) or "")
        found[name] = Original(name, path, dcmread(path))
    return found


def stow(client: httpx.Client, paths: list[Path], root: str = "/dicomweb") -> httpx.Response:
    """One STOW-RS request with a part per file (PS3.18 10.5.1), as dicomweb-client sends it."""
    boundary = uuid.uuid4().hex
    body = b"".join(
        b"\r\n--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + path.read_bytes()
        for path in paths
    )
    body += b"\r\n--" + boundary.encode() + b"--\r\n"
    headers = {
        "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
        "Accept": "application/dicom+json",
    }
    return client.post(f"{root}/studies", content=body, headers=headers)


def bearer_token(headers: dict[str, str] | object) -> str:
    """The access token in a LiveServer's ``Authorization: Bearer`` header."""
    value = dict(headers)["Authorization"]  # type: ignore[call-overload]
    return str(value).removeprefix("Bearer ")
