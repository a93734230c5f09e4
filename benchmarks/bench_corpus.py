"""The comparison's corpus, built once into a folder and reused: a CT series, two large files and the real
images of pydicom's test files and of pydicom-data (those pydicom reads and decodes)."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian
from synthetic import make_multiframe, make_radiograph

SEED = 20261125
VERSION = 2  # bump when what is built changes


@dataclass(frozen=True)
class Corpus:
    ct: list[Path]
    radiograph: Path
    multiframe: Path
    mixed: list[Path]


def build_corpus(folder: Path, ct_count: int = 200) -> Corpus:
    manifest = folder / "manifest.json"
    if manifest.exists():
        data = json.loads(manifest.read_text())
        if data.get("version") == VERSION and data.get("ct_count") == ct_count:
            return _corpus(folder, data)
    print(f"building the corpus in {folder} (once)", flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ct").mkdir(exist_ok=True)
    for index in range(ct_count):
        _ct_slice(index).save_as(folder / "ct" / f"ct{index + 1:04d}.dcm", enforce_file_format=True)
    make_radiograph(folder / "radiograph.dcm")
    make_multiframe(folder / "multiframe.dcm")
    data = {"version": VERSION, "ct_count": ct_count, "mixed": [str(p) for p in _decodable_images()]}
    manifest.write_text(json.dumps(data, indent=1))
    return _corpus(folder, data)


def _corpus(folder: Path, data: dict[str, object]) -> Corpus:
    mixed = [Path(p) for p in data["mixed"]]  # type: ignore[attr-defined]
    return Corpus(sorted((folder / "ct").glob("*.dcm")), folder / "radiograph.dcm", folder / "multiframe.dcm", mixed)


def _uid(kind: int, index: int = 0) -> str:
    return f"2.25.{SEED}{kind:02d}{index:05d}"


def _ct_slice(index: int) -> Dataset:
    """One slice of a 512x512 CT series: a body with organs and noise, signed, rescale -1024/1, window 40/400."""
    rng = np.random.default_rng(SEED + index)
    y, x = np.mgrid[0:512, 0:512].astype(np.float32)
    hu = np.full((512, 512), -1000.0, np.float32)  # air
    body = ((x - 256) / 200) ** 2 + ((y - 270) / 160) ** 2 < 1
    hu[body] = 40  # soft tissue
    hu[body & (((x - 256) / 190) ** 2 + ((y - 270) / 150) ** 2 > 1)] = -100  # fat
    for cx in (180, 332):
        hu[((x - cx) / 55) ** 2 + ((y - 250) / (70 + index % 20)) ** 2 < 1] = -850  # lungs
    hu[((x - 256) / 22) ** 2 + ((y - 350) / 22) ** 2 < 1] = 700  # vertebra
    hu[((x - 256) / 12) ** 2 + ((y - 300) / 12) ** 2 < 1] = 200  # aorta
    hu += rng.normal(0, 12, hu.shape).astype(np.float32)
    stored = np.clip(hu + 1024, -2000, 30000).astype(np.int16)
    stored[~(((x - 256) / 250) ** 2 + ((y - 256) / 250) ** 2 < 1)] = -2000  # outside the field of view
    # A real CT header (pydicom's CT_small.dcm, about a hundred attributes) carries the synthetic pixels.
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = _uid(3, index)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.StudyInstanceUID, ds.SeriesInstanceUID = _uid(1), _uid(2)
    ds.PatientName, ds.PatientID, ds.StudyDate = "Versus^Orthanc", "VERSUS", "20261125"
    ds.InstanceNumber, ds.SliceLocation = index + 1, float(index * 2)
    ds.Rows = ds.Columns = 512
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.WindowCenter, ds.WindowWidth = -1024, 1, 40, 400
    ds.PixelPaddingValue = -2000
    ds.PixelData = stored.tobytes()
    return ds


def _decodable_images() -> list[Path]:
    """Every file of pydicom's test files and of pydicom-data that pydicom reads and whose pixels it decodes."""
    import data_store

    roots = [Path(pydicom.__file__).parent / "data" / "test_files", Path(data_store.__file__).parent / "data"]
    found = []
    for path in sorted(p for root in roots for p in root.rglob("*") if p.is_file()):
        with contextlib.suppress(Exception):
            ds = pydicom.dcmread(path)
            if "PixelData" in ds or "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
                ds.pixel_array  # noqa: B018 - decoding is the test
                found.append(path)
    return found
