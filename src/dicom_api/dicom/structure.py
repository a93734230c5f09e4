"""Walk a data set's element structure (PS3.5 7.1, 7.5) without building it, counting elements and items.

pydicom builds a Dataset for every sequence item (45 to 90 us and 730 bytes each) and an object per element: a
sequence of empty items (8 bytes each) makes a small upload cost tens of seconds of CPU. This walk reads element
headers only, skipping values, so that a data set holding more elements and items than its bytes justify is
refused before pydicom parses it. Hand-written: pydicom has no reader that skips values and builds nothing.

Two modes. ``strict`` (a deflated data set, always Explicit VR Little Endian): anything malformed is refused.
Otherwise (a plain file, whatever its encoding) the walk follows pydicom's own tolerance (a data set written
implicit despite its transfer syntax, an invalid VR read as implicit, lengths running past their sequence or
item) and, where it cannot follow the structure (a file cut short), stops counting and leaves the judgement to
pydicom's parse. Both refuse nesting deeper than MAX_SEQUENCE_DEPTH, as the check after the parse would, before
pydicom's reader recurses into it.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from pydicom.datadict import DicomDictionary  # type: ignore[attr-defined]  # documented, not re-exported

from dicom_api.dicom.nesting import MAX_SEQUENCE_DEPTH, too_deep
from dicom_api.errors import InvalidDicom

PIXEL_TAGS = frozenset((0x7FE00010, 0x7FE00008, 0x7FE00009))
_LONG_VRS = frozenset((b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"))
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
# What a plain header (the data set before Pixel Data) may hold, in units: an element is one, a sequence item
# ITEM_WEIGHT; at most one unit per BYTES_PER_UNIT bytes, at least MIN_UNITS, at most MAX_UNITS.
# Measured (pydicom 3, one core): parsing costs about 8 us and 400 bytes per element, 45 to 90 us and 730 bytes
# per item (its Dataset): hence an item weighs 4. Each element or item takes at least 8 bytes, so bytes alone
# cannot tell a bomb (8 bytes per empty item: 2 bytes per unit) from an honest header; how densely the units
# sit can. Honest headers: the test corpus's 243 files spend at least 13 bytes per element or item (median 22),
# 8.7 per unit; real enhanced multi-frame CT (per-frame functional groups) 19 to 22 per element or item, 11.8
# to 15 per unit. The densest honest header found is a synthetic enhanced CT of 2000 frames whose 7 per-frame
# groups hold one-digit values: 31 elements and items (8 items) per frame, 356 bytes, 6.5 bytes per unit; at
# 10,000 frames it would hold 550,000 units. A bomb thus gets at most one item per 16 bytes (1.6 MB: 100,000
# items, about 9 s, instead of the 200,000 items and 17 s it asks for at 8 bytes each); the cap bounds any
# header at 250,000 items (about 22 s).
ITEM_WEIGHT, BYTES_PER_UNIT, MIN_UNITS, MAX_UNITS = 4, 4, 20_000, 1_000_000
TOO_MANY_ELEMENTS = (
    "The DICOM header holds more attributes and sequence items than its size allows: at most one attribute per "
    f"{BYTES_PER_UNIT} bytes, an item counting as {ITEM_WEIGHT} (at least {MIN_UNITS}, at most {MAX_UNITS} in all)."
)
# Tags the dictionary calls sequences: pydicom reads them as such in Implicit VR (and in place of UN).
_SEQUENCE_TAGS = frozenset(tag for tag, entry in DicomDictionary.items() if entry[0] == "SQ")


def header_budget(header_bytes: int) -> int:
    """The units (see ITEM_WEIGHT) a plain header of ``header_bytes`` may hold."""
    return min(MAX_UNITS, max(MIN_UNITS, header_bytes // BYTES_PER_UNIT))


class _Lost(Exception):
    """The walk of a plain file cannot follow the structure further: pydicom's parse will judge it."""


