"""How much a DICOM file may make us inflate or decode: checked before the work, never measured after it."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class DicomLimits:
    """``max_inflated_bytes``: the largest a deflated data set (PS3.5 A.5) may inflate to.
    ``max_inflation_ratio``: inflated over deflated size, beyond ``RATIO_FREE_BYTES`` (honest data sets deflate
    by 2 to 60 times; zlib's own ceiling is about 1030). Inflating runs at 150 to 300 MB/s: the two bound
    the time a bomb costs.
    ``max_frame_bytes``: the largest decoded frame (Rows x Columns x Samples per Pixel x bytes per sample) a
    render may ask a decoder for. A render's peak memory stays under about 10 times it (measured: the YBR
    JPEG colour conversion is the worst case; floating-point grey about 6 times)."""

    max_inflated_bytes: int = 512 * MIB
    max_inflation_ratio: int = 100
    max_frame_bytes: int = 64 * MIB


RATIO_FREE_BYTES = 16 * MIB  # small data sets may deflate as well as they like
DEFAULT_LIMITS = DicomLimits()
