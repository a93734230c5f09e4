"""The DICOM JSON Model (PS3.18 F.2) of whole headers: pydicom's own to_json_dict as the reference where it
works, and a valid document, element by element, wherever a value is not what its VR allows."""

from __future__ import annotations

import base64
import io
import json
import math
import warnings
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dicom_api.dicom.attributes import dataset_json, dicom_json_model, element_json
from dicom_api.dicom.json_model import JSON_INLINE_LIMIT
from dicom_api.dicom.nesting import MAX_SEQUENCE_DEPTH
from tests.corpus import CORPUS
from tests.odd_files import CONTENT_SEQUENCE, ODD_VALUES, corpus_header, nested_file, odd_value_file


def _strict_json(model: dict[str, Any]) -> Any:
    """``model`` through a JSON text that a strict parser accepts (no NaN, no Infinity)."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(json.dumps(model, allow_nan=False), parse_constant=refuse)


def _pydicom_reference(ds: Dataset) -> dict[str, Any]:
    """pydicom's model with bulk data left out and, as PS3.18 F.2.5 says, an empty value among several as null."""
    model = ds.to_json_dict(JSON_INLINE_LIMIT, lambda _elem: "")
    for entry in model.values():
        entry.pop("BulkDataURI", None)
        if entry["vr"] == "SQ":
            entry["Value"] = [_pydicom_reference_item(item) for item in entry.get("Value", [])]
        elif isinstance(entry.get("Value"), list) and len(entry["Value"]) > 1:
            entry["Value"] = [None if v == "" else v for v in entry["Value"]]
    return model


def _pydicom_reference_item(item: dict[str, Any]) -> dict[str, Any]:
    ds = Dataset.from_json(item)
    return _pydicom_reference(ds)


@pytest.mark.parametrize("name", ["pydicom/CT_small.dcm", "pydicom/MR_small.dcm", "pydicom/test-SR.dcm",
                                  "pydicom/rtplan.dcm", "pydicom/reportsi.dcm", "pydicom-data/SC_rgb.dcm"])  # fmt: skip
def test_well_formed_headers_match_pydicom(name: str) -> None:
    ds = pydicom.dcmread(CORPUS[name], stop_before_pixels=True)
    mine = dicom_json_model(ds)
    assert mine == _pydicom_reference(ds)
    assert list(mine) == sorted(mine)
    _strict_json(mine)


def test_every_corpus_header_gives_strict_json() -> None:
    """pydicom's to_json_dict fails on some of these; the model never does."""
    read = 0
    for path in CORPUS.values():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception:  # noqa: S112 - not DICOM at all (the corpus holds a few such files)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = dicom_json_model(ds)
        _strict_json(model)
        read += 1
    assert read > 200