def count_elements(
    fp: BinaryIO,
    end: int,
    *,
    allowed: int,
    subject: str,
    too_many: str = "",
    item_weight: int = 1,
    implicit: bool = False,
    little: bool = True,
    strict: bool = False,
    stop_at_pixels: bool = False,
) -> tuple[int, int]:
    """Walk the data set from ``fp``'s position to ``end``; return how many elements and items it holds (each
    sequence item counting ``item_weight``: pydicom builds a data set for it) and where the walk ended (at
    top-level Pixel Data when ``stop_at_pixels``, at the end, or where it lost the structure).

    Raises InvalidDicom past ``allowed`` elements and items, or nesting past MAX_SEQUENCE_DEPTH, and in
    ``strict`` mode when an element is malformed; ``subject`` names the data set in messages, ``too_many``
    (if given) is the whole message past ``allowed``.
    """
    walker = _Walker(fp, allowed, subject, little=little, strict=strict)
    walker.size, walker.item_weight = end, item_weight
    walker.too_many = too_many or f"{subject} holds more attributes and items than its size allows."
    try:
        walker.data_set(end, 0, implicit, top=True, stop_at_pixels=stop_at_pixels, undefined=False)
    except _Lost:
        pass
    return allowed - walker.left, walker.position


class _Walker:
    """The walk's state. It counts its position itself: a buffered file's ``tell`` costs a system call."""

    __slots__ = (
        "fp",
        "read",
        "seek",
        "left",
        "subject",
        "strict",
        "tag_length",
        "short_length",
        "long_length",
        "pos",
        "position",
        "size",
        "too_many",
        "item_weight",
    )

    def __init__(self, fp: BinaryIO, allowed: int, subject: str, *, little: bool, strict: bool):
        self.fp, self.read, self.seek = fp, fp.read, fp.seek
        self.left, self.subject, self.strict = allowed, subject, strict
        endian = "<" if little else ">"
        self.tag_length = struct.Struct(endian + "HHI").unpack  # an implicit element's or an item's header
        self.short_length = struct.Struct(endian + "H").unpack_from
        self.long_length = struct.Struct(endian + "I").unpack
        self.pos = self.position = fp.tell()  # where the next read starts; where the walk ended
        self.size = 0  # lenient: the file's end, the only bound pydicom holds lengths to
        self.too_many = ""
        self.item_weight = 1

    def malformed(self, what: str) -> _Lost | InvalidDicom:
        return InvalidDicom(f"{self.subject} {what}") if self.strict else _Lost()

    def spend(self, cost: int = 1) -> None:
        self.left -= cost
        if self.left < 0:
            raise InvalidDicom(self.too_many)

    def skip(self, length: int) -> None:
        self.pos += length
        if length <= 256:
            self.read(length)  # copies from the buffer: cheaper than a buffered file's seek
        else:
            self.seek(self.pos)

    def peek(self, size: int) -> bytes:
        data = self.read(size)
        self.seek(self.pos)
        return data

    def detect_implicit(self, assumed: bool, in_sequence: bool) -> bool:
        """Whether the data set starting here is implicit, as pydicom decides it (from its first VR)."""
        if self.strict or (in_sequence and assumed):
            return assumed
        head = self.peek(6)
        if len(head) < 6:
            return assumed
        return not (0x40 < head[4] < 0x5B and 0x40 < head[5] < 0x5B)

    def data_set(
        self, end: int, depth: int, implicit: bool, *, top: bool, stop_at_pixels: bool, undefined: bool
    ) -> None:
        """Elements until ``end`` or, in an item of undefined length, its delimiter (consumed); ``implicit``:
        the encoding assumed (the transfer syntax's, or the enclosing data set's)."""
        implicit = self.detect_implicit(implicit, in_sequence=not top)
        read, spend = self.read, self.spend
        while self.pos < end:
            self.position = self.pos
            head = read(8)
            if len(head) < 8:
                raise self.malformed("is truncated inside an attribute's header.")
            self.pos += 8
            group, element, length = self.tag_length(head)
            tag = group << 16 | element
            if tag == _ITEM_END:
                return
            if top and stop_at_pixels and tag in PIXEL_TAGS:
                return
            spend()
            vr = None
            if not implicit:
                vr = head[4:6]
                if not (0x40 < vr[0] < 0x5B and 0x40 < vr[1] < 0x5B):
                    if self.strict:
                        raise self.malformed("is malformed: an attribute has no valid VR.")
                    vr = None  # pydicom reads the element as implicit, and so on
                elif vr in _LONG_VRS:
                    extra = read(4)
                    if len(extra) < 4:
                        raise self.malformed("is truncated inside an attribute's header.")
                    self.pos += 4
                    (length,) = self.long_length(extra)
                else:
                    (length,) = self.short_length(head, 6)
            self.value(tag, vr, length, end, depth, implicit, top=top)
        self.position = self.pos
        if undefined and self.strict:
            raise self.malformed("is truncated: a sequence has no end.")

    def value(
        self, tag: int, vr: bytes | None, length: int, end: int, depth: int, implicit: bool, *, top: bool
    ) -> None:
        if length == _UNDEFINED:
            bound = end if self.strict else self.size  # pydicom reads to the delimiter, wherever it is
            if vr == b"SQ" or vr == b"UN" and not self.strict or vr is None and self._holds_items(tag):
                self.items(bound, True, depth + 1, implicit)
            elif self.strict and not (top and tag in PIXEL_TAGS):
                # An undefined-length UN holds an Implicit VR sequence (PS3.5 6.2.2): not walked, refused.
                raise self.malformed("holds an attribute of undefined length that is no sequence.")
            else:
                self.items(bound, True, depth + 1, implicit, fragments=True)  # encapsulated (PS3.5 A.4)
            return
        if self.strict and self.pos + length > end:
            raise self.malformed("is truncated: an attribute's value runs past its end.")
        if vr == b"SQ":  # pydicom reads a sequence cut short as far as it goes: so does the walk
            self.items(self.pos + length, False, depth + 1, implicit)
        elif (vr is None or vr == b"UN") and not self.strict and self._may_be_sequence(tag, length):
            self.items(self.pos + length, False, depth + 1, True)  # read as Implicit VR (PS3.5 6.2.2)
        elif self.pos + length > self.size:
            raise self.malformed("is truncated: an attribute's value runs past its end.")
        else:
            self.skip(length)

    def _holds_items(self, tag: int) -> bool:
        """pydicom's test of an undefined-length implicit element: a sequence by the dictionary, or when an
        item follows."""
        if tag in _SEQUENCE_TAGS:
            return True
        head = self.peek(8)
        return len(head) == 8 and self.tag_length(head)[:2] == (0xFFFE, 0xE000)

    def _may_be_sequence(self, tag: int, length: int) -> bool:
        """Whether pydicom may read a defined-length value of unknown VR as a sequence when it is converted: by
        the dictionary, or by a private dictionary (not known here: a private value starting with an item is
        taken for one)."""
        if tag in _SEQUENCE_TAGS:
            return True
        return bool(tag >> 16 & 1) and length >= 8 and self._holds_items(tag)

    def items(self, end: int, undefined: bool, depth: int, implicit: bool, *, fragments: bool = False) -> None:
        """A sequence's items (PS3.5 7.5.1), to ``end`` or its delimiter; ``fragments``: items of encapsulated
        data, whose values are skipped. ``depth``: the sequence's nesting level (a top-level one is 1)."""
        read, spend = self.read, self.spend
        while self.pos < end:
            self.position = self.pos
            head = read(8)
            if len(head) < 8:
                raise self.malformed("is truncated inside a sequence.")
            self.pos += 8
            group, element, length = self.tag_length(head)
            tag = group << 16 | element
            if tag == _SEQUENCE_END and undefined:
                return
            spend(1 if fragments else self.item_weight)
            if tag != _ITEM and self.strict:  # pydicom reads any tag here as an item's
                raise self.malformed("is malformed inside a sequence.")
            if not fragments and depth > MAX_SEQUENCE_DEPTH:
                raise too_deep(MAX_SEQUENCE_DEPTH)  # as the check after parsing would, before its recursion
            if length == _UNDEFINED:
                if fragments:
                    raise self.malformed("has a fragment of undefined length.")
                bound = end if self.strict else self.size
                self.data_set(bound, depth, implicit, top=False, stop_at_pixels=False, undefined=True)
            elif self.strict and self.pos + length > end:  # pydicom reads what there is
                raise self.malformed("is truncated inside a sequence.")
            elif fragments:
                self.skip(length)
            elif length:  # an empty item holds no data set to detect the encoding of
                self.data_set(self.pos + length, depth, implicit, top=False, stop_at_pixels=False, undefined=False)
        self.position = self.pos
        if undefined and self.strict:
            raise self.malformed("is truncated: a sequence has no end.")
