"""The DICOMweb comparison's store, built once into a folder and reused: real CT slices with new UIDs.

One study holds the series a viewer opens: ``series_size`` slices of pydicom's 693_UNCR.dcm (a 512x512 CT slice of
the CQ500 set, uncompressed). ``studies`` further studies of ``per_study`` slices each are pydicom's CT_small.dcm
(a real 128x128 CT slice), so that the store counts 10,000 instances without 5 GB per server. Every study has its
own patient name, patient ID and date (spread over 2023-2025), so that name and date searches match a part of it.
A last study of ``stow_count`` 512x512 slices is what STOW-RS sends, never loaded before.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

SEED = 20261207
VERSION = 1  # bump when what is built changes
SURNAMES = ("Smith", "Jones", "Brown", "Garcia", "Miller", "Davis", "Lopez", "Wilson", "Moore", "Taylor", "Clark",
            "Lewis", "Walker", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill",
            "Ramirez", "Campbell", "Mitchell")  # fmt: skip
GIVEN = ("Anna", "Ben", "Carla", "David", "Eva", "Frank", "Grace", "Hugo", "Ines", "Jack", "Kim")
FIRST_DAY = datetime.date(2023, 1, 1)


@dataclass(frozen=True)
class Size:
    series_size: int
    studies: int
    per_study: int
    stow_count: int

    @property
    def instances(self) -> int:
        return self.series_size + self.studies * self.per_study


FULL = Size(series_size=500, studies=475, per_study=20, stow_count=200)
QUICK = Size(series_size=60, studies=40, per_study=10, stow_count=40)


@dataclass(frozen=True)
class Store:
    folder: Path
    size: Size
    study_uid: str  # the study of the viewer's series
    series_uid: str
    sop_uids: list[str]  # of that series, in slice order

    def load_files(self) -> list[Path]:
        """Everything loaded before measuring: the viewer's series first, then the other studies."""
        return sorted((self.folder / "series").glob("*.dcm")) + sorted((self.folder / "studies").glob("*.dcm"))

    def stow_files(self) -> list[Path]:
        return sorted((self.folder / "stow").glob("*.dcm"))


def build_store(parent: Path, size: Size) -> Store:
    folder = parent / f"dicomweb-v{VERSION}-{size.series_size}-{size.studies}x{size.per_study}-{size.stow_count}"
    manifest = folder / "manifest.json"
    if manifest.exists():
        return _store(folder, json.loads(manifest.read_text()))
    print(f"building the DICOMweb store in {folder} (once)", flush=True)
    for sub in ("series", "studies", "stow"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    big = pydicom.dcmread(get_testdata_file("693_UNCR.dcm"))
    small = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    sops = _write_study(big, folder / "series", 0, size.series_size)
    for study in range(1, size.studies + 1):
        _write_study(small, folder / "studies", study, size.per_study)
    _write_study(big, folder / "stow", size.studies + 1, size.stow_count)
    data = {"size": asdict(size), "study_uid": _uid(1, 0), "series_uid": _uid(2, 0), "sop_uids": sops}
    manifest.write_text(json.dumps(data, indent=1))
    return _store(folder, data)


def _store(folder: Path, data: dict[str, object]) -> Store:
    return Store(folder, Size(**data["size"]), str(data["study_uid"]), str(data["series_uid"]),  # type: ignore[arg-type]
                 list(data["sop_uids"]))  # type: ignore[call-overload]  # fmt: skip


def _uid(kind: int, study: int, index: int = 0) -> str:
    return f"2.25.{SEED}{kind}{study:04d}{index:05d}"


def patient(study: int) -> tuple[str, str, str]:
    """Name, ID and study date (YYYYMMDD) of a study of the store."""
    name = f"{SURNAMES[study % len(SURNAMES)]}^{GIVEN[study % len(GIVEN)]}"
    day = FIRST_DAY + datetime.timedelta(days=(study * 37) % 1095)
    return name, f"BENCH{study:05d}", day.strftime("%Y%m%d")


def _write_study(ds: Dataset, folder: Path, study: int, count: int) -> list[str]:
    """``count`` slices of one series of one study, written on ``ds`` (changed in place); their SOP UIDs."""
    name, patient_id, date = patient(study)
    ds.PatientName, ds.PatientID, ds.StudyDate, ds.SeriesDate = name, patient_id, date, date
    ds.StudyInstanceUID, ds.SeriesInstanceUID = _uid(1, study), _uid(2, study)
    ds.AccessionNumber, ds.StudyID, ds.SeriesNumber = f"ACC{study:06d}", str(study), 1
    ds.StudyDescription, ds.Modality = "CT CHEST", "CT"
    sops = []
    for index in range(count):
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = _uid(3, study, index)
        ds.InstanceNumber, ds.SliceLocation = index + 1, float(index)
        ds.ImagePositionPatient = [-122.5, -112.4, float(index)]
        ds.save_as(folder / f"s{study:04d}-{index:05d}.dcm", enforce_file_format=True)
        sops.append(ds.SOPInstanceUID)
    return sops