def _odd(name: str) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(io.BytesIO(odd_value_file(name)), stop_before_pixels=True)
        return _strict_json(dicom_json_model(ds))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("window_center_nan", {"vr": "DS", "Value": ["nan"]}),
        ("window_center_overflow", {"vr": "DS", "Value": ["1e999"]}),
        ("slice_thickness_not_a_number", {"vr": "DS", "Value": ["5.0x0000"]}),
        ("number_of_frames_abc", {"vr": "IS", "Value": ["abc"]}),
        ("unknown_vr_qi", {"vr": "UN", "InlineBinary": base64.b64encode(b"abcd").decode()}),
        ("uid_widened_to_470_bytes", {"vr": "UI", "Value": ["1." * 235]}),
    ],
)
def test_a_value_its_vr_does_not_allow_still_gives_the_document(name: str, expected: dict[str, Any]) -> None:
    model = _odd(name)
    tag = ODD_VALUES[name][0]
    assert model[f"{tag:08X}"] == expected
    assert model["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "CompressedSamples^CT1"}]}  # the rest is there
    assert model["00280010"] == {"vr": "US", "Value": [128]}


def test_values_per_vr() -> None:
    ds = Dataset()
    ds.add_new(0x00100010, "PN", "Yamada^Tarou=山田^太郎=やまだ^たろう")
    ds.add_new(0x00080005, "CS", "ISO_IR 192")
    ds.add_new(0x00280009, "AT", [0x00181063, 0x00181065])
    ds.add_new(0x00080008, "CS", ["ORIGINAL", "", "AXIAL"])
    ds.add_new(0x00181041, "DS", ["0.5", "-1e3"])
    ds.add_new(0x00200013, "IS", "7")
    ds.add_new(0x00189087, "FD", [math.nan, math.inf, -math.inf, 2.5])
    ds.add_new(0x00101010, "AS", "")
    ds.add_new(0x00091001, "OB", b"\x01\x02")
    ds.add_new(0x00091002, "OB", bytes(JSON_INLINE_LIMIT))
    ds.add_new(0x00400275, "SQ", Sequence())
    model = _strict_json(dicom_json_model(ds))
    assert model["00100010"]["Value"] == [
        {"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"}
    ]
    assert model["00280009"]["Value"] == ["00181063", "00181065"]
    assert model["00080008"]["Value"] == ["ORIGINAL", None, "AXIAL"]  # F.2.5: an empty value among several
    assert model["00181041"]["Value"] == [0.5, -1000.0]
    assert model["00200013"]["Value"] == [7]
    assert model["00189087"]["Value"] == ["NaN", "Infinity", "-Infinity", 2.5]
    assert model["00101010"] == {"vr": "AS"}  # present, empty: no "Value"
    assert model["00091001"] == {"vr": "OB", "InlineBinary": "AQI="}
    assert model["00091002"] == {"vr": "OB"}  # too large to inline: left out
    assert model["00400275"] == {"vr": "SQ", "Value": []}


def _nested_dataset(depth: int) -> Dataset:
    """A data set whose Content Sequence nests ``depth`` levels, built in memory (no reader involved)."""
    inner = Dataset()
    inner.CodeValue = "1"
    for _ in range(depth):
        outer = Dataset()
        outer.ContentSequence = Sequence([inner])
        inner = outer
    return inner


def _levels(model: dict[str, Any], key: str) -> int:
    """How many levels of ``key`` sequences the model gives items for."""
    levels = 0
    entry = model.get(key)
    while entry is not None and entry.get("Value"):
        levels += 1
        entry = entry["Value"][0].get(key)
    return levels


def test_readers_stop_at_the_depth_bound() -> None:
    ds = _nested_dataset(MAX_SEQUENCE_DEPTH + 200)
    model = _strict_json(dicom_json_model(ds))
    assert _levels(model, f"{CONTENT_SEQUENCE:08X}") == MAX_SEQUENCE_DEPTH
    shallow = _strict_json(dicom_json_model(_nested_dataset(MAX_SEQUENCE_DEPTH)))
    assert _levels(shallow, f"{CONTENT_SEQUENCE:08X}") == MAX_SEQUENCE_DEPTH
    attribute = element_json(ds[CONTENT_SEQUENCE])
    json.dumps(attribute, allow_nan=False)
    depth, value = 0, attribute["value"]
    while value:
        depth += 1
        value = value[0][f"{CONTENT_SEQUENCE:08X}"]["value"]
    assert depth == MAX_SEQUENCE_DEPTH
    json.dumps(dataset_json(ds), allow_nan=False)


@pytest.mark.parametrize("defined_length", [True, False])
def test_a_file_nested_thousands_deep_gives_a_document(defined_length: bool, tmp_path: Path) -> None:
    """Stored before uploads were bounded. Defined-length items are read one level at a time, down to the bound;
    pydicom reads undefined-length items recursively, and fails: that element then goes out as UN, without its
    (large) bytes. The rest of the header is there either way."""
    path = tmp_path / "deep.dcm"
    path.write_bytes(nested_file(2000, defined_length=defined_length))
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    model = _strict_json(dicom_json_model(ds))
    key = f"{CONTENT_SEQUENCE:08X}"
    if defined_length:
        assert _levels(model, key) == MAX_SEQUENCE_DEPTH
    else:
        assert model[key] == {"vr": "UN"}
    assert model["00100020"] == {"vr": "LO", "Value": ["1CT1"]}


def test_sequences_of_the_corpus_header_are_kept() -> None:
    ds = corpus_header()
    item = Dataset()
    item.CodeValue = "0100"
    ds.ContentSequence = Sequence([item, Dataset()])
    model = _strict_json(dicom_json_model(ds))
    items = [{"00080100": {"vr": "SH", "Value": ["0100"]}}, {}]
    assert model[f"{CONTENT_SEQUENCE:08X}"] == {"vr": "SQ", "Value": items}
