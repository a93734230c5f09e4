"""Synthetic but realistic DICOM files for the benchmarks: a 512x512 CT slice, a 2500x2000 radiograph and a
100-frame 512x512 series, written with pydicom (explicit VR little endian, uncompressed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, DigitalXRayImageStorageForPresentation, ExplicitVRLittleEndian, generate_uid


def _dataset(sop_class: str, rows: int, columns: int, pixels: np.ndarray, frames: int = 1) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.StudyDate = "Bench^Mark", "BENCH", "20260101"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, columns, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    return ds


def _anatomy(rows: int, columns: int, seed: int) -> np.ndarray:
    """Smooth structures plus noise: compresses like a real image, unlike a constant or random array."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:columns].astype(np.float32)
    body = ((x - columns / 2) / (columns * 0.42)) ** 2 + ((y - rows / 2) / (rows * 0.45)) ** 2 < 1
    image = np.where(body, 1000 + 200 * np.sin(x / 37) * np.cos(y / 23), 24)
    image += rng.normal(0, 20, (rows, columns))
    return np.asarray(np.clip(image, 0, 4095), dtype=np.uint16)


def ct_slice(seed: int = 1) -> Dataset:
    """A 512x512 CT slice of its own study and series (new UIDs each call)."""
    ds = _dataset(CTImageStorage, 512, 512, _anatomy(512, 512, seed))
    ds.Modality, ds.RescaleSlope, ds.RescaleIntercept = "CT", 1, -1024
    ds.WindowCenter, ds.WindowWidth = 40, 400
    return ds


def make_ct(path: Path) -> Path:
    ct_slice().save_as(path, enforce_file_format=True)
    return path


def make_radiograph(path: Path) -> Path:
    ds = _dataset(DigitalXRayImageStorageForPresentation, 2500, 2000, _anatomy(2500, 2000, 2))
    ds.Modality, ds.WindowCenter, ds.WindowWidth = "DX", 1024, 2048
    ds.save_as(path, enforce_file_format=True)
    return path


def make_multiframe(path: Path, frames: int = 100) -> Path:
    stack = np.stack([_anatomy(512, 512, 10 + i % 5) for i in range(frames)])
    ds = _dataset(CTImageStorage, 512, 512, stack, frames=frames)
    ds.Modality, ds.RescaleSlope, ds.RescaleIntercept = "CT", 1, -1024
    ds.save_as(path, enforce_file_format=True)
    return path
