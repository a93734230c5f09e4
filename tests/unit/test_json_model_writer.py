"""The DICOMweb side of the JSON Model writer (PS3.18 F.2): bulk data by URI, tag paths into items, numbers
that are no numbers, the character set, the file meta, and pydicom's to_json_dict as the reference."""

from __future__ import annotations

import base64
import io
import json
import warnings
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence

from dicom_api.dicom.json_model import JSON_INLINE_LIMIT, TagPath, insert_element, json_model
from tests.corpus import CORPUS
from tests.odd_files import corpus_header, encode, set_raw


def _uri(path: TagPath) -> str:
    return "bulk/" + "/".join(f"{p:08X}" if p > 0xFFFF else str(p) for p in path)


def _strict(model: dict[str, Any]) -> Any:
    return json.loads(json.dumps(model, allow_nan=False))


def test_binary_values_by_size_and_pixel_data_always_by_uri() -> None:
    ds = Dataset()
    ds.add_new(0x00091010, "LO", "CREATOR")
    ds.add_new(0x00091001, "OB", b"\x01\x02")
    ds.add_new(0x00091002, "OB", bytes(JSON_INLINE_LIMIT))
    ds.add_new(0x00091003, "OW", b"")
    ds.add_new(0x7FE00010, "OW", b"\0\0")
    model = json_model(ds, bulk_uri=_uri)
    assert model["00091001"] == {"vr": "OB", "InlineBinary": "AQI="}
    assert model["00091002"] == {"vr": "OB", "BulkDataURI": "bulk/00091002"}
    assert model["00091003"] == {"vr": "OW"}  # empty: neither
    assert model["7FE00010"] == {"vr": "OW", "BulkDataURI": "bulk/7FE00010"}
    assert model["00091010"] == {"vr": "LO", "Value": ["CREATOR"]}  # the private creator travels along
    without = json_model(ds)
    assert without["00091002"] == {"vr": "OB"}
    assert without["7FE00010"] == {"vr": "OW"}


def test_a_callback_answering_none_leaves_the_value_out() -> None:
    ds = Dataset()
    ds.add_new(0x00091002, "OB", bytes(4 * JSON_INLINE_LIMIT))
    assert json_model(ds, bulk_uri=lambda _path: None)["00091002"] == {"vr": "OB"}


def test_bulk_data_inside_items_has_the_path_through_them() -> None:
    inner = Dataset()
    inner.add_new(0x00660023, "OW", bytes(2 * JSON_INLINE_LIMIT))  # Triangle Point Index List
    ds = Dataset()
    ds.add_new(0x00660002, "SQ", Sequence([Dataset(), inner]))
    seen: list[TagPath] = []

    def record(path: TagPath) -> str:
        seen.append(path)
        return "x"

    model = json_model(ds, bulk_uri=record)
    assert seen == [(0x00660002, 1, 0x00660023)]
    assert model["00660002"]["Value"] == [{}, {"00660023": {"vr": "OW", "BulkDataURI": "x"}}]


