"""Files the upload accepts although some value is not what its VR allows, and sequences nested deep: each built
from a corpus file with pydicom (raw values, a VR that does not exist) or, for deep nesting, byte by byte."""

from __future__ import annotations

import functools
import io
import struct

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from tests.helpers import sample

CONTENT_SEQUENCE = 0x0040A730
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF

# name: (tag, VR, raw value) set on CT_small.dcm (explicit VR little endian)
ODD_VALUES: dict[str, tuple[int, str, bytes]] = {
    "window_center_nan": (0x00281050, "DS", b"nan "),
    "window_center_overflow": (0x00281050, "DS", b"1e999 "),
    "slice_thickness_not_a_number": (0x00180050, "DS", b"5.0x0000"),
    "number_of_frames_abc": (0x00280008, "IS", b"abc "),
    "unknown_vr_qi": (0x00091010, "QI", b"abcd"),
    "uid_widened_to_470_bytes": (0x00080018, "UI", b"1." * 235),
}


def corpus_header() -> Dataset:
    return pydicom.dcmread(sample("CT_small.dcm"))


def encode(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def set_raw(ds: Dataset, tag: int, vr: str, value: bytes) -> Dataset:
    """Put ``value`` in ``ds`` as it would be read from a file: pydicom writes it back byte for byte."""
    if Tag(tag).is_private:
        ds.add_new(Tag(tag >> 16, 0x0010), "LO", "ODD VALUES")  # its private creator
    ds._dict[Tag(tag)] = RawDataElement(Tag(tag), vr, len(value), value, 0, False, True)
    return ds


def odd_value_file(name: str) -> bytes:
    return encode(set_raw(corpus_header(), *ODD_VALUES[name]))


def nested_items(depth: int, *, defined_length: bool = True) -> bytes:
    """The value of a Content Sequence whose items nest ``depth`` sequences deep (the outer one included),
    explicit VR little endian; built as bytes, since pydicom's writer takes minutes at a few hundred levels."""
    leaf = struct.pack("<HH2sH", 0x0008, 0x0100, b"SH", 2) + b"1 "  # Code Value
    sequence = struct.pack("<HH", CONTENT_SEQUENCE >> 16, CONTENT_SEQUENCE & 0xFFFF) + b"SQ\0\0"
    if not defined_length:
        opening = (_tag_length(_ITEM, _UNDEFINED) + sequence + struct.pack("<I", _UNDEFINED)) * (depth - 1)
        closing = (_tag_length(_SEQUENCE_END, 0) + _tag_length(_ITEM_END, 0)) * (depth - 1)
        return opening + _tag_length(_ITEM, _UNDEFINED) + leaf + _tag_length(_ITEM_END, 0) + closing
    value = _tag_length(_ITEM, len(leaf)) + leaf
    for _ in range(depth - 1):
        inner = sequence + struct.pack("<I", len(value)) + value
        value = _tag_length(_ITEM, len(inner)) + inner
    return value


def nested_file(depth: int, *, defined_length: bool = True) -> bytes:
    """CT_small.dcm with a Content Sequence nested ``depth`` levels deep."""
    return encode(set_raw(corpus_header(), CONTENT_SEQUENCE, "SQ", nested_items(depth, defined_length=defined_length)))


@functools.cache
def odd_files() -> dict[str, bytes]:
    """Every odd file the upload accepts (or accepted before it bounded nesting: the deep ones)."""
    files = {name: odd_value_file(name) for name in ODD_VALUES}
    for depth in (500, 2000):
        files[f"nested_{depth}_defined_length"] = nested_file(depth)
        files[f"nested_{depth}_undefined_length"] = nested_file(depth, defined_length=False)
    return files


def _tag_length(tag: int, length: int) -> bytes:
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, length)


# A Patient's Name no real file carries: tests look for it in logs.
DISTINCTIVE_NAME = "Quibbleworth^Zyxwvut"


def warning_files(name: str = DISTINCTIVE_NAME) -> dict[str, bytes]:
    """Files whose values make pydicom warn, each warning quoting ``name`` (or the value holding it)."""
    text = name.encode()
    cases: dict[str, tuple[int, str, bytes]] = {
        "uid_holding_the_name": (0x00080018, "UI", (b"1.2." + text).ljust(470, b"9")),  # a UI widened over it
        "name_longer_than_pn_allows": (0x00100010, "PN", text * 8),
        "ds_holding_the_name": (0x00281050, "DS", text),
        "is_holding_the_name": (0x00200013, "IS", text),
        "unknown_vr_holding_the_name": (0x00091010, "QI", text),
    }
    files = {}
    for label, (tag, vr, value) in cases.items():
        ds = corpus_header()
        ds.PatientName = name
        files[label] = encode(set_raw(ds, tag, vr, value))
    charset = corpus_header()
    charset.SpecificCharacterSet = "ISO_IR 999"  # no such character set
    set_raw(charset, 0x00100010, "PN", text + b"\xe9\xff")
    files["unknown_character_set"] = encode(charset)
    return files


def refused_warning_file(name: str = DISTINCTIVE_NAME) -> bytes:
    """Refused at upload (sequences nested too deep), after pydicom has warned about a value holding ``name``."""
    ds = set_raw(corpus_header(), 0x00080018, "UI", (b"1.2." + name.encode()).ljust(470, b"9"))
    return encode(set_raw(ds, CONTENT_SEQUENCE, "SQ", nested_items(500)))
