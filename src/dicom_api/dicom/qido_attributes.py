"""The attributes QIDO-RS searches on and returns (PS3.18 10.6.3.3, Tables 10.6.3-3 to -5), and their values as
read from a header at upload."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue


class Level(enum.IntEnum):
    """QIDO-RS query levels, parents first (PS3.18 10.6.1)."""

    STUDY = 0
    SERIES = 1
    INSTANCE = 2


@dataclass(frozen=True)
class Attribute:
    tag: int
    keyword: str
    vr: str
    level: Level
    size: int = 0  # characters kept of a string value; 0 for numbers
    required: bool = False  # R in Table 10.6.3-3..5: returned even when empty
    default: bool = True  # returned without includefield
    computed: bool = False  # derived from the instances, not read from a header


S, SE, IN = Level.STUDY, Level.SERIES, Level.INSTANCE
ATTRIBUTES: dict[int, Attribute] = {
    a.tag: a
    for a in (
        Attribute(0x00080020, "StudyDate", "DA", S, 8, required=True),
        Attribute(0x00080030, "StudyTime", "TM", S, 16, required=True),
        Attribute(0x00080050, "AccessionNumber", "SH", S, 16, required=True),
        Attribute(0x00080061, "ModalitiesInStudy", "CS", S, required=True, computed=True),
        Attribute(0x00080090, "ReferringPhysicianName", "PN", S, 324, required=True),
        Attribute(0x00080201, "TimezoneOffsetFromUTC", "SH", S, 16),
        Attribute(0x00081030, "StudyDescription", "LO", S, 64, default=False),
        Attribute(0x00100010, "PatientName", "PN", S, 324, required=True),
        Attribute(0x00100020, "PatientID", "LO", S, 64, required=True),
        Attribute(0x00100030, "PatientBirthDate", "DA", S, 8, required=True),
        Attribute(0x00100040, "PatientSex", "CS", S, 16, required=True),
        Attribute(0x0020000D, "StudyInstanceUID", "UI", S, 64, required=True),
        Attribute(0x00200010, "StudyID", "SH", S, 16, required=True),
        Attribute(0x00201206, "NumberOfStudyRelatedSeries", "IS", S, required=True, computed=True),
        Attribute(0x00201208, "NumberOfStudyRelatedInstances", "IS", S, required=True, computed=True),
        Attribute(0x00080060, "Modality", "CS", SE, 16, required=True),
        Attribute(0x00080021, "SeriesDate", "DA", SE, 8, default=False),
        Attribute(0x00080031, "SeriesTime", "TM", SE, 16, default=False),
        Attribute(0x0008103E, "SeriesDescription", "LO", SE, 64),
        Attribute(0x0020000E, "SeriesInstanceUID", "UI", SE, 64, required=True),
        Attribute(0x00200011, "SeriesNumber", "IS", SE, required=True),
        Attribute(0x00201209, "NumberOfSeriesRelatedInstances", "IS", SE, required=True, computed=True),
        Attribute(0x00400244, "PerformedProcedureStepStartDate", "DA", SE, 8),
        Attribute(0x00400245, "PerformedProcedureStepStartTime", "TM", SE, 16),
        Attribute(0x00080016, "SOPClassUID", "UI", IN, 64, required=True),
        Attribute(0x00080018, "SOPInstanceUID", "UI", IN, 64, required=True),
        Attribute(0x00200013, "InstanceNumber", "IS", IN, required=True),
        Attribute(0x00280010, "Rows", "US", IN),
        Attribute(0x00280011, "Columns", "US", IN),
        Attribute(0x00280100, "BitsAllocated", "US", IN),
        Attribute(0x00280008, "NumberOfFrames", "IS", IN),
    )
}
UID_OF_LEVEL = {Level.STUDY: 0x0020000D, Level.SERIES: 0x0020000E, Level.INSTANCE: 0x00080018}
NUMERIC_VRS = frozenset({"IS", "US"})
# Text whose backslashes are characters, not value separators (PS3.5 6.2).
SINGLE_VALUED_VRS = frozenset({"LT", "ST", "UT", "UR"})
_INT_RANGE = (-(2**31), 2**31 - 1)  # an index column's integers


def indexed_values(ds: Dataset) -> dict[int, str | int | None]:
    """The searchable attributes of ``ds`` that are read from headers, by tag: strings cut to their column's
    size, numbers as integers (None when absent or malformed: a value that cannot be read is not indexed)."""
    values: dict[int, str | int | None] = {}
    for attribute in ATTRIBUTES.values():
        if attribute.computed:
            continue
        raw = _get(ds, attribute.tag)
        if attribute.vr in NUMERIC_VRS:
            values[attribute.tag] = _integer(raw)
        else:
            values[attribute.tag] = _string(raw, attribute)
    return values


def _get(ds: Dataset, tag: int) -> Any:
    try:
        elem = ds.get(tag)
        return None if elem is None else elem.value
    except Exception:  # a malformed value does not refuse the file; it is simply not indexed
        return None


def _integer(value: Any) -> int | None:
    if isinstance(value, MultiValue | list | tuple):
        value = value[0] if len(value) else None
    try:
        number = int(value) if value not in (None, "") else None
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number is not None and _INT_RANGE[0] <= number <= _INT_RANGE[1] else None


def _string(value: Any, attribute: Attribute) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, MultiValue | list | tuple):
        value = "\\".join(str(v) for v in value)
    text = str(value).strip().replace("\x00", "")
    if attribute.vr in {"DA", "TM"}:
        text = text.replace(".", "") if attribute.vr == "DA" else text.replace(":", "")  # ACR-NEMA forms
    return text[: attribute.size] or None
