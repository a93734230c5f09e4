"""De-identification by the Basic Application Level Confidentiality Profile (PS3.15 Annex E) and its options.

Written here rather than taken from a library. `dicognito` pseudonymises (fake names, shifted dates) by its
own rules rather than Table E.1-1's actions; `dicom-anonymizer` follows a 2013 edition of the table with
random UIDs held in a process-wide dictionary; `deid` applies recipes that are not the table either. A
table that the tests can compare row by row (dicom/confidentiality.py) and UIDs mapped by a keyed HMAC, so
that two runs with one key agree without shared state, are short to write and easy to check.

Actions (PS3.15 E.1.1), applied to every element at every depth of sequences:
- X removed; Z emptied (a sequence: no items); D a dummy of the VR (a sequence: its items cleaned);
  U a UID from ``new_uid``; K kept (a sequence: its items cleaned); C cleaned (see ``_clean_value``).
- Where the table leaves the choice to the attribute's Type, the choice that is valid for every Type is
  taken: X/Z -> Z; X/D, Z/D, X/Z/D -> D; X/Z/U* -> a sequence cleaned (its UIDs replaced), otherwise Z.
- Beyond the table, so that nothing listed elsewhere leaks: an unlisted PN, DA or DT is emptied (dates kept
  or shifted under the dates options), and an unlisted UI whose value is not a UID the standard registers
  is replaced like a U. Group lengths are dropped; private attributes go unless Retain Safe Private keeps
  one of SAFE_PRIVATE.
- Curves (50xx) and overlays (60xx) are removed: the table removes their data, and an overlay's other
  attributes go with it rather than describe a bitmap that is not there. The Clean Graphics, Clean Pixel Data
  and Clean Recognizable Visual Features Options are not offered: nothing here can clean a bitmap.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any, BinaryIO

import pydicom
from pydicom._uid_dict import UID_dictionary
from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from dicom_api.dicom import deid_values as values
from dicom_api.dicom.confidentiality import CODES, PRIVATE, PROFILE, REPEATING, SAFE_PRIVATE
from dicom_api.dicom.nesting import check_sequence_depth
from dicom_api.errors import BurnedInAnnotation, InvalidDicom, InvalidParameter

# The options a caller may choose, each the name of its column of Table E.1-1 (see confidentiality.py).
OPTION_COLUMNS: dict[str, str] = {
    "retain_safe_private": "safe_private",
    "retain_uids": "uids",
    "retain_device_identity": "device",
    "retain_institution_identity": "institution",
    "retain_patient_characteristics": "patient",
    "retain_full_dates": "full_dates",
    "retain_modified_dates": "modified_dates",
    "clean_descriptors": "descriptors",
    "clean_structured_content": "structured",
}
# Secondary Capture (PS3.4 B.5: 1.1.7 and its multi-frame kinds) and Ultrasound (1.1.6.1, 1.1.3.1 and the
# retired 1.1.6, 1.1.3): images whose pixels often carry the patient's name.
RISKY_SOP_CLASSES = frozenset(
    "1.2.840.10008.5.1.4.1.1." + s for s in ("7", "7.1", "7.2", "7.3", "7.4", "6", "6.1", "6.2", "3", "3.1")
)
# What pydicom raises on values it cannot decode or encode (it reads lazily: anywhere in the walk).
_UNREADABLE = (
    InvalidDicomError, BytesLengthException, ValueError, TypeError, NotImplementedError, AttributeError, KeyError,
    IndexError, OverflowError, EOFError, OSError, struct.error, zlib.error, RecursionError,
)  # fmt: skip
_NOT_STORED = (0x0000, 0x0002)  # command and file meta groups: dcmwrite refuses them in a data set
# Unlisted UI attributes that name a kind of thing (a SOP class, a transfer syntax, a coding scheme, a mapping
# resource), never an instance: kept even when their UID is not one the standard registers.
_NAMING_UIDS = ("Class", "TransferSyntax", "CodingScheme", "MappingResource")
_PIXELS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_IDENTIFYING_VRS = frozenset({"PN", "LO", "SH", "DA", "DT", "AE", "UI", "ST", "LT", "UT", "UC"})


@dataclass(frozen=True)
class Options:
    """The options of PS3.15 E.3 chosen for a run; none is the Basic Profile alone. ``accept_burned_in``
    is the caller's word that the pixels carry no identity: it lifts the refusal, it cleans nothing."""

    retain_safe_private: bool = False
    retain_uids: bool = False
    retain_device_identity: bool = False
    retain_institution_identity: bool = False
    retain_patient_characteristics: bool = False
    retain_full_dates: bool = False
    retain_modified_dates: bool = False
    clean_descriptors: bool = False
    clean_structured_content: bool = False
    accept_burned_in: bool = False

    def __post_init__(self) -> None:
        if self.retain_full_dates and self.retain_modified_dates:
            raise InvalidParameter("Choose either retain_full_dates or retain_modified_dates, not both.")

    @classmethod
    def from_names(cls, names: list[str]) -> Options:
        """Options from their names (the field names); an unknown name is an InvalidParameter."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(names) - known)
        if unknown:
            raise InvalidParameter(
                f"Unknown de-identification option: {unknown[0]}. Known: {', '.join(sorted(known))}."
            )
        return cls(**dict.fromkeys(names, True))

    @property
    def columns(self) -> frozenset[str]:
        """The columns of Table E.1-1 these options switch on."""
        return frozenset(column for name, column in OPTION_COLUMNS.items() if getattr(self, name))


def table_row(tag: int) -> tuple[str, str] | None:
    """The row of PS3.15 Table E.1-1 for ``tag``: (Basic Profile action, options), or None when unlisted."""
    if (tag >> 16) & 1:
        return PRIVATE
    row = PROFILE.get(tag)
    if row is not None:
        return row
    for mask, value, basic, opts in REPEATING:
        if tag & mask == value:
            return basic, opts
    return None


def action_for(tag: int, options: Options) -> str | None:
    """The action of PS3.15 Table E.1-1 for ``tag`` under ``options`` (the table's cell, such as "X/Z"),
    or None for an unlisted attribute. An option that keeps (K) wins over one that cleans (C)."""
    row = table_row(tag)
    if row is None:
        return None
    basic, opts = row
    chosen = {action for column, action in (o.split(":") for o in opts.split()) if column in options.columns}
    if "K" in chosen:
        return "K"
    return "C" if chosen else basic


def check_burned_in(ds: Dataset, options: Options) -> None:
    """Refuse an image whose pixels may show identity (PS3.15 E.3.1): Burned In Annotation (0028,0301) YES,
    or a secondary capture or ultrasound image that does not say NO. ``accept_burned_in`` lifts it."""
    if options.accept_burned_in or not any(name in ds for name in _PIXELS):
        return
    flag = str(ds.get("BurnedInAnnotation", "") or "").strip().upper()
    if flag == "YES":
        raise BurnedInAnnotation("The image is flagged Burned In Annotation YES: its pixels may show identity.")
    if flag != "NO" and str(ds.get("SOPClassUID", "")).strip() in RISKY_SOP_CLASSES:
        raise BurnedInAnnotation(
            "The image is a secondary capture or ultrasound without Burned In Annotation NO: its pixels may show "
            "identity."
        )


def deidentify_file(src: BinaryIO, dst: BinaryIO, key: bytes, options: Options) -> Dataset:
    """Read a DICOM file (PS3.10), de-identify it (``deidentify_dataset``), write it to ``dst`` and return it.
    A file pydicom cannot read, or cannot write back (a value its VR cannot encode, pixel data that does not
    match its transfer syntax), is an InvalidDicom whose message carries none of the file's values."""
    try:
        ds = pydicom.dcmread(src, force=True)
        uid = str(ds.get("SOPInstanceUID") or "").strip()
    except _UNREADABLE:
        raise InvalidDicom() from None
    if not uid:
        raise InvalidDicom("The file has no SOP Instance UID: it is no stored instance.")
    check_sequence_depth(ds)  # as at upload: the walk and pydicom's writer recurse once per level
    check_burned_in(ds, options)
    try:
        deidentify_dataset(ds, key, options)
        ds.save_as(dst, enforce_file_format=True)
    except _UNREADABLE:
        raise InvalidDicom("The file cannot be de-identified: pydicom cannot write its values back.") from None
    return ds


def deidentify_dataset(ds: Dataset, key: bytes, options: Options) -> None:
    """Apply PS3.15 Table E.1-1 with ``options`` to ``ds`` in place, UIDs mapped under ``key``; then record
    it (PS3.15 E.1.1 steps: Patient Identity Removed YES, De-identification Method and its code sequence)."""
    run = _Run(key, options, [], values.date_shift_days(key))
    run.tokens = values.identifying_tokens(_identifying_values(ds, options))
    _clean_dataset(ds, run)
    _stamp(ds, options)
    _new_file_meta(ds)


@dataclass
class _Run:
    key: bytes
    options: Options
    tokens: list[str]
    shift: int


def _effect(elem: DataElement, options: Options) -> str:
    """What happens to ``elem``: one of X, Z, D, U, K, C (the table's choices resolved, unlisted ones too)."""
    tag, vr = int(elem.tag), elem.VR
    action = action_for(tag, options)
    if action is None:
        return _unlisted(elem, options)
    if action == "X/Z/U*":
        return "K" if vr == "SQ" else "U" if vr == "UI" else "Z"
    return "U" if action[-1] == "D" and vr == "UI" else action[-1]


def _unlisted(elem: DataElement, options: Options) -> str:
    if (int(elem.tag) >> 24) == 0x60:  # the rest of an overlay whose data (60xx,3000) the table removes
        return "X"
    if elem.VR in ("DA", "DT"):
        return "K" if options.retain_full_dates else "C" if options.retain_modified_dates else "Z"
    if elem.VR == "PN":
        return "Z"
    if elem.VR == "UI" and not options.retain_uids:
        keyword = keyword_for_tag(elem.tag)
        registered = all(_registered(str(v)) for v in _values(elem))
        if not registered and not any(word in keyword for word in _NAMING_UIDS):
            return "U"
    return "K"


def _registered(uid: str) -> bool:
    uid = uid.strip()
    return uid in UID_dictionary or uid.startswith("1.2.840.10008.")  # the standard's own root (PS3.5 B.1)


def _clean_dataset(ds: Dataset, run: _Run) -> None:
    for tag in [int(t) for t in ds.keys()]:
        if tag & 0xFFFF == 0 or tag >> 16 in _NOT_STORED or (tag >> 16) & 1:
            if not (tag >> 16) & 1 or not _safe_private(ds, tag, run.options):
                del ds[tag]
            continue
        elem = _decoded(ds, tag)
        if elem is None:  # a value pydicom cannot decode (an unknown VR): removed, never written unread
            del ds[tag]
            continue
        effect = _effect(elem, run.options)
        if effect == "X":
            del ds[tag]
        elif effect == "Z":
            elem.value = Sequence() if elem.VR == "SQ" else None
        elif elem.VR == "SQ":  # D, K, C and U* of a sequence: the same rules inside each item
            for item in elem.value or ():
                _clean_dataset(item, run)
        elif effect == "D":
            elem.value = values.dummy(elem.VR)
        elif effect == "U":
            elem.value = _mapped(elem, run.key)
        elif effect == "C":
            elem.value = _clean_value(elem, run)
    _drop_empty_private_blocks(ds)


def _decoded(ds: Dataset, tag: int) -> DataElement | None:
    try:
        elem = ds[tag]
        elem.VM  # noqa: B018  decodes the value
    except _UNREADABLE:
        return None
    return elem


def _elements(ds: Dataset) -> Iterator[DataElement]:
    """Every element at every depth that pydicom can decode (``Dataset.iterall`` stops at the first that not)."""
    for tag in [int(t) for t in ds.keys()]:
        elem = _decoded(ds, tag)
        if elem is None:
            continue
        yield elem
        if elem.VR == "SQ":
            for item in elem.value or ():
                yield from _elements(item)


def _clean_value(elem: DataElement, run: _Run) -> Any:
    """Action C for a value: dates shifted (Modified Dates), AE titles pseudonymised (Retain Device
    Identity), free text with every identifying value of the data set taken out; other values kept."""
    if elem.VR in ("DA", "DT"):
        shifted = [values.shift_date(str(v), run.shift, elem.VR) for v in _values(elem)]
        return None if not shifted or None in shifted else shifted if len(shifted) > 1 else shifted[0]
    if elem.VR == "AE":
        return [values.pseudonym(run.key, str(v), "AE") for v in _values(elem)] or None
    if elem.VR in values.TEXT_VRS:
        cleaned = [values.scrub(str(v), run.tokens) for v in _values(elem)]
        return cleaned if len(cleaned) > 1 else cleaned[0] if cleaned else None
    return elem.value


def _mapped(elem: DataElement, key: bytes) -> Any:
    new = [values.new_uid(key, str(v)) for v in _values(elem) if str(v).strip()]
    return new if len(new) > 1 else new[0] if new else None


def _values(elem: DataElement) -> list[Any]:
    if elem.value is None or elem.value == "":
        return []
    return list(elem.value) if elem.VM > 1 else [elem.value]


def _safe_private(ds: Dataset, tag: int, options: Options) -> bool:
    """PS3.15 E.3.10: a private attribute is kept only under the option, and only if its creator and element
    are in SAFE_PRIVATE; creators are kept here and dropped afterwards if their block is left empty."""
    if not options.retain_safe_private:
        return False
    group, element = tag >> 16, tag & 0xFFFF
    if 0x10 <= element <= 0xFF:
        return True
    creator = _decoded(ds, (group << 16) | (element >> 8)) if element >= 0x1000 else None
    name = str(creator.value).strip() if creator is not None else ""
    return (name, group, element & 0xFF) in SAFE_PRIVATE


def _drop_empty_private_blocks(ds: Dataset) -> None:
    private = [int(t) for t in ds.keys() if t.is_private]
    for tag in private:
        group, element = tag >> 16, tag & 0xFFFF
        if 0x10 <= element <= 0xFF:
            low = (group << 16) | (element << 8)
            if not any(low <= t <= low | 0xFF for t in private):
                del ds[tag]


def _identifying_values(ds: Dataset, options: Options) -> list[str]:
    """Every value a Clean action must not let through: the text, names, IDs, dates and UIDs that the
    profile removes or replaces, found at any depth."""
    found: list[str] = []
    for elem in _elements(ds):
        if elem.VR in _IDENTIFYING_VRS and (elem.tag.is_private or _effect(elem, options) not in ("K", "C")):
            found.extend(str(v) for v in _values(elem))
    return found


def _stamp(ds: Dataset, options: Options) -> None:
    used = ["profile", *(column for name, column in OPTION_COLUMNS.items() if getattr(options, name))]
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = [CODES[c][1] for c in used]
    items = []
    for column in used:
        item = Dataset()
        item.CodeValue, item.CodeMeaning = CODES[column]
        item.CodingSchemeDesignator = "DCM"
        items.append(item)
    ds.DeidentificationMethodCodeSequence = Sequence(items)
    modified = "UNMODIFIED" if options.retain_full_dates else "MODIFIED" if options.retain_modified_dates else None
    ds.LongitudinalTemporalInformationModified = modified or "REMOVED"


def _new_file_meta(ds: Dataset) -> None:
    """A new file meta (PS3.10 7.1): the transfer syntax and SOP class kept, the instance UID the data set's
    new one, nothing of the sending application (its AE titles, private information)."""
    old = getattr(ds, "file_meta", None) or FileMetaDataset()
    syntax = old.get("TransferSyntaxUID")
    if syntax is None:
        implicit, little = getattr(ds, "original_encoding", (False, True))
        syntax = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian if little else ExplicitVRBigEndian
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = old.get("MediaStorageSOPClassUID") or ds.get("SOPClassUID")
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    ds.file_meta = meta