@pytest.mark.parametrize(
    ("vr", "raw", "expected"),
    [
        ("IS", b"7 ", [7]),
        ("IS", b"1.5", ["1.5"]),
        ("IS", b"abc ", ["abc"]),
        ("IS", b"99999999999", [99999999999]),
        ("DS", b"70.50", [70.5]),
        ("DS", b"nan ", ["nan"]),
        ("DS", b"1e999 ", ["1e999"]),
        ("DS", b"1\\\\x", [1.0, None, "x"]),
        ("SV", (2**60).to_bytes(8, "little", signed=True), [str(2**60)]),
        ("UV", (2**53).to_bytes(8, "little"), [2**53]),
        ("AT", b"\x18\x00\x63\x10", ["00181063"]),
        ("PN", b"^", None),
        ("PN", b"Doe^J=\\", [{"Alphabetic": "Doe^J"}, None]),
        ("CS", b"", None),
    ],
)
def test_values_read_from_a_file(vr: str, raw: bytes, expected: list[Any] | None) -> None:
    data = encode(set_raw(corpus_header(), 0x00191001, vr, raw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
        entry = _strict(json_model(ds))["00191001"]
    assert entry["vr"] == vr
    assert entry.get("Value") == expected


def test_pn_components_and_empty_names() -> None:
    ds = Dataset()
    ds.add_new(0x00100010, "PN", ["=山田^太郎", "", "Doe"])
    assert json_model(ds)["00100010"]["Value"] == [{"Ideographic": "山田^太郎"}, None, {"Alphabetic": "Doe"}]


def test_group_lengths_are_left_out_and_keys_ascend() -> None:
    ds = Dataset()
    ds.add_new(0x00200000, "UL", 12)
    ds.add_new(0x00200013, "IS", "2")
    ds.add_new(0x00080060, "CS", "CT")
    ds.add_new(0x00100000, "UL", 0)
    assert list(json_model(ds)) == ["00080060", "00200013"]


def test_character_set_is_given_as_utf8_unless_kept() -> None:
    ds = Dataset()
    ds.add_new(0x00080005, "CS", ["", "ISO 2022 IR 87"])
    ds.add_new(0x00100010, "PN", "Yamada^Tarou=山田^太郎")
    assert json_model(ds)["00080005"] == {"vr": "CS", "Value": ["ISO_IR 192"]}
    assert json_model(ds, keep_charset=True)["00080005"] == {"vr": "CS", "Value": [None, "ISO 2022 IR 87"]}


def test_file_meta_is_merged_when_asked() -> None:
    ds = Dataset()
    ds.SOPInstanceUID = "1.2.3"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    ds.file_meta.add_new(0x00020000, "UL", 40)
    assert list(json_model(ds)) == ["00080018"]
    assert list(json_model(ds, file_meta=True)) == ["00020010", "00080018"]


def test_insert_element_keeps_the_order() -> None:
    model = {"00080018": {"vr": "UI"}, "FFFAFFFA": {"vr": "SQ"}}
    out = insert_element(model, 0x7FE00010, {"vr": "OB", "BulkDataURI": "u"})
    assert list(out) == ["00080018", "7FE00010", "FFFAFFFA"]


def test_an_undecodable_element_goes_out_as_un_by_uri() -> None:
    ds = set_raw(corpus_header(), 0x00091010, "QI", bytes(3000))
    model = json_model(ds, bulk_uri=_uri)
    assert model["00091010"] == {"vr": "UN", "BulkDataURI": "bulk/00091010"}
    small = json_model(set_raw(corpus_header(), 0x00091010, "QI", b"abcd"))
    assert small["00091010"] == {"vr": "UN", "InlineBinary": base64.b64encode(b"abcd").decode()}


def test_a_failing_callback_does_not_fail_the_document() -> None:
    ds = Dataset()
    ds.add_new(0x00091002, "OB", bytes(4 * JSON_INLINE_LIMIT))
    ds.PatientID = "X"

    def broken(_path: TagPath) -> str:
        raise RuntimeError("store down")

    model = json_model(ds, bulk_uri=broken)
    assert model["00091002"] == {"vr": "UN"}
    assert model["00100020"] == {"vr": "LO", "Value": ["X"]}


def _pydicom(ds: Dataset) -> dict[str, Any]:
    """pydicom's model with the same bulk rule, F.2.5's null for an empty value among several, and keys sorted."""
    model = ds.to_json_dict(JSON_INLINE_LIMIT * 3 // 4, lambda elem: f"bulk/{int(elem.tag):08X}")
    for entry in model.values():
        if entry["vr"] == "SQ":
            entry["Value"] = [_pydicom(Dataset.from_json(item)) for item in entry.get("Value", [])]
        elif isinstance(entry.get("Value"), list) and len(entry["Value"]) > 1:
            entry["Value"] = [None if v == "" else v for v in entry["Value"]]
    return dict(sorted(model.items()))


@pytest.mark.parametrize(
    "name", ["pydicom/CT_small.dcm", "pydicom/MR_small.dcm", "pydicom/rtplan.dcm", "pydicom/test-SR.dcm"]
)
def test_agrees_with_pydicom_with_pixel_data_by_uri(name: str) -> None:
    ds = pydicom.dcmread(CORPUS[name])
    ds.pop(0x00080005, None)  # the one place the writer speaks UTF-8 where pydicom repeats the file
    mine = json_model(ds, bulk_uri=lambda path: f"bulk/{path[-1]:08X}")
    assert mine == _pydicom(ds)
    assert list(mine) == sorted(mine)


def test_every_corpus_file_with_its_pixel_data_gives_strict_json() -> None:
    """Whole files, bulk data by URI: every binary value above the inline limit, and Pixel Data, has a URI."""
    written = 0
    for path in CORPUS.values():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(path)
        except Exception:  # noqa: S112 - not DICOM at all (the corpus holds a few such files)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = _strict(json_model(ds, bulk_uri=_uri, file_meta=True))
        assert list(model) == sorted(model)
        if "7FE00010" in model:
            assert model["7FE00010"]["BulkDataURI"] == "bulk/7FE00010"
        written += 1
    assert written > 200
