"""Attributes as JSON: one element in the {"VR", "name", "value"} shape, and whole headers.

Value mapping (PS3.5 6.2 value representations): numbers for the numeric VRs, a list when VM > 1,
PN/DA/TM/DT as their DICOM strings, SQ as a list of items (objects keyed by tag), binary VRs as base64
up to BULK_LIMIT bytes and null with "length" above it. An empty value is null (an empty SQ, no items).

``dicom_json_model`` gives a whole header in the DICOM JSON Model (PS3.18 F.2), element by element: an element
whose value cannot be read or mapped never fails the document.

Sequences deeper than MAX_SEQUENCE_DEPTH are refused at upload (``dicom/nesting.py``); readers stop there too,
for anything stored before, since pydicom's reader and every JSON writer recurse once per level.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, Tag
from pydicom.valuerep import PersonName

from dicom_api.dicom.nesting import MAX_SEQUENCE_DEPTH
from dicom_api.errors import AttributeNotFound, InvalidParameter

BULK_LIMIT = 64 * 1024
INT_VRS = frozenset({"IS", "US", "SS", "UL", "SL", "UV", "SV"})
FLOAT_VRS = frozenset({"DS", "FL", "FD"})
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN", "OB or OW", "US or OW", "US or SS or OW"})
HEX = frozenset("0123456789abcdefABCDEF")
JSON_INLINE_LIMIT = 1024  # base64 characters: larger binary values are left out of the JSON Model
VALID_VRS = frozenset(
    "AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV".split()
)  # PS3.5 Table 6.2-1
_JSON_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})


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


def dicom_json_model(ds: Dataset, depth: int = 1) -> dict[str, Any]:
    """``ds`` in the DICOM JSON Model (PS3.18 F.2), keys in tag order; binary values above JSON_INLINE_LIMIT
    and the items of sequences deeper than MAX_SEQUENCE_DEPTH are left out (the element keeps its "vr").

    Every element is mapped on its own: one whose value pydicom cannot read (an unknown VR, a cut value, a
    sequence too deep for its reader) is given as UN with its bytes as InlineBinary, which is what PS3.5 6.2.2
    makes of a VR that cannot be interpreted, and what PS3.18 F.2.7 allows for UN: nothing is lost or invented.
    """
    model: dict[str, Any] = {}
    for tag in sorted(ds.keys()):
        try:
            elem = ds[tag]
            entry = _model_element(elem, depth) if _json_vr(elem) in VALID_VRS else None
        except Exception:  # a RecursionError included: the element's own bytes stand for it
            entry = None
        model[f"{int(tag):08X}"] = entry if entry is not None else _model_undecoded(ds, tag)
    return model


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


def _model_element(elem: DataElement, depth: int) -> dict[str, Any]:
    vr = _json_vr(elem)
    out: dict[str, Any] = {"vr": vr}
    value = elem.value
    if vr == "SQ":
        if depth <= MAX_SEQUENCE_DEPTH:  # an empty sequence is "Value": [], one left out has no "Value"
            out["Value"] = [dicom_json_model(item, depth + 1) for item in value or []]
        return out
    if vr in _JSON_BINARY_VRS:
        out.update(_inline(value))
        return out
    values = list(value) if isinstance(value, MultiValue | list | tuple) else [value]
    if values and not (len(values) == 1 and (values[0] is None or values[0] == "")):
        out["Value"] = [_model_value(v, vr) for v in values]  # F.2.5: an empty value among several is null
    return out


def _json_vr(elem: DataElement) -> str:
    """The element's VR; one still ambiguous ("US or SS", "OB or OW", PS3.5 A.1) resolved from its value."""
    vr = str(elem.VR)
    if " or " not in vr:
        return vr
    choices = vr.split(" or ")
    if isinstance(elem.value, bytes | bytearray):
        return "OW" if "OW" in choices else "OB"
    return choices[0]


def _model_value(value: Any, vr: str) -> Any:
    """One value as PS3.18 Table F.2.3-1 maps its VR."""
    if value is None or value == "":
        return None
    if vr == "PN":
        name = value if isinstance(value, PersonName) else PersonName(value)
        groups = {"Alphabetic": name.alphabetic, "Ideographic": name.ideographic, "Phonetic": name.phonetic}
        return {key: text for key, text in groups.items() if text}  # F.2.2: empty groups are left out
    if vr == "AT":
        return f"{int(value):08X}"
    if vr in ("IS", "DS"):
        # F.2.3.1 lets IS and DS go out as JSON Strings: a value that is no finite number (nan, 1e999,
        # 5.0x0000) is given as written rather than dropped; JSON has no NaN or Infinity.
        try:
            number = int(value) if vr == "IS" else float(value)
        except (TypeError, ValueError):
            return str(value).strip()
        return number if math.isfinite(number) else str(value).strip()
    if vr in ("FL", "FD"):
        # IEEE 754 NaN and infinities are valid FL/FD values (PS3.5 6.2) but no JSON Number: named instead.
        number = float(value)
        if math.isnan(number):
            return "NaN"
        return number if math.isfinite(number) else ("Infinity" if number > 0 else "-Infinity")
    if vr in INT_VRS:
        return int(value)
    return str(value)


def _model_undecoded(ds: Dataset, tag: BaseTag) -> dict[str, Any]:
    """An element pydicom cannot decode, as UN with its bytes (PS3.5 6.2.2), or the VR alone if they are large."""
    return {"vr": "UN", **_inline(getattr(ds._dict.get(tag), "value", None))}


def _inline(value: Any) -> dict[str, str]:
    """{"InlineBinary": base64} (PS3.18 F.2.7) for bytes whose base64 fits JSON_INLINE_LIMIT, else nothing."""
    if not isinstance(value, bytes | bytearray) or not value:
        return {}
    encoded = base64.b64encode(bytes(value)).decode("ascii")
    return {"InlineBinary": encoded} if len(encoded) <= JSON_INLINE_LIMIT else {}
