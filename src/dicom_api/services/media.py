"""The Accept header as DICOMweb clients send it, and the choice among what a resource can be sent as.

Parsing follows RFC 9110 12.5.1 (media ranges, parameters, quoted strings, q) with the leniency real clients
need: ``type`` quoted or not (PS3.18 8.7 makes them equal), ``transfer-syntax`` given twice (OHIF), older
aliases (image/x-jls). A malformed range is skipped, not fatal: the rest of the header still counts.

The choice (``negotiate``) follows PS3.18 8.7.3-8.7.5: a range without ``transfer-syntax`` asks for the default
syntax of its type (Explicit VR Little Endian for application/dicom), ``transfer-syntax=*`` for any, as stored;
a wildcard ``type`` (``*/*``, ``image/*``) takes the server's first offer, the category default. A missing or
empty Accept header is taken as ``*/*`` (PS3.18 8.7.5 would refuse it with 406; curl and Orthanc's QIDO send
none). Nothing acceptable: NotAcceptable (406).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dicom_api.dicom.media_types import (
    DICOM,
    EXPLICIT_VR_LITTLE_ENDIAN,
    OCTET_STREAM,
    canonical_media_type,
    default_syntax,
    frame_media_type,
    frame_syntax,
)
from dicom_api.errors import NotAcceptable

MULTIPART_RELATED = "multipart/related"
DICOM_MEDIA_TYPE = DICOM  # for the HTTP layer, which does not import dicom/
MAX_RANGES = 64  # an Accept header is a few ranges; more is an attack on the parser's time
MAX_HEADER_CHARS = 8192
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
ANY = "*/*"


@dataclass(frozen=True)
class MediaRange:
    """One range of an Accept header: ``media_type`` lower-cased (``*/*``, ``image/*`` or a type), its parameters
    in order (names lower-cased, values unquoted; a name may repeat), and its weight ``q`` (0 to 1)."""

    media_type: str
    params: tuple[tuple[str, str], ...] = ()
    q: float = 1.0

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.params if key == name]

    def param(self, name: str) -> str | None:
        found = self.values(name)
        return found[0] if found else None


@dataclass(frozen=True)
class Offer:
    """A representation the server can send: ``media_type`` (``multipart/related`` or a single-part type such as
    ``application/dicom+json``), for multipart the ``type`` of its parts, and the transfer syntax it would be in
    (None for types that have none, such as JSON or rendered images)."""

    media_type: str
    type: str | None = None
    transfer_syntax: str | None = None


def parse_accept(header: str | None) -> list[MediaRange]:
    """The ranges of an Accept header (RFC 9110 12.5.1) in the order given; ``[*/*]`` when it is missing or empty.
    At most MAX_RANGES ranges of a header cut at MAX_HEADER_CHARS are read; malformed ones are skipped."""
    text = (header or "")[:MAX_HEADER_CHARS]
    if not text.strip():
        return [MediaRange(ANY)]
    ranges: list[MediaRange] = []
    for piece in _split(text, ","):
        parsed = _parse_range(piece)
        if parsed is not None:
            ranges.append(parsed)
        if len(ranges) == MAX_RANGES:
            break
    return ranges


def parse_media_type(header: str | None) -> MediaRange | None:
    """A Content-Type header (RFC 9110 8.3.1) as one MediaRange (parameter values keep their case: a boundary
    is case-sensitive), None when it is missing or malformed."""
    text = (header or "")[:MAX_HEADER_CHARS].strip()
    return _parse_range(text) if text else None  # one type: a comma is no separator here


def negotiate(accept: Sequence[MediaRange], offers: Sequence[Offer]) -> Offer:
    """The offer the client prefers (PS3.18 8.7.5; RFC 9110 12.5.1): each offer weighs what the most specific
    range matching it says; the heaviest wins, ties going to the earlier offer (list the preferred first, the
    stored transfer syntax before a transcoded one). NotAcceptable when no offer has a weight above 0."""
    best: Offer | None = None
    best_q = 0.0
    for offer in offers:
        q = _weight(accept, offer)
        if q > best_q:
            best, best_q = offer, q
    if best is None:
        raise NotAcceptable()
    return best


def instance_offers(stored_syntax: str, *, single_part: bool = False) -> list[Offer]:
    """What an instance stored in ``stored_syntax`` can be sent as (PS3.18 8.7.3.4-8.7.3.5), in the server's
    order: as stored (what ``transfer-syntax=*`` gets), then Explicit VR Little Endian (the default, transcoded:
    dicom/transcode.py). ``single_part`` adds bare application/dicom after them, for one instance."""
    syntaxes = [stored_syntax] + ([EXPLICIT_VR_LITTLE_ENDIAN] if stored_syntax != EXPLICIT_VR_LITTLE_ENDIAN else [])
    offers = [Offer(MULTIPART_RELATED, DICOM, syntax) for syntax in syntaxes]
    if single_part:
        offers += [Offer(DICOM, None, syntax) for syntax in syntaxes]
    return offers


def frame_offers(stored_syntax: str, *, decodable: bool) -> list[Offer]:
    """What frames of an instance stored in ``stored_syntax`` can be sent as (PS3.18 Table 8.7.3-5): as stored in
    their media type (native little endian frames as application/octet-stream), then, when ``decodable``, as
    decoded native frames; multipart first, then the same single-part (cornerstone reads both)."""
    offers: list[tuple[str, str]] = []
    stored, media = frame_syntax(stored_syntax), frame_media_type(stored_syntax)
    if stored is not None and media is not None:
        offers.append((media, stored))
    if stored != EXPLICIT_VR_LITTLE_ENDIAN and decodable:
        offers.append((OCTET_STREAM, EXPLICIT_VR_LITTLE_ENDIAN))
    return [Offer(MULTIPART_RELATED, m, ts) for m, ts in offers] + [Offer(m, None, ts) for m, ts in offers]


def part_content_type(media_type: str, transfer_syntax: str | None) -> str:
    """The Content-Type of one part or single-part answer, ``transfer-syntax`` given (PS3.18 8.7.3.3.2;
    cornerstone assumes Implicit VR Little Endian for octet-stream parts without it)."""
    return f"{media_type}; transfer-syntax={transfer_syntax}" if transfer_syntax else media_type


def _weight(accept: Sequence[MediaRange], offer: Offer) -> float:
    matching = [(_specificity(r), r.q) for r in accept if _matches(r, offer)]
    return max(matching)[1] if matching else 0.0


def _specificity(r: MediaRange) -> tuple[int, int, int]:
    kind = 0 if r.media_type == ANY else 1 if r.media_type.endswith("/*") else 2
    part = r.param("type") or ""
    part_kind = 0 if part in ("", ANY) else 1 if part.endswith("/*") else 2
    return kind, part_kind, int(bool(r.values("transfer-syntax")))


def _type_matches(pattern: str, media_type: str) -> bool:
    if pattern == ANY:
        return True
    if pattern.endswith("/*"):
        return media_type.split("/", 1)[0] == pattern[:-2]
    return pattern == media_type


def _matches(r: MediaRange, offer: Offer) -> bool:
    offered = canonical_media_type(offer.media_type)
    if not _type_matches(r.media_type, offered):
        return False
    part = r.param("type")
    part_type = canonical_media_type(part) if part is not None else None
    if part_type is not None and offer.type is not None and not _type_matches(part_type, offer.type):
        return False
    syntaxes = r.values("transfer-syntax")
    if offer.transfer_syntax is None or "*" in syntaxes:
        return True
    if syntaxes:
        return offer.transfer_syntax in syntaxes
    explicit = part_type if offered.startswith("multipart/") else r.media_type
    if explicit is None or explicit == ANY or explicit.endswith("/*"):
        return True  # a wildcard asks for the category default: the server's order decides
    return offer.transfer_syntax == default_syntax(explicit)


def _parse_range(text: str) -> MediaRange | None:
    pieces = list(_split(text, ";"))
    media_type = canonical_media_type(pieces[0]) if pieces else ""
    main, _, sub = media_type.partition("/")
    if not (main and sub and _is_token(main) and _is_token(sub)) or (main == "*" and sub != "*"):
        return None
    params: list[tuple[str, str]] = []
    q = 1.0
    for piece in pieces[1:]:
        name, eq, raw = piece.partition("=")
        name = name.strip().lower()
        if not eq or not _is_token(name):
            continue
        value = _unquote(raw.strip())
        if name == "q":
            parsed = _quality(value)
            if parsed is None:
                return None
            q = parsed
            break  # what follows q are accept-extensions (RFC 9110 12.5.1), not media type parameters
        if name == "type":
            value = canonical_media_type(value)
        params.append((name, value))
    return MediaRange(media_type, tuple(params), q)


def _quality(text: str) -> float | None:
    try:
        q = float(text)
    except ValueError:
        return None
    return q if 0.0 <= q <= 1.0 else None


def _is_token(text: str) -> bool:
    return bool(text) and all(c in _TOKEN_CHARS for c in text)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        inner, out, escaped = text[1:-1], [], False
        for c in inner:
            if escaped or c != "\\":
                out.append(c)
                escaped = False
            else:
                escaped = True
        return "".join(out)
    return text


def _split(text: str, separator: str) -> Iterator[str]:
    """``text`` cut at ``separator`` outside quoted strings (RFC 9110 5.6.4), pieces stripped, empty ones dropped."""
    start, quoted, escaped = 0, False, False
    for i, c in enumerate(text):
        if escaped:
            escaped = False
        elif quoted and c == "\\":
            escaped = True
        elif c == '"':
            quoted = not quoted
        elif c == separator and not quoted:
            if text[start:i].strip():
                yield text[start:i].strip()
            start = i + 1
    if text[start:].strip():
        yield text[start:].strip()
