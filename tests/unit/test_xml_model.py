"""The Native DICOM Model (PS3.19 A.1) of a STOW-RS response and of a whole header: it parses, and says what the
JSON Model says."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - parsing what the tests wrote
from typing import Any

import pydicom

from dicom_api.dicom.json_model import json_model
from dicom_api.dicom.xml_model import NAMESPACE, xml_model
from tests.corpus import CORPUS

NS = {"d": NAMESPACE}

STOW_RESPONSE = {
    "00081190": {"vr": "UR", "Value": ["https://h/dicomweb/studies/1.2.3"]},
    "00081198": {
        "vr": "SQ",
        "Value": [
            {
                "00081150": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.2"]},
                "00081155": {"vr": "UI", "Value": ["1.2.3.4.6"]},
                "00081197": {"vr": "US", "Value": [49152]},
            }
        ],
    },
    "00081199": {
        "vr": "SQ",
        "Value": [
            {
                "00081150": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.2"]},
                "00081155": {"vr": "UI", "Value": ["1.2.3.4.5"]},
                "00081190": {"vr": "UR", "Value": ["https://h/dicomweb/studies/1.2.3/series/1/instances/1.2.3.4.5"]},
            },
            {},
        ],
    },
}


def _parse(model: dict[str, Any]) -> ET.Element:
    document = xml_model(model)
    assert document.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(document)  # noqa: S314 - our own output


def test_stow_response_structure() -> None:
    root = _parse(STOW_RESPONSE)
    assert root.tag == f"{{{NAMESPACE}}}NativeDicomModel"
    tags = [a.get("tag") for a in root.findall("d:DicomAttribute", NS)]
    assert tags == ["00081190", "00081198", "00081199"]
    url = root.find("d:DicomAttribute[@tag='00081190']", NS)
    assert url is not None
    assert url.get("vr") == "UR"
    assert url.get("keyword") == "RetrieveURL"
    assert [(v.get("number"), v.text) for v in url.findall("d:Value", NS)] == [
        ("1", "https://h/dicomweb/studies/1.2.3")
    ]
    stored = root.find("d:DicomAttribute[@tag='00081199']", NS)
    assert stored is not None
    items = stored.findall("d:Item", NS)
    assert [i.get("number") for i in items] == ["1", "2"]
    assert len(items[1]) == 0  # an empty item
    uid = items[0].find("d:DicomAttribute[@tag='00081155']/d:Value", NS)
    assert uid is not None
    assert uid.text == "1.2.3.4.5"
    reason = root.find("d:DicomAttribute[@tag='00081198']/d:Item/d:DicomAttribute[@tag='00081197']", NS)
    assert reason is not None
    assert reason.get("keyword") == "FailureReason"
    assert reason.findtext("d:Value", namespaces=NS) == "49152"


def test_person_names_binary_nulls_and_bad_characters() -> None:
    model = {
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^John^^Dr", "Ideographic": "山田^太郎"}, None]},
        "00080008": {"vr": "CS", "Value": ["ORIGINAL", None, "AXIAL"]},
        "00091001": {"vr": "OB", "InlineBinary": "AQI="},
        "7FE00010": {"vr": "OW", "BulkDataURI": "https://h/bulk/1"},
        "00081030": {"vr": "LO", "Value": ["a\x00b"]},
        "00091010": {"vr": "LO"},
    }
    root = _parse(model)
    name = root.find("d:DicomAttribute[@tag='00100010']/d:PersonName", NS)
    assert name is not None
    assert name.get("number") == "1"
    alphabetic = name.find("d:Alphabetic", NS)
    assert alphabetic is not None
    assert [(c.tag.split("}")[1], c.text) for c in alphabetic] == [
        ("FamilyName", "Doe"),
        ("GivenName", "John"),
        ("NamePrefix", "Dr"),
    ]
    assert name.findtext("d:Ideographic/d:GivenName", namespaces=NS) == "太郎"
    values = root.findall("d:DicomAttribute[@tag='00080008']/d:Value", NS)
    assert [(v.get("number"), v.text) for v in values] == [("1", "ORIGINAL"), ("3", "AXIAL")]
    assert root.findtext("d:DicomAttribute[@tag='00091001']/d:InlineBinary", namespaces=NS) == "AQI="
    bulk = root.find("d:DicomAttribute[@tag='7FE00010']/d:BulkData", NS)
    assert bulk is not None
    assert bulk.get("uri") == "https://h/bulk/1"
    assert root.findtext("d:DicomAttribute[@tag='00081030']/d:Value", namespaces=NS) == "a\ufffdb"
    private = root.find("d:DicomAttribute[@tag='00091010']", NS)
    assert private is not None
    assert private.get("keyword") is None
    assert len(private) == 0


def test_a_whole_header_parses() -> None:
    ds = pydicom.dcmread(CORPUS["pydicom/test-SR.dcm"])
    model = json_model(ds)
    root = _parse(model)
    assert len(root.findall("d:DicomAttribute", NS)) == len(model)
    assert len(root.findall(".//d:Item", NS)) > 10
