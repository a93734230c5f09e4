"""Seeded mutants of the corpus's DICOM files: each one reproducible from its number alone.

Mutant ``n`` draws everything from ``random.Random(f"{SEED}:{n}")`` (seeding with a string is stable across runs
and platforms): the corpus file it starts from, then the details of its mutation, whose kind is the n-th of KINDS
in turn so that every kind is exercised evenly. To look at one: ``python -m tests.mutants 17 mutant17.dcm``.

Structural mutations address the file's top-level elements, found by a small walker written here: pydicom's
reader converts the file meta group and parses undefined-length sequences as it goes, so it cannot say where
each element's bytes lie.
"""

from __future__ import annotations

import random
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.corpus import CORPUS

SEED = 20261207
COUNT = 300
MAX_BASE_BYTES = 600 * 1024  # small enough that rendering each accepted mutant stays cheap

_NOT_DICOM = (".txt", ".json", ".dump", ".gz", ".icc", "README")
# The DICOMDIR tests' ~80 small images are much alike: their directories are kept, the images would crowd out
# the rest of the corpus.
_ALIKE = "pydicom/dicomdirtests/"
BASES = sorted(
    name
    for name, path in CORPUS.items()
    if not name.endswith(_NOT_DICOM)
    and 0 < path.stat().st_size <= MAX_BASE_BYTES
    and (not name.startswith(_ALIKE) or "DICOMDIR" in name)
)

_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
_IMPLICIT_LE, _EXPLICIT_BE, _DEFLATED = "1.2.840.10008.1.2", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"
_TRANSFER_SYNTAX, _META_GROUP_LENGTH = 0x00020010, 0x00020000


@dataclass(frozen=True)
class Element:
    """A top-level element as it lies in the file."""

    tag: int
    vr: str | None  # None when the encoding is implicit
    offset: int  # of its tag
    value_offset: int
    length: int  # the length field as stored (0xFFFFFFFF: undefined)
    end: int  # just past its value (or its sequence delimiter)
    implicit: bool
    little: bool

    @property
    def length_field(self) -> tuple[int, int]:
        """Offset and width of the length field."""
        short = not self.implicit and self.vr not in _LONG_VRS
        return (self.offset + 6, 2) if short else (self.value_offset - 4, 4)

    @property
    def name(self) -> str:
        return f"({self.tag >> 16:04X},{self.tag & 0xFFFF:04X}){' ' + self.vr if self.vr else ''}"


@dataclass(frozen=True)
class Mutant:
    number: int
    base: str
    kind: str
    detail: str
    data: bytes

    @property
    def seed(self) -> str:
        return f"{SEED}:{self.number}"

    def __str__(self) -> str:
        return (
            f"mutant {self.number} (seed {self.seed!r}): {self.kind} of {self.base}: {self.detail}; "
            f"{len(self.data)} bytes. Write it out with: python -m tests.mutants {self.number} mutant.dcm"
        )


# --- the element walker -------------------------------------------------------------------------------------------


def layout(data: bytes) -> list[Element]:
    """The file meta elements and the top-level data set elements, in file order (PS3.10 7.1, PS3.5 7.1)."""
    start = 132 if data[128:132] == b"DICM" else 0
    meta = _walk(data, start, implicit=False, little=True, only_group=2)
    begin = meta[-1].end if meta else start
    syntax = next((_text(data, e) for e in meta if e.tag == _TRANSFER_SYNTAX), None)
    if syntax == _DEFLATED:
        return meta
    if syntax is None:
        implicit = not data[begin + 4 : begin + 6].isalpha()
        little = True
    else:
        implicit, little = syntax == _IMPLICIT_LE, syntax != _EXPLICIT_BE
    return meta + _walk(data, begin, implicit=implicit, little=little)


def _walk(data: bytes, pos: int, *, implicit: bool, little: bool, only_group: int | None = None) -> list[Element]:
    found: list[Element] = []
    while (element := _element_at(data, pos, implicit, little)) is not None:
        if only_group is not None and element.tag >> 16 != only_group:
            break
        found.append(element)
        pos = element.end
    return found


