"""The DICOM JSON Model writer (PS3.18 Annex F) for QIDO-RS results, WADO-RS metadata and the attributes route.

Decisions, each where the standard leaves a choice:

- Keys are 8 upper-case hex digits in ascending order; group lengths (gggg,0000) are left out (F.2.1, F.2.2).
- IS and DS go out as JSON Numbers when their text is one, else as the text itself (F.2.3.1 allows strings);
  SV and UV beyond 2^53 as strings (F.2.3.1); FL/FD NaN and infinities, valid floats but no JSON Number, as
  the strings "NaN", "Infinity", "-Infinity".
- Binary values (OB OD OF OL OV OW UN, and Pixel Data whatever its VR): Pixel Data and values larger than
  ``inline_limit`` base64 characters go out as a BulkDataURI when the ``bulk_uri`` callback gives one;
  smaller values as InlineBinary (F.2.7); otherwise the element keeps its "vr" alone (F.2.5: it is present,
  its value is not given). Pixel Data is never inlined: clients fetch it as frames.
- A value pydicom cannot decode (an unknown VR, a cut value, a sequence too deep for its reader) goes out as
  UN with its bytes (PS3.5 6.2.2): one bad element never fails the document, and nothing here raises.
- Sequences deeper than MAX_SEQUENCE_DEPTH keep their "vr" alone (dicom/nesting.py).
- Every text is a Python str, sent as UTF-8: Specific Character Set (0008,0005), where present, is given as
  ISO_IR 192 (what the JSON now is), unless ``keep_charset``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag
from pydicom.valuerep import PersonName

from dicom_api.dicom.nesting import MAX_SEQUENCE_DEPTH

TagPath = tuple[int, ...]
"""Where an element is: (tag,) at the top; (sequence tag, item index, tag, ...) inside items (index from 0)."""
BulkUri = Callable[[TagPath], "str | None"]

JSON_INLINE_LIMIT = 1024  # base64 characters
VALID_VRS = frozenset(
    "AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV".split()
)  # PS3.5 Table 6.2-1
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})  # PS3.18 F.2.7
PIXEL_DATA_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})  # Float, Double Float and Pixel Data
SPECIFIC_CHARACTER_SET = 0x00080005
_INT_VRS = frozenset({"US", "SS", "UL", "SL", "UV", "SV"})
_EXACT_JSON_INT = 2**53  # F.2.3.1: beyond it an integer may not survive a JSON reader


def json_model(
    ds: Dataset,
    *,
    bulk_uri: BulkUri | None = None,
    inline_limit: int = JSON_INLINE_LIMIT,
    file_meta: bool = False,
    keep_charset: bool = False,
) -> dict[str, Any]:
    """``ds`` as one object of the DICOM JSON Model (PS3.18 F.2), with its File Meta Information (group 0002,
    PS3.10 7.1) when ``file_meta``. See the module's docstring for the choices made; never raises for
    a value of the data set."""
    writer = _Writer(bulk_uri, inline_limit, keep_charset)
    model = writer.dataset(ds, (), 1)
    meta = getattr(ds, "file_meta", None) if file_meta else None
    if meta is None:
        return model
    # Merged in tag order: a data set may hold group 0001 (invalid, yet read) or group 0002 elements of its own.
    return dict(sorted({**model, **writer.dataset(meta, (), 1)}.items()))


def insert_element(model: dict[str, Any], tag: int, entry: dict[str, Any]) -> dict[str, Any]:
    """``model`` with ``entry`` at ``tag``, keys still ascending (F.2.1): for an element not read from the file,
    such as Pixel Data after a header read that stopped before it."""
    model[f"{tag:08X}"] = entry
    return dict(sorted(model.items()))


class _Writer:
    def __init__(self, bulk_uri: BulkUri | None, inline_limit: int, keep_charset: bool) -> None:
        self.bulk_uri = bulk_uri
        self.inline_limit = inline_limit
        self.keep_charset = keep_charset

    def dataset(self, ds: Dataset, path: TagPath, depth: int) -> dict[str, Any]:
        model: dict[str, Any] = {}
        try:
            tags = sorted(ds.keys())
        except Exception:  # noqa: BLE001 - a data set that cannot even list itself gives an empty item
            return model
        for tag in tags:
            if tag & 0xFFFF == 0:
                continue  # group length: F.2.2 leaves it out
            try:
                entry = self.element(ds[tag], (*path, int(tag)), depth)
            except Exception:  # noqa: BLE001 - a RecursionError included: the element's own bytes stand for it
                entry = self.undecoded(ds, tag, (*path, int(tag)))
            model[f"{int(tag):08X}"] = entry
        return model

    def element(self, elem: DataElement, path: TagPath, depth: int) -> dict[str, Any]:
        vr = _json_vr(elem)
        if vr not in VALID_VRS:
            raise ValueError("unknown VR")  # caught by dataset(): given as UN
        out: dict[str, Any] = {"vr": vr}
        value = elem.value
        if vr == "SQ":
            if depth <= MAX_SEQUENCE_DEPTH:  # an empty sequence is "Value": []
                items = list(value or [])
                out["Value"] = [self.dataset(item, (*path, i), depth + 1) for i, item in enumerate(items)]
            return out
        if vr in BINARY_VRS or int(elem.tag) in PIXEL_DATA_TAGS:
            out.update(self.binary(value, path))
            return out
        if int(elem.tag) == SPECIFIC_CHARACTER_SET and not self.keep_charset and value:
            out["Value"] = ["ISO_IR 192"]
            return out
        values = list(value) if isinstance(value, MultiValue | list | tuple) else [value]
        mapped = [_value(v, vr) for v in values]  # F.2.5: an empty value among several is null
        if mapped != [None] and mapped:
            out["Value"] = mapped  # one empty value: the element alone (F.2.5)
        return out

    def binary(self, value: Any, path: TagPath) -> dict[str, str]:
        """F.2.7: InlineBinary when small, else BulkDataURI when the callback gives one, else nothing."""
        pixel_data = len(path) == 1 and path[0] in PIXEL_DATA_TAGS
        raw = bytes(value) if isinstance(value, bytes | bytearray) else b""
        small = len(raw) * 4 <= self.inline_limit * 3  # base64 makes 4 characters of 3 bytes
        if raw and small and not pixel_data:
            return {"InlineBinary": base64.b64encode(raw).decode("ascii")}
        uri = self.bulk_uri(path) if self.bulk_uri is not None and (raw or pixel_data) else None
        return {"BulkDataURI": uri} if uri else {}

    def undecoded(self, ds: Dataset, tag: BaseTag, path: TagPath) -> dict[str, Any]:
        """An element pydicom cannot decode, as UN with its bytes (PS3.5 6.2.2)."""
        try:
            raw = getattr(ds._dict.get(tag), "value", None)
            return {"vr": "UN", **self.binary(raw, path)}
        except Exception:  # noqa: BLE001 - a callback failing on it too: the VR alone
            return {"vr": "UN"}


def _json_vr(elem: DataElement) -> str:
    """The element's VR; one still ambiguous ("US or SS", "OB or OW", PS3.5 A.1) resolved from its value."""
    vr = str(elem.VR)
    if " or " not in vr:
        return vr
    choices = vr.split(" or ")
    if isinstance(elem.value, bytes | bytearray):
        return "OW" if "OW" in choices else "OB"
    return choices[0]


