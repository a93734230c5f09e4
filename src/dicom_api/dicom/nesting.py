"""How deep sequences nest (PS3.5 7.5): a bound checked at upload, since readers recurse once per level.

Practice rarely nests deeper than five to ten levels (structured reports are the deepest); thousands of levels
only serve to exhaust the recursion of pydicom's reader and of JSON writers.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from dicom_api.errors import InvalidDicom

MAX_SEQUENCE_DEPTH = 64
# Raw VRs whose value may be a sequence: SQ, and implicit VR (None) or UN, which pydicom reads as SQ when the
# dictionary says so or the value is of undefined length.
_MAYBE_SEQUENCE = frozenset({None, "SQ", "UN"})


def check_sequence_depth(ds: Dataset, limit: int = MAX_SEQUENCE_DEPTH) -> None:
    """Refuse a data set whose sequences nest deeper than ``limit`` (a top-level sequence is level 1).

    Walks the items with a stack of its own, one level converted at a time, so that the check itself does
    not recurse; it stops at the first sequence past the limit.
    """
    stack: list[tuple[Dataset, int]] = [(ds, 1)]
    while stack:
        current, depth = stack.pop()
        for tag, raw in list(current._dict.items()):
            if getattr(raw, "VR", None) not in _MAYBE_SEQUENCE:
                continue
            try:
                elem = current[tag]
            except RecursionError:  # pydicom reads nested undefined-length items recursively: far too deep
                raise too_deep(limit) from None
            except Exception:  # noqa: S112 - a malformed value is no nesting; readers report it as such
                continue
            if elem.VR != "SQ" or not elem.value:
                continue
            if depth > limit:
                raise too_deep(limit)
            stack.extend((item, depth + 1) for item in elem.value)


def too_deep(limit: int) -> InvalidDicom:
    return InvalidDicom(f"The DICOM data set nests sequences more than {limit} levels deep, which is not supported.")