def _element_at(data: bytes, pos: int, implicit: bool, little: bool) -> Element | None:
    """The element whose tag is at ``pos``, or None when it does not fit in ``data``."""
    order = "<" if little else ">"
    if pos + 8 > len(data):
        return None
    group, number = struct.unpack_from(order + "HH", data, pos)
    if implicit:
        vr, header, length = None, 8, struct.unpack_from(order + "I", data, pos + 4)[0]
    else:
        vr = data[pos + 4 : pos + 6].decode("latin-1")
        long = vr in _LONG_VRS
        header = 12 if long else 8
        if pos + header > len(data):
            return None
        length = struct.unpack_from(order + ("I" if long else "H"), data, pos + header - (4 if long else 2))[0]
    value = pos + header
    end = _skip_undefined(data, value, implicit, little) if length == _UNDEFINED else value + length
    if end > len(data):
        return None
    return Element(group << 16 | number, vr, pos, value, length, end, implicit, little)


def _skip_undefined(data: bytes, pos: int, implicit: bool, little: bool) -> int:
    """Just past the sequence delimiter that ends an undefined-length value (items of sequences or fragments)."""
    order = "<" if little else ">"
    while pos + 8 <= len(data):
        group, number, length = struct.unpack_from(order + "HHI", data, pos)
        tag = group << 16 | number
        if tag == _SEQUENCE_END:
            return pos + 8
        if tag != _ITEM:
            break
        pos = _skip_item(data, pos + 8, implicit, little) if length == _UNDEFINED else pos + 8 + length
    return len(data) + 1  # not well formed: no extent


def _skip_item(data: bytes, pos: int, implicit: bool, little: bool) -> int:
    """Just past the item delimiter that ends an undefined-length item."""
    order = "<" if little else ">"
    while pos + 8 <= len(data):
        group, number = struct.unpack_from(order + "HH", data, pos)
        if group << 16 | number == _ITEM_END:
            return pos + 8
        element = _element_at(data, pos, implicit, little)
        if element is None:
            break
        pos = element.end
    return len(data) + 1


def _text(data: bytes, element: Element) -> str:
    return data[element.value_offset : element.end].decode("latin-1").strip("\0 ")


def encode(tag: int, vr: str, value: bytes, *, implicit: bool, little: bool) -> bytes:
    """One element, header and value (padded to even length), in the given encoding (PS3.5 7.1)."""
    order = "<" if little else ">"
    if len(value) % 2:
        value += b"\0" if vr in {"OB", "UI", "UN"} else b" "
    head = struct.pack(order + "HH", tag >> 16, tag & 0xFFFF)
    if implicit:
        return head + struct.pack(order + "I", len(value)) + value
    if vr in _LONG_VRS:
        return head + vr.encode() + b"\0\0" + struct.pack(order + "I", len(value)) + value
    return head + vr.encode() + struct.pack(order + "H", len(value)) + value


# --- mutations ----------------------------------------------------------------------------------------------------
# Each takes the mutant's random generator, the base file's bytes and elements; returns the bytes and a detail.

Mutation = Callable[[random.Random, bytes, list[Element]], tuple[bytes, str]]


def _header_end(data: bytes, elements: list[Element]) -> int:
    pixel = next((e for e in elements if e.tag == 0x7FE00010), None)
    return pixel.value_offset if pixel else len(data)


def _pick_offset(rng: random.Random, data: bytes, elements: list[Element]) -> int:
    """Mostly in the header, where parsers make decisions; sometimes anywhere (compressed pixel data)."""
    limit = _header_end(data, elements) if rng.random() < 0.7 else len(data)
    return rng.randrange(max(1, limit))


def flip_bytes(rng: random.Random, data: bytes, elements: list[Element]) -> tuple[bytes, str]:
    out = bytearray(data)
    offsets = sorted({_pick_offset(rng, data, elements) for _ in range(rng.randint(1, 8))})
    for offset in offsets:
        out[offset] ^= rng.randrange(1, 256)
    return bytes(out), f"bytes XOR-ed at offsets {offsets}"


