"""PS3.15 Table E.1-1 walked attribute by attribute, with and without each option.

The table's actions are the tests' own copy (tests/confidentiality_table.py), kept apart from the
implementation's (dicom/confidentiality.py) and compared with it; then every attribute is put in a data set,
de-identified, and its fate checked against what its cell says.
"""

from __future__ import annotations

import pytest
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.valuerep import VR as VRS

from dicom_api.dicom.deidentify import OPTION_COLUMNS, Options, action_for, deidentify_dataset
from tests.confidentiality_table import BY_TAG, ROWS, cell, tag_of

KEY = b"k" * 32
RUNS = [(), *((o,) for o in OPTION_COLUMNS)]  # the Basic Profile alone, then each option alone
NAME = "Roe^Jane"  # the patient's name: Z, so a token that every Clean must take out of free text
SAMPLES: dict[str, object] = {
    "PN": "Doe^John", "LO": "Seen by Roe", "SH": "SH Roe 1", "ST": "Text about Roe", "LT": "Text about Roe",
    "UT": "Text about Roe", "UC": "Text about Roe", "DA": "20240131", "DT": "20240131101010", "TM": "101010",
    "UI": "1.2.3.4.5.6789", "AE": "HOSPITAL_AE", "AS": "042Y", "CS": "SAMPLE", "IS": "42", "DS": "4.2",
    "US": 7, "SS": 7, "UL": 7, "SL": 7, "UV": 7, "SV": 7, "FL": 1.5, "FD": 1.5, "AT": 0x00100020,
    "UR": "http://example.org/x", "OB": b"\x01\x02", "OW": b"\x01\x02", "OD": b"\x01" * 8, "OF": b"\x01" * 4,
    "OL": b"\x01" * 4, "OV": b"\x01" * 8, "UN": b"\x01\x02",
}  # fmt: skip


def test_the_two_copies_of_the_table_list_the_same_attributes() -> None:
    from dicom_api.dicom.confidentiality import PROFILE

    tags = {t for row in ROWS if (t := tag_of(row["tag"])) is not None}
    assert tags == set(PROFILE)
    assert len(ROWS) == len(tags) + 4  # curves, overlay data, overlay comments, private attributes


@pytest.mark.parametrize("options", RUNS, ids=lambda o: "+".join(o) or "basic")
def test_every_row_has_the_tables_action(options: tuple[str, ...]) -> None:
    chosen = Options.from_names(list(options))
    wrong = {}
    for row in ROWS:
        tag = tag_of(row["tag"])
        if tag is not None and action_for(tag, chosen) != cell(row, options):
            wrong[row["tag"]] = (action_for(tag, chosen), cell(row, options))
    assert wrong == {}


@pytest.mark.parametrize("options", RUNS, ids=lambda o: "+".join(o) or "basic")
def test_the_masked_rows_cover_their_groups(options: tuple[str, ...]) -> None:
    masked = {row["name"]: row for row in ROWS if tag_of(row["tag"]) is None}
    chosen = Options.from_names(list(options))
    examples = {
        "Curve Data": (0x50000010, 0x501E3000),
        "Overlay Data": (0x60003000, 0x601E3000),
        "Overlay Comments": (0x60004000, 0x60024000),
        "Private Attributes": (0x00091010, 0x7FE10010, 0x00291120),
    }
    for name, tags in examples.items():
        for tag in tags:
            assert action_for(tag, chosen) == cell(masked[name], options), (name, hex(tag))
    assert action_for(0x60004001, chosen) is None  # only (60xx,3000) and (60xx,4000) are listed


def _vr(tag: int) -> str | None:
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        return None
    return vr if vr in VRS.__members__ else None  # "US or SS" and the like: no single sample fits


def _walked_dataset() -> tuple[Dataset, dict[int, tuple[str, object]]]:
    """A data set holding every attribute of the table that a data set can hold (not the command and file
    meta groups, not the masked rows), each with a sample value of its VR; a sequence holds a name and a UID."""
    ds, placed = Dataset(), {}
    for row in ROWS:
        tag = tag_of(row["tag"])
        vr = _vr(tag) if tag is not None and tag >> 16 >= 0x0008 else None
        if vr is None:
            continue
        if vr == "SQ":
            item = Dataset()
            item.PatientName, item.ReferencedSOPInstanceUID = NAME, "1.2.3.4.5.6789"
            value: object = Sequence([item])
        else:
            value = SAMPLES[vr]
        ds.add_new(tag, vr, value)
        placed[tag] = (vr, value)
    ds.PatientName = NAME
    return ds, placed


def test_the_walk_places_nearly_every_row() -> None:
    _, placed = _walked_dataset()
    assert len(placed) > 0.9 * len(ROWS)


@pytest.mark.parametrize("options", RUNS, ids=lambda o: "+".join(o) or "basic")
def test_every_attribute_meets_its_fate(options: tuple[str, ...]) -> None:
    ds, placed = _walked_dataset()
    deidentify_dataset(ds, KEY, Options.from_names(list(options)))
    wrong = {}
    for tag, (vr, before) in placed.items():
        action = cell(BY_TAG[tag], options)
        problem = _fate_problem(action, vr, before, ds.get(tag), options)
        if problem:
            wrong[BY_TAG[tag]["tag"]] = f"{action}: {problem}"
    assert wrong == {}


def _fate_problem(cell: str, vr: str, before: object, elem: object, options: tuple[str, ...]) -> str | None:  # noqa: C901
    """What is wrong with the element after de-identification, given its cell of the table (None: right)."""
    value = getattr(elem, "value", None)
    if cell == "X":
        return None if elem is None else "still present"
    if elem is None:
        return "removed"
    if vr == "SQ":
        if cell in ("Z", "X/Z"):
            return None if len(value) == 0 else "items left"
        item = value[0]
        if str(item["PatientName"].value or ""):
            return "a name left inside the sequence"
        uid = str(item.ReferencedSOPInstanceUID)
        keep_uids = "retain_uids" in options
        return None if (uid == "1.2.3.4.5.6789") == keep_uids else "UID inside the sequence"
    if cell in ("Z", "X/Z"):
        return None if value in (None, "", b"") else f"not empty: {value!r}"
    if cell == "K":
        return None if value == before else f"changed to {value!r}"
    if cell == "U" or (cell == "X/Z/U*" and vr == "UI"):
        return None if str(value).startswith("2.25.") and value != before else f"UID {value!r}"
    if cell in ("D", "X/D", "Z/D", "X/Z/D"):
        return None if value not in (None, "", b"") and value != before else f"not a dummy: {value!r}"
    if cell == "C":
        return _clean_problem(vr, before, value)
    return f"unexpected cell {cell}"


def _clean_problem(vr: str, before: object, value: object) -> str | None:
    if vr in ("DA", "DT"):  # the Modified Dates Option: the same date moved back, the rest unchanged
        moved = isinstance(value, str) and value[:8].isdigit() and value[:8] < str(before)[:8]
        return None if moved and value[8:] == str(before)[8:] else f"not shifted: {value!r}"
    if vr == "AE":
        return None if value and value != before else f"AE kept: {value!r}"
    if vr in ("LO", "SH", "ST", "LT", "UT", "UC", "PN"):
        return None if "Roe" not in str(value) and value else f"not cleaned: {value!r}"
    return None if value == before else f"changed to {value!r}"
