"""Attributes as JSON: one element in the {"VR", "name", "value"} shape, and whole headers.

Value mapping (PS3.5 6.2 value representations): numbers for the numeric VRs, a list when VM > 1,
PN/DA/TM/DT as their DICOM strings, SQ as a list of items (objects keyed by tag), binary VRs as base64
up to BULK_LIMIT bytes and null with "length" above it. An empty value is null (an empty SQ, no items).

``dicom_json_model`` gives a whole header in the DICOM JSON Model (PS3.18 F.2), written by ``dicom/json_model.py``.

Sequences deeper than MAX_SEQUENCE_DEPTH are refused at upload (``dicom/nesting.py``); readers stop there too,
for anything stored before, since pydicom's reader and every JSON writer recurse once per level.
"""

from __future__ import annotations

import base64
from typing import Any

from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, Tag

from dicom_api.dicom.json_model import json_model
from dicom_api.dicom.nesting import MAX_SEQUENCE_DEPTH
from dicom_api.errors import AttributeNotFound, InvalidParameter

BULK_LIMIT = 64 * 1024
INT_VRS = frozenset({"IS", "US", "SS", "UL", "SL", "UV", "SV"})
FLOAT_VRS = frozenset({"DS", "FL", "FD"})
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN", "OB or OW", "US or OW", "US or SS or OW"})
HEX = frozenset("0123456789abcdefABCDEF")


def parse_tag_part(text: str | None, label: str) -> int:
    """Parse a tag group or element (PS3.5 7.1.1) given as four hex digits, optional 0x prefix, any case."""
    if text is None or text == "":
        raise InvalidParameter(f"{label} is required: four hexadecimal digits such as 0010.")
    digits = text[2:] if text[:2].lower() == "0x" else text
    if len(digits) != 4 or not set(digits) <= HEX:
        raise InvalidParameter(f"{label} must be four hexadecimal digits (optionally prefixed with 0x).")
    return int(digits, 16)


def tag_text(tag: int) -> str:
    """A tag as the standard writes it, (gggg,eeee) (PS3.5 7.1.1)."""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def find_element(ds: Dataset, tag: int) -> DataElement:
    """The element ``tag`` of the file: group 0002 from the file meta (PS3.10 7.1), the rest from the data set."""
    source = ds.file_meta if tag >> 16 == 0x0002 and getattr(ds, "file_meta", None) is not None else ds
    if Tag(tag) not in source:
        raise AttributeNotFound(f"The file has no attribute {tag_text(tag)}.")
    return source[tag]  # __getitem__ converts raw elements and sets the private creator


def element_json(elem: DataElement, depth: int = 1) -> dict[str, Any]:
    """One element as {"tag", "VR", "name", "keyword", "value"} (plus "length" for binary VRs, PS3.5 6.2).

    ``depth`` is the nesting level of a sequence (1 at the top): items below MAX_SEQUENCE_DEPTH are left out."""
    vr = str(elem.VR)
    out: dict[str, Any] = {
        "tag": tag_text(elem.tag),
        "VR": vr,
        "name": _name(elem),
        "keyword": keyword_for_tag(elem.tag) or None,
    }
    if vr == "SQ":
        too_deep = depth > MAX_SEQUENCE_DEPTH
        out["value"] = None if too_deep else [dataset_json(item, depth + 1) for item in elem.value or []]
        return out
    if vr in BINARY_VRS:
        raw = elem.value
        length = len(raw) if isinstance(raw, bytes | bytearray) else int(getattr(elem, "length", 0) or 0)
        if isinstance(raw, bytes | bytearray) and 0 < length <= BULK_LIMIT:
            out["value"] = base64.b64encode(bytes(raw)).decode("ascii")
        else:  # empty, or too large to inline
            out["value"] = None
        out["length"] = length
        return out
    out["value"] = _value(elem, vr)
    return out


def bulk_element_json(tag: int, vr: str, length: int) -> dict[str, Any]:
    """A large value (Pixel Data) described from its position in the file, without reading it."""
    return {
        "tag": tag_text(tag),
        "VR": vr,
        "name": _name(DataElement(tag, vr, None)),
        "keyword": keyword_for_tag(tag) or None,
        "value": None,
        "length": length,
    }


def dataset_json(ds: Dataset, depth: int = 1) -> dict[str, Any]:
    """Every element of ``ds`` keyed by its 8-digit tag, as in the DICOM JSON Model (PS3.18 F.2)."""
    result: dict[str, Any] = {}
    for tag in list(ds.keys()):
        try:
            elem = ds[tag]
        except Exception:  # noqa: S112 - one malformed value must not hide the rest of the header
            continue
        result[f"{int(tag):08X}"] = element_json(elem, depth)
    return result


def dicom_json_model(ds: Dataset) -> dict[str, Any]:
    """``ds`` in the DICOM JSON Model (PS3.18 F.2) as the file holds it: its Specific Character Set kept, binary
    values above JSON_INLINE_LIMIT left out (the element keeps its "vr"). See ``dicom/json_model.py``."""
    return json_model(ds, keep_charset=True)


def _name(elem: DataElement) -> str:
    name = str(elem.name)
    if BaseTag(elem.tag).is_private and name.startswith("[") and name.endswith("]"):
        return name[1:-1]
    return name


def _value(elem: DataElement, vr: str) -> Any:
    value = elem.value
    if value is None or value == "" or (isinstance(value, MultiValue | list) and len(value) == 0):
        return None
    if isinstance(value, MultiValue | list | tuple):
        return [_scalar(v, vr) for v in value]
    return _scalar(value, vr)


def _scalar(value: Any, vr: str) -> Any:
    try:
        if vr in INT_VRS:
            return int(value)
        if vr in FLOAT_VRS:
            number = float(value)
            return number if number == number and abs(number) != float("inf") else str(value)
    except (TypeError, ValueError):
        return str(value).strip()  # a non-conformant number is shown as written
    if vr == "AT":
        return tag_text(int(value))
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)