def _instead(rng: random.Random, data: bytes, elements: list[Element], missing: str) -> tuple[bytes, str]:
    """Bytes flipped, for a base file that lacks what the drawn mutation needs; the detail says so."""
    data, detail = flip_bytes(rng, data, elements)
    return data, f"{missing}, so {detail}"


def truncate(rng: random.Random, data: bytes, elements: list[Element]) -> tuple[bytes, str]:
    header_end = _header_end(data, elements)
    cut = rng.choice(
        [
            rng.randrange(1, max(2, header_end)),
            rng.randrange(min(header_end, len(data) - 1), len(data)),
            len(data) - 1,
            len(data) - rng.randint(2, 16),
            header_end,
        ]
    )
    cut = max(1, min(cut, len(data) - 1))
    return data[:cut], f"cut to {cut} of {len(data)} bytes"


def insert_bytes(rng: random.Random, data: bytes, elements: list[Element]) -> tuple[bytes, str]:
    at = _pick_offset(rng, data, elements)
    count = rng.choice([1, 2, 3, 4, 7, 8, 16, 10240])
    filler = rng.choice([bytes(rng.randrange(256) for _ in range(count)), b"\0" * count, b"\xff" * count])
    return data[:at] + filler + data[at:], f"{count} bytes ({filler[:4].hex()}...) inserted at offset {at}"


def delete_bytes(rng: random.Random, data: bytes, elements: list[Element]) -> tuple[bytes, str]:
    at = _pick_offset(rng, data, elements)
    count = rng.choice([1, 2, 3, 4, 8, 16, 64])
    return data[:at] + data[at + count :], f"{count} bytes deleted at offset {at}"


