"""Series made for the upload and C-STORE tests: copies of a real file, each a new SOP instance."""

from __future__ import annotations

from pathlib import Path

import pydicom
from pydicom.uid import generate_uid


def variants(source: Path, folder: Path, count: int, prefix: str = "im") -> list[Path]:
    """``count`` copies of ``source`` in ``folder``, each with a new SOP Instance UID (one new series)."""
    folder.mkdir(parents=True, exist_ok=True)
    dataset = pydicom.dcmread(source)
    dataset.SeriesInstanceUID = generate_uid()
    written = []
    for number in range(1, count + 1):
        dataset.SOPInstanceUID = generate_uid()
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        dataset.InstanceNumber = number
        path = folder / f"{prefix}{number:05d}.dcm"
        dataset.save_as(path, enforce_file_format=True)
        written.append(path)
    return written
