"""The Native DICOM Model (PS3.19 A.1) written from a DICOM JSON Model object (PS3.18 F.2), for answers sent as
application/dicom+xml (the STOW-RS response, PS3.18 10.5.3).

The mapping is one to one: an element becomes a DicomAttribute (tag, vr, keyword; privateCreator is left out),
each entry of "Value" a numbered Value, PersonName or Item, "InlineBinary" an InlineBinary, "BulkDataURI" a
BulkData uri. A null entry keeps its number and has no element (PS3.19 A.1.1: Value numbers run from 1).
Characters XML 1.0 cannot carry (control characters, lone surrogates) are replaced by U+FFFD.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: S405 - writing only; nothing is parsed here
from typing import Any

from pydicom.datadict import keyword_for_tag

NAMESPACE = "http://dicom.nema.org/PS3.19/models/NativeDICOM"
_PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")
_PN_COMPONENTS = ("FamilyName", "GivenName", "MiddleName", "NamePrefix", "NameSuffix")  # PS3.5 6.2.1.1
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_model(model: dict[str, Any]) -> bytes:
    """``model`` (one JSON Model object) as a NativeDicomModel document (PS3.19 A.1), UTF-8 with its declaration."""
    root = ET.Element("NativeDicomModel", {"xmlns": NAMESPACE, "xml:space": "preserve"})
    _attributes(root, model)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _attributes(parent: ET.Element, model: dict[str, Any]) -> None:
    for key in sorted(model):
        entry = model[key]
        vr = str(entry.get("vr", "UN"))
        attributes = {"tag": key, "vr": vr}
        keyword = _keyword(key)
        if keyword:
            attributes["keyword"] = keyword
        element = ET.SubElement(parent, "DicomAttribute", attributes)
        if "InlineBinary" in entry:
            ET.SubElement(element, "InlineBinary").text = _text(entry["InlineBinary"])
        elif "BulkDataURI" in entry:
            ET.SubElement(element, "BulkData", {"uri": _text(entry["BulkDataURI"])})
        for number, value in enumerate(entry.get("Value") or [], start=1):
            if value is not None:
                _value(element, vr, number, value)


def _value(element: ET.Element, vr: str, number: int, value: Any) -> None:
    if vr == "SQ":
        _attributes(ET.SubElement(element, "Item", {"number": str(number)}), value)
    elif vr == "PN":
        name = ET.SubElement(element, "PersonName", {"number": str(number)})
        for group in _PN_GROUPS:
            if value.get(group):
                _person_name_group(ET.SubElement(name, group), str(value[group]))
    else:
        ET.SubElement(element, "Value", {"number": str(number)}).text = _text(value)


def _person_name_group(group: ET.Element, text: str) -> None:
    """PS3.19 A.1.1: the components of one group (PS3.5 6.2.1.1: family^given^middle^prefix^suffix)."""
    for tag, component in zip(_PN_COMPONENTS, text.split("^"), strict=False):
        if component:
            ET.SubElement(group, tag).text = _text(component)


def _keyword(key: str) -> str:
    try:
        return str(keyword_for_tag(int(key, 16)) or "")
    except ValueError:
        return ""


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return _NOT_XML.sub("\ufffd", text)
