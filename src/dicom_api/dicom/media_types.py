"""Transfer syntaxes and the media types that carry their frames and bulk data (PS3.18 Table 8.7.3-5).

Pure strings: the API's content negotiation and the frame reader both use it. The first syntax of each media
type is its default (D in the table), the one meant when a request names the type without a transfer-syntax.
"""

from __future__ import annotations

EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1.99"
EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2"
OCTET_STREAM = "application/octet-stream"
DICOM = "application/dicom"
DICOM_JSON = "application/dicom+json"

_TS = "1.2.840.10008.1.2.4."
FRAME_SYNTAXES: dict[str, tuple[str, ...]] = {
    OCTET_STREAM: (EXPLICIT_VR_LITTLE_ENDIAN,),
    "image/jpeg": (f"{_TS}70", f"{_TS}50", f"{_TS}51", f"{_TS}57"),
    "image/dicom-rle": ("1.2.840.10008.1.2.5",),
    "image/jls": (f"{_TS}80", f"{_TS}81"),
    "image/jp2": (f"{_TS}90", f"{_TS}91"),
    "image/jpx": (f"{_TS}92", f"{_TS}93"),
    "image/jphc": (f"{_TS}201", f"{_TS}202", f"{_TS}203"),
    "image/jxl": (f"{_TS}110", f"{_TS}111", f"{_TS}112"),
    "video/mpeg2": (f"{_TS}100", f"{_TS}101"),
    "video/mp4": tuple(f"{_TS}{n}" for n in range(102, 107)),
}
"""Media type -> the transfer syntaxes its parts may be in, the default first (PS3.18 Table 8.7.3-5; the JPEG XL
and HTJ2K rows of its 2024 and later editions)."""

ALIASES = {  # older or unregistered names clients still send (OHIF asks image/dicom+jpeg for .4.51)
    "image/x-jls": "image/jls",
    "image/x-dicom-rle": "image/dicom-rle",
    "image/dicom+jpeg": "image/jpeg",
}

NATIVE_LITTLE_ENDIAN = frozenset(
    {EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN}
)  # their Pixel Data is the same bytes (PS3.5 8.1.1; deflate covers the data set, not the extracted frames)

_MEDIA_OF_SYNTAX = {uid: media for media, uids in FRAME_SYNTAXES.items() for uid in uids}


def canonical_media_type(text: str) -> str:
    """``text`` lower-cased, an older alias replaced by the registered name."""
    lowered = text.strip().lower()
    return ALIASES.get(lowered, lowered)


def frame_syntax(stored_syntax: str) -> str | None:
    """The transfer syntax a frame of an instance stored in ``stored_syntax`` goes out in unchanged: native little
    endian frames as Explicit VR Little Endian, compressed ones in their own; None (big endian, unknown) when
    the frame bytes would need converting (PS3.18 8.7.3.5.2)."""
    if stored_syntax in NATIVE_LITTLE_ENDIAN:
        return EXPLICIT_VR_LITTLE_ENDIAN
    return stored_syntax if stored_syntax in _MEDIA_OF_SYNTAX else None


def frame_media_type(syntax: str) -> str | None:
    """The media type of a frame or bulk data part in ``syntax`` (PS3.18 Table 8.7.3-5), None if it has none."""
    return _MEDIA_OF_SYNTAX.get(frame_syntax(syntax) or "")


def frame_syntaxes(media_type: str) -> tuple[str, ...]:
    """The transfer syntaxes ``media_type`` carries, the default first; () for a type that is not in the table."""
    return FRAME_SYNTAXES.get(canonical_media_type(media_type), ())


def default_syntax(media_type: str) -> str | None:
    """The transfer syntax meant by ``media_type`` without a transfer-syntax parameter (PS3.18 8.7.3.4): Explicit
    VR Little Endian for application/dicom and application/octet-stream, the table's D for the others."""
    if canonical_media_type(media_type) == DICOM:
        return EXPLICIT_VR_LITTLE_ENDIAN
    syntaxes = frame_syntaxes(media_type)
    return syntaxes[0] if syntaxes else None
