"""Tags as the client writes them, and elements as JSON: one shape for every VR (PS3.5 6.2)."""

from __future__ import annotations

import base64
import io

import pydicom
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from dicom_api.dicom.attributes import (
    BULK_LIMIT,
    bulk_element_json,
    dataset_json,
    element_json,
    find_element,
    parse_tag_part,
)
from dicom_api.errors import AttributeNotFound, InvalidParameter

SHAPE = {"tag", "VR", "name", "keyword", "value"}

# ---- parse_tag_part ----


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0010", 0x0010),
        ("7FE0", 0x7FE0),
        ("7fe0", 0x7FE0),
        ("7Fe0", 0x7FE0),
        ("0x0010", 0x0010),
        ("0X0010", 0x0010),
        ("0xffff", 0xFFFF),
        ("0XaBcD", 0xABCD),
        ("0000", 0),
    ],
)
def test_valid_tag_parts(text: str, value: int) -> None:
    assert parse_tag_part(text, "tag_group") == value


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "010",
        "00100",
        "0x010",
        "0x00100",
        "zz10",
        "001g",
        "0x",
        "0X",
        "x0010",
        "0x0x10",
        " 0010",
        "0010 ",
        "00 10",
        "0010\n",
        "\t0010",
        "+010",
        "-010",
        "1e3",
        "\uff10\uff10\uff11\uff10",  # full-width digits: digits to Python, not hexadecimal to DICOM
        "٠٠١٠",  # Arabic-Indic digits
    ],
)
def test_invalid_tag_parts(text: str | None) -> None:
    with pytest.raises(InvalidParameter, match="tag_element"):
        parse_tag_part(text, "tag_element")


_HEX_CASES = st.sampled_from([str.upper, str.lower, lambda s: s[:2].lower() + s[2:].upper()])


@given(value=st.integers(0, 0xFFFF), prefix=st.sampled_from(["", "0x", "0X"]), case=_HEX_CASES)
def test_any_16_bit_value_round_trips(value: int, prefix: str, case) -> None:
    assert parse_tag_part(prefix + case(f"{value:04x}"), "tag_group") == value


@given(value=st.integers(0, 0xFFFF), digits=st.integers(1, 8).filter(lambda n: n != 4))
def test_only_four_digits_are_accepted(value: int, digits: int) -> None:
    text = f"{value:0{digits}x}"
    if len(text) == 4:
        return  # a wider value already needs four digits or more
    with pytest.raises(InvalidParameter):
        parse_tag_part(text, "tag_group")


# ---- element_json, by VR family ----


def _json(vr: str, value: object, tag: int = 0x00091001) -> dict:
    return element_json(DataElement(tag, vr, value))


@pytest.mark.parametrize(
    ("tag", "vr", "value", "expected"),
    [
        (0x00200013, "IS", "12", 12),
        (0x00200013, "IS", "-3", -3),
        (0x00180050, "DS", "1.25", 1.25),
        (0x00180050, "DS", "-0.5e2", -50.0),
        (0x00280010, "US", 512, 512),
        (0x00280106, "SS", -5, -5),
        (0x00081160, "UL", 0xFFFFFFFF, 0xFFFFFFFF),
        (0x00189219, "SL", -(2**31), -(2**31)),
        (0x00189180, "FL", 1.5, 1.5),
        (0x00181063, "FD", 33.333, 33.333),
        (0x00660040, "UV", 2**64 - 1, 2**64 - 1),
        (0x00660041, "SV", -(2**63), -(2**63)),
    ],
)
def test_numbers_are_json_numbers(tag: int, vr: str, value: object, expected: object) -> None:
    out = _json(vr, value, tag)
    assert set(out) == SHAPE
    assert out["VR"] == vr
    assert out["value"] == expected
    assert type(out["value"]) is type(expected)


@pytest.mark.parametrize(
    ("tag", "vr", "value", "expected"),
    [
        (0x00280030, "DS", ["0.5", "0.25"], [0.5, 0.25]),
        (0x00200032, "DS", [1, 2, 3], [1.0, 2.0, 3.0]),
        (0x00181310, "US", [0, 256, 256, 0], [0, 256, 256, 0]),
        (0x00189219, "SL", [-1, 2], [-1, 2]),
        (0x00189180, "FL", [0.5, -2.0], [0.5, -2.0]),
        (0x00201041, "IS", ["1", "2"], [1, 2]),
        (0x00080008, "CS", ["ORIGINAL", "PRIMARY"], ["ORIGINAL", "PRIMARY"]),
    ],
)
def test_multiple_values_are_lists(tag: int, vr: str, value: object, expected: list) -> None:
    assert _json(vr, value, tag)["value"] == expected