def length_field(rng: random.Random, data: bytes, elements: list[Element]) -> tuple[bytes, str]:
    if not elements:
        return _instead(rng, data, elements, "no element found")
    pixel = [e for e in elements if e.tag == 0x7FE00010]
    element = rng.choice(pixel) if pixel and rng.random() < 0.3 else rng.choice(elements)
    offset, width = element.length_field
    top = 0xFFFF if width == 2 else 0xFFFFFFFF
    odd = element.length + 1 if element.length % 2 == 0 else element.length + 2
    choices = [0, 1, odd & top, (element.length * 1000 + 2) & top, len(data) & top, top, top - 1, top // 2 + 1]
    value = rng.choice(choices)
    order = "<" if element.little else ">"
    packed = struct.pack(order + ("H" if width == 2 else "I"), value)
    return data[:offset] + packed + data[offset + width :], f"{element.name} length {element.length} -> {value}"


_VRS = ["UN", "OB", "OW", "SQ", "US", "UL", "SS", "FD", "FL", "DS", "IS", "CS", "UI", "PN", "AT", "DA", "UT", "ZZ",
        "\0\0", "  ", "ob", "SV", "OV"]  # fmt: skip


def vr_replaced(rng: random.Random, data: bytes, elements: list[Element]) -> tuple[bytes, str]:
    explicit = [e for e in elements if e.vr is not None]
    if not explicit:
        return _instead(rng, data, elements, "no explicit VR")
    element = rng.choice(explicit)
    vr = rng.choice([v for v in _VRS if v != element.vr])
    at = element.offset + 4
    return data[:at] + vr.encode("latin-1") + data[at + 2 :], f"{element.name} VR -> {vr!r}"


def _whole(elements: list[Element]) -> list[Element]:
    return [e for e in elements if e.length != _UNDEFINED]


def tag_duplicated(rng: random.Random, data: bytes, elements: list[Element]) -> tuple[bytes, str]:
    whole = _whole(elements)
    if not whole:
        return _instead(rng, data, elements, "no element of defined length")
    element = rng.choice(whole)
    copy = data[element.offset : element.end]
    target = rng.choice([element.end, rng.choice(elements).offset])
    if rng.random() < 0.3:  # the copy with another value: which one wins?
        copy = copy[: element.value_offset - element.offset] + bytes(
            reversed(copy[element.value_offset - element.offset :])
        )
    return data[:target] + copy + data[target:], f"{element.name} copied to offset {target}"


def tags_out_of_order(rng: random.Random, data: bytes, elements: list[Element]) -> tuple[bytes, str]:
    whole = _whole(elements)
    pairs = [(a, b) for a, b in zip(whole, whole[1:], strict=False) if a.end == b.offset]
    if not pairs:
        return _instead(rng, data, elements, "no two adjacent elements")
    first, second = rng.choice(pairs)
    swapped = data[second.offset : second.end] + data[first.offset : first.end]
    return data[: first.offset] + swapped + data[second.end :], f"{first.name} and {second.name} swapped"


ABSURD = [b"nan", b"NaN", b"-nan", b"inf", b"1e999", b"-1e999", b"-1", b"abc", b"", b"\0\0", b"A" * 10240,
          b"\xff\xfe\xfd\xfc", b"1\\2\\3\\", b"-2147483649", b"99999999999999999999", b"0", b"0.0", b"1e-999",
          b"\\\\\\\\", b"=?utf-8?", b"\x1b$B"]  # fmt: skip
# Attributes that decide how a file is read or shown: their absurd values are the interesting ones.
_TELLING = [0x00080005, 0x00080016, 0x00080018, 0x00100010, 0x00100020, 0x00080020, 0x00280004, 0x00280008,
            0x00280030, 0x00281050, 0x00281051, 0x00281052, 0x00281053, 0x00281054, 0x00281056, 0x00200013,
            0x00280006, 0x00280103]  # fmt: skip
_VR_OF = {0x00080005: "CS", 0x00080016: "UI", 0x00080018: "UI", 0x00100010: "PN", 0x00100020: "LO",
          0x00080020: "DA", 0x00280004: "CS", 0x00280008: "IS", 0x00280030: "DS", 0x00281050: "DS",
          0x00281051: "DS", 0x00281052: "DS", 0x00281053: "DS", 0x00281054: "LO", 0x00281056: "CS",
          0x00200013: "IS", 0x00280002: "US", 0x00280006: "US", 0x00280010: "US", 0x00280011: "US",
          0x00280100: "US", 0x00280101: "US", 0x00280102: "US", 0x00280103: "US"}  # fmt: skip


def _set_value(data: bytes, elements: list[Element], tag: int, value: bytes) -> tuple[bytes, str]:
    """``data`` with the top-level ``tag`` holding ``value``: replaced in place, or inserted where it sorts."""
    dataset = [e for e in elements if e.tag >> 16 != 2]
    element = next((e for e in elements if e.tag == tag), None)
    if element is not None:
        vr = element.vr or _VR_OF.get(tag, "UN")
        new = encode(tag, vr, value, implicit=element.implicit, little=element.little)
        return data[: element.offset] + new + data[element.end :], "replaced"
    implicit, little = (dataset[0].implicit, dataset[0].little) if dataset else (False, True)
    new = encode(tag, _VR_OF.get(tag, "UN"), value, implicit=implicit, little=little)
    at = next((e.offset for e in dataset if e.tag > tag), dataset[-1].end if dataset else len(data))
    return data[:at] + new + data[at:], "inserted"


def absurd_value(rng: random.Random, data: bytes, elements: list[Element]) -> tuple[bytes, str]:
    candidates = [e.tag for e in _whole(elements) if e.tag != 0x7FE00010 and e.vr != "SQ"]
    tag = rng.choice(_TELLING) if rng.random() < 0.5 or not candidates else rng.choice(candidates)
    value = rng.choice(ABSURD)
    if _VR_OF.get(tag) == "US" or any(e.tag == tag and e.vr in {"US", "SS"} for e in elements):
        value = value[:2]  # a binary attribute: the first bytes of the absurd text as its value
    data, how = _set_value(data, elements, tag, value)
    shown = value if len(value) <= 24 else value[:8] + b"... (%d bytes)" % len(value)
    return data, f"({tag >> 16:04X},{tag & 0xFFFF:04X}) {how} with {shown!r}"


_IMAGE_EXTREMES: dict[int, list[int | bytes]] = {
    0x00280010: [0, 1, 0x7FFF, 0x8000, 0xFFFF],  # Rows
    0x00280011: [0, 1, 0x7FFF, 0x8000, 0xFFFF],  # Columns
    0x00280100: [0, 1, 7, 12, 33, 64, 0xFFFF],  # Bits Allocated
    0x00280101: [0, 1, 17, 64, 0xFFFF],  # Bits Stored
    0x00280102: [0, 15, 64, 0xFFFF],  # High Bit
    0x00280002: [0, 2, 4, 0xFFFF],  # Samples per Pixel
    0x00280103: [2, 0xFFFF],  # Pixel Representation
    0x00280006: [1, 2, 0xFFFF],  # Planar Configuration
    0x00280008: [b"0", b"-1", b"2147483647", b"4294967296", b"99999999999", b"1e9", b"nan", b"", b"1.5"],
}


def image_extremes(rng: random.Random, data: bytes, elements: list[Element]) -> tuple[bytes, str]:
    """One to three Image Pixel attributes (PS3.3 C.7.6.3) set to extremes, or the 'header bomb' combination."""
    little = next((e.little for e in elements if e.tag >> 16 != 2), True)
    if rng.random() < 0.2:
        chosen: dict[int, int | bytes] = {0x00280010: 0xFFFF, 0x00280011: 0xFFFF, 0x00280008: b"2147483647"}
    else:
        tags = rng.sample(sorted(_IMAGE_EXTREMES), rng.randint(1, 3))
        chosen = {tag: rng.choice(_IMAGE_EXTREMES[tag]) for tag in tags}
    parts = []
    for tag, value in sorted(chosen.items()):
        raw = value if isinstance(value, bytes) else struct.pack("<H" if little else ">H", value)
        data, how = _set_value(data, layout(data) if parts else elements, tag, raw)
        parts.append(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) {how} with {value!r}")
    return data, "; ".join(parts)


_SYNTAXES = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", _EXPLICIT_BE, _DEFLATED, "1.2.840.10008.1.2.4.50",
             "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80",
             "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.5",
             "1.2.840.10008.1.2.4.100", "1.2.3.4", "", "not a uid", "1.2.840.10008.1.2.1.98"]  # fmt: skip