def _value(value: Any, vr: str) -> Any:
    """One value as PS3.18 Table F.2.3-1 maps its VR."""
    if value is None or value == "":
        return None
    if vr == "PN":
        return _person_name(value)
    if vr == "AT":
        return f"{int(value):08X}"
    if vr in ("IS", "DS"):
        return _decimal_text(value, vr)
    if vr in ("FL", "FD"):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        return number if math.isfinite(number) else ("Infinity" if number > 0 else "-Infinity")
    if vr in _INT_VRS:
        number = int(value)
        return number if abs(number) <= _EXACT_JSON_INT else str(number)
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")  # a text VR pydicom left undecoded: shown as written
    return str(value)


def _person_name(value: Any) -> dict[str, str] | None:
    """F.2.2: an object of the component groups that hold a component; a name with none is null."""
    name = value if isinstance(value, PersonName) else PersonName(str(value))
    groups = {"Alphabetic": name.alphabetic, "Ideographic": name.ideographic, "Phonetic": name.phonetic}
    kept = {key: text for key, text in groups.items() if text.strip("^ ")}  # "^" alone: no component
    return kept or None


def _decimal_text(value: Any, vr: str) -> int | float | str:
    """F.2.3.1: a JSON Number when the text is one of its VR (an integer for IS), else the text as written."""
    text = str(getattr(value, "original_string", None) or value).strip()
    try:
        number: int | float = int(text) if vr == "IS" else float(text)
    except ValueError:
        return text
    if isinstance(number, float) and not math.isfinite(number):
        return text  # JSON has no NaN or Infinity
    if isinstance(number, int) and abs(number) > _EXACT_JSON_INT:
        return text
    return number