def test_non_finite_floats_are_shown_as_written() -> None:
    assert _json("FD", float("nan"), 0x00181063)["value"] == "nan"  # JSON has no NaN
    assert _json("FD", float("inf"), 0x00181063)["value"] == "inf"


@pytest.mark.parametrize(
    ("tag", "vr", "value"),
    [
        (0x00100010, "PN", "Doe^John^^Dr"),
        (0x00100010, "PN", "Yamada^Tarou=山田^太郎"),
        (0x00080020, "DA", "20200131"),
        (0x00080030, "TM", "235959.123"),
        (0x0008002A, "DT", "20200131235959.123+0100"),
        (0x00080018, "UI", "1.2.840.10008.1.2.1"),
        (0x00100020, "LO", "ID 42"),
        (0x00081030, "LO", "Chest / Abdomen"),
        (0x00204000, "LT", "line one\r\nline two"),
        (0x00080100, "SH", "T-04000"),
    ],
)
def test_strings_are_their_dicom_string(tag: int, vr: str, value: str) -> None:
    assert _json(vr, value, tag)["value"] == value


def test_attribute_tags_are_tags() -> None:
    assert _json("AT", 0x00181063, 0x00209165)["value"] == "(0018,1063)"
    assert _json("AT", [0x00181063, 0x00181065], 0x00280009)["value"] == ["(0018,1063)", "(0018,1065)"]


@pytest.mark.parametrize("vr", ["OB", "OW", "OF", "OD", "OL", "OV", "UN"])
def test_small_binary_is_base64(vr: str) -> None:
    data = bytes(range(256)) * 4
    out = _json(vr, data)
    assert set(out) == SHAPE | {"length"}
    assert base64.b64decode(out["value"]) == data
    assert out["length"] == len(data)


def test_binary_up_to_64_kib_is_inline_and_above_is_null_with_its_length() -> None:
    at_limit = _json("OB", b"\x01" * BULK_LIMIT)
    assert BULK_LIMIT == 64 * 1024
    assert base64.b64decode(at_limit["value"]) == b"\x01" * BULK_LIMIT
    above = _json("OB", b"\x01" * (BULK_LIMIT + 2))
    assert above["value"] is None
    assert above["length"] == BULK_LIMIT + 2


@pytest.mark.parametrize(
    ("tag", "vr", "value"),
    [
        (0x00100010, "PN", ""),
        (0x00080020, "DA", ""),
        (0x00100020, "LO", ""),
        (0x00280010, "US", None),
        (0x00180050, "DS", ""),
        (0x00200032, "DS", []),
        (0x00200013, "IS", None),
        (0x00209165, "AT", None),
        (0x00091001, "OB", b""),
        (0x00091001, "UN", None),
    ],
)
def test_empty_values_are_null(tag: int, vr: str, value: object) -> None:
    assert _json(vr, value, tag)["value"] is None


def _sequence() -> DataElement:
    inner = Dataset()
    inner.CodeValue, inner.CodingSchemeDesignator = "T-D3000", "SRT"
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    item.ReferencedFrameNumber = ["1", "3"]
    item.AnatomicRegionSequence = Sequence([inner])
    second = Dataset()
    second.ReferencedSOPInstanceUID = "1.2.3.4"
    return DataElement(0x00081140, "SQ", Sequence([item, second]))


def test_sequence_is_a_list_of_items_keyed_by_tag_in_the_same_shape() -> None:
    out = element_json(_sequence())
    assert out == {
        "tag": "(0008,1140)",
        "VR": "SQ",
        "name": "Referenced Image Sequence",
        "keyword": "ReferencedImageSequence",
        "value": [
            {
                "00081150": {
                    "tag": "(0008,1150)",
                    "VR": "UI",
                    "name": "Referenced SOP Class UID",
                    "keyword": "ReferencedSOPClassUID",
                    "value": "1.2.840.10008.5.1.4.1.1.2",
                },
                "00081160": {
                    "tag": "(0008,1160)",
                    "VR": "IS",
                    "name": "Referenced Frame Number",
                    "keyword": "ReferencedFrameNumber",
                    "value": [1, 3],
                },
                "00082218": {
                    "tag": "(0008,2218)",
                    "VR": "SQ",
                    "name": "Anatomic Region Sequence",
                    "keyword": "AnatomicRegionSequence",
                    "value": [
                        {
                            "00080100": {
                                "tag": "(0008,0100)",
                                "VR": "SH",
                                "name": "Code Value",
                                "keyword": "CodeValue",
                                "value": "T-D3000",
                            },
                            "00080102": {
                                "tag": "(0008,0102)",
                                "VR": "SH",
                                "name": "Coding Scheme Designator",
                                "keyword": "CodingSchemeDesignator",
                                "value": "SRT",
                            },
                        }
                    ],
                },
            },
            {
                "00081155": {
                    "tag": "(0008,1155)",
                    "VR": "UI",
                    "name": "Referenced SOP Instance UID",
                    "keyword": "ReferencedSOPInstanceUID",
                    "value": "1.2.3.4",
                }
            },
        ],
    }