def transfer_syntax_swapped(rng: random.Random, data: bytes, elements: list[Element]) -> tuple[bytes, str]:
    """Another Transfer Syntax UID, with the meta group length kept right so that the data set is read with it."""
    current = next((e for e in elements if e.tag == _TRANSFER_SYNTAX), None)
    if current is None:
        return _instead(rng, data, elements, "no Transfer Syntax UID")
    uid = rng.choice([s for s in _SYNTAXES if s != _text(data, current)])
    data, _ = _set_value(data, elements, _TRANSFER_SYNTAX, uid.encode())
    new = layout(data)
    group = next((e for e in new if e.tag == _META_GROUP_LENGTH), None)
    meta = [e for e in new if e.tag >> 16 == 2]
    if group is not None and meta:
        value = struct.pack("<I", meta[-1].end - group.end)
        data = data[: group.value_offset] + value + data[group.value_offset + 4 :]
    return data, f"Transfer Syntax UID -> {uid!r}"


def _fragment_start(data: bytes, elements: list[Element]) -> int | None:
    """Where the first fragment of encapsulated Pixel Data starts (PS3.5 A.4): after the offset table item."""
    pixel = next((e for e in elements if e.tag == 0x7FE00010 and e.length == _UNDEFINED), None)
    if pixel is None:
        return None
    order = "<" if pixel.little else ">"
    table = struct.unpack_from(order + "I", data, pixel.value_offset + 4)[0]
    start = pixel.value_offset + 8 + table + 8
    return start if start < pixel.end else None


def codestream_header(rng: random.Random, data: bytes, elements: list[Element]) -> tuple[bytes, str]:
    """The compressed frame's own header asks for an absurd image: JPEG SOF lines and samples per line
    (ISO 10918-1 B.2.2), JPEG 2000 SIZ image size and components (ISO 15444-1 A.5.1), RLE segment count and
    offsets (PS3.5 G.5)."""
    start = _fragment_start(data, elements)
    if start is None:
        return _instead(rng, data, elements, "no encapsulated Pixel Data")
    out = bytearray(data)
    fragment = bytes(data[start : start + 4096])
    siz = fragment.find(b"\xff\x4f\xff\x51") + 2  # SOC then SIZ, at the start or inside a JP2 box
    sof = next((i for i in (fragment.find(b"\xff" + bytes([m])) for m in (0xC0, 0xC1, 0xC2, 0xC3, 0xF7)) if i > 0), -1)
    if siz > 1:
        field, width, value = rng.choice([(6, 4, 0xFFFFFFFF), (10, 4, 0x7FFFFFFF), (6, 4, 0), (38, 2, 16384)])
        at, what = start + siz + 2 + field, "JPEG 2000 SIZ " + {6: "Xsiz", 10: "Ysiz", 38: "Csiz"}[field]
    elif b"\xff\xd8" in fragment[:16] and sof > 0:
        field, width, value = rng.choice([(3, 2, 0xFFFF), (5, 2, 0xFFFF), (3, 2, 0), (7, 1, 255)])
        at, what = start + sof + 2 + field, "JPEG SOF " + {3: "lines", 5: "samples per line", 7: "components"}[field]
    else:
        field, width, value = rng.choice([(0, 4, 15), (0, 4, 0xFFFFFFFF), (4, 4, 0x7FFFFFFF), (8, 4, 64)])
        # Otherwise read as an RLE header, whatever the fragment holds (RLE Lossless, or an unknown stream).
        at, what = start + field, "RLE header " + ("segment count" if field == 0 else f"offset {field // 4}")
    out[at : at + width] = value.to_bytes(width, "big" if "RLE" not in what else "little")
    return bytes(out), f"{what} -> {value} (first fragment at offset {start})"


KINDS: dict[str, Mutation] = {
    "flip_bytes": flip_bytes,
    "truncate": truncate,
    "insert_bytes": insert_bytes,
    "delete_bytes": delete_bytes,
    "length_field": length_field,
    "vr_replaced": vr_replaced,
    "tag_duplicated": tag_duplicated,
    "tags_out_of_order": tags_out_of_order,
    "absurd_value": absurd_value,
    "image_extremes": image_extremes,
    "transfer_syntax_swapped": transfer_syntax_swapped,
    "codestream_header": codestream_header,
}


def plan(number: int) -> tuple[str, str, random.Random]:
    """The base file and kind of mutant ``number``, and the generator its mutation goes on drawing from."""
    rng = random.Random(f"{SEED}:{number}")
    kinds = sorted(KINDS)
    kind = kinds[number % len(kinds)]
    return rng.choice(_encapsulated() if kind == "codestream_header" else BASES), kind, rng


@cache
def _encapsulated() -> list[str]:
    return [base for base in BASES if _fragment_start(_read(base), _layout_of(base)) is not None]


def mutant(number: int) -> Mutant:
    base, kind, rng = plan(number)
    data = _read(base)
    mutated, detail = KINDS[kind](rng, data, _layout_of(base))
    if mutated == data:  # a no-op draw (say, a VR set to itself): flip a byte instead, so every mutant differs
        mutated, flipped = flip_bytes(rng, data, _layout_of(base))
        detail += f" (no change; then {flipped})"
    return Mutant(number, base, kind, detail, mutated)


def label(number: int) -> str:
    """A short test id: number, kind and base file."""
    base, kind, _ = plan(number)
    return f"{number:03d}-{kind}-{Path(base).name}"


@cache
def _read(base: str) -> bytes:
    return CORPUS[base].read_bytes()


@cache
def _layout_of(base: str) -> list[Element]:
    return layout(_read(base))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m tests.mutants NUMBER OUTPUT.dcm")
    made = mutant(int(sys.argv[1]))
    Path(sys.argv[2]).write_bytes(made.data)
    print(made)