def test_empty_sequence_is_an_empty_list() -> None:
    assert element_json(DataElement(0x00081140, "SQ", Sequence()))["value"] == []


def test_dataset_json_keys_are_eight_upper_case_hex_digits() -> None:
    ds = Dataset()
    ds.PatientID = "ANON"
    ds.add_new(0x7FE00010, "OW", b"\x00\x01")
    ds.add_new(0x0019100A, "US", 3)
    assert sorted(dataset_json(ds)) == ["00100020", "0019100A", "7FE00010"]


def test_bulk_element_is_described_without_its_value() -> None:
    assert bulk_element_json(0x7FE00010, "OB", 123_456) == {
        "tag": "(7FE0,0010)",
        "VR": "OB",
        "name": "Pixel Data",
        "keyword": "PixelData",
        "value": None,
        "length": 123_456,
    }


# ---- private tags and lookups in files ----


def _private_file(implicit: bool, block: int) -> Dataset:
    """A file with a Siemens CSA block (creator at (0029,00xx)) and one of an unknown creator, read back."""
    ds = Dataset()
    ds.PatientID = "ANON"
    ds.add_new(0x00290000 | block, "LO", "SIEMENS CSA HEADER")
    ds.add_new(0x00290008 | block << 8, "CS", "IMAGE NUM 4")
    ds.add_new(0x00290010 | block << 8, "OB", b"SV10\x04\x03\x02\x01")
    ds.add_new(0x00090010, "LO", "NOBODY KNOWS")
    ds.add_new(0x00091001, "LO", "opaque")
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    buffer.seek(0)
    return pydicom.dcmread(buffer, stop_before_pixels=True, force=True)


@pytest.mark.parametrize("implicit", [True, False], ids=["implicit", "explicit"])
@pytest.mark.parametrize("block", [0x10, 0x11])
def test_private_tags_get_their_private_dictionary_name(implicit: bool, block: int) -> None:
    ds = _private_file(implicit, block)
    info = element_json(find_element(ds, 0x00290010 | block << 8))
    assert (info["tag"], info["VR"], info["name"], info["keyword"]) == (
        f"(0029,{block:02X}10)",
        "OB",
        "CSA Image Header Info",
        None,
    )
    assert base64.b64decode(info["value"]) == b"SV10\x04\x03\x02\x01"
    kind = element_json(find_element(ds, 0x00290008 | block << 8))
    assert (kind["VR"], kind["name"], kind["value"]) == ("CS", "CSA Image Header Type", "IMAGE NUM 4")
    creator = element_json(find_element(ds, 0x00290000 | block))
    assert (creator["VR"], creator["name"], creator["value"]) == ("LO", "Private Creator", "SIEMENS CSA HEADER")


def test_private_tag_of_an_unknown_creator_keeps_a_generic_name() -> None:
    ds = _private_file(implicit=False, block=0x10)
    info = element_json(find_element(ds, 0x00091001))
    assert (info["VR"], info["name"], info["value"]) == ("LO", "Private tag data", "opaque")


def test_file_meta_group_comes_from_the_file_meta() -> None:
    ds = _private_file(implicit=True, block=0x10)
    assert 0x00020010 not in ds  # pydicom keeps group 0002 apart
    info = element_json(find_element(ds, 0x00020010))
    assert (info["VR"], info["name"], info["value"]) == ("UI", "Transfer Syntax UID", ImplicitVRLittleEndian)
    assert element_json(find_element(ds, 0x00100020))["value"] == "ANON"


def test_group_0002_of_a_data_set_without_file_meta() -> None:
    ds = Dataset()
    ds.add_new(0x00020010, "UI", ExplicitVRLittleEndian)
    assert element_json(find_element(ds, 0x00020010))["value"] == ExplicitVRLittleEndian


@pytest.mark.parametrize("tag", [0x00100030, 0x00020016, 0x00291099, 0x7FE00010, 0xFFFEE000])
def test_absent_tag_is_attribute_not_found(tag: int) -> None:
    ds = _private_file(implicit=False, block=0x10)
    with pytest.raises(AttributeNotFound, match=rf"\({tag >> 16:04X},{tag & 0xFFFF:04X}\)"):
        find_element(ds, tag)
