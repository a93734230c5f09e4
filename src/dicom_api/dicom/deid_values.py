"""New values for de-identified attributes (PS3.15 E.1.1 actions D, U and C), each a pure function of the
old value and the de-identification key, so that the same input always gives the same output."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date, timedelta

# D: "a non-zero length value that may be a dummy value and consistent with the VR" (PS3.15 E.1.1).
DUMMY_TEXT = "ANONYMIZED"
DUMMY: dict[str, str | int | float | bytes] = {
    "PN": "ANONYMOUS",
    "DA": "19000101",
    "DT": "19000101000000",
    "TM": "000000",
    "AS": "000D",
    "IS": "0",
    "DS": "0",
    "US": 0,
    "SS": 0,
    "UL": 0,
    "SL": 0,
    "UV": 0,
    "SV": 0,
    "AT": 0,
    "FL": 0.0,
    "FD": 0.0,
    "OB": b"\0\0",
    "OW": b"\0\0",
    "OD": b"\0" * 8,
    "OF": b"\0" * 4,
    "OL": b"\0" * 4,
    "OV": b"\0" * 8,
    "UN": b"\0\0",
}
TEXT_VRS = frozenset({"LO", "SH", "ST", "LT", "UT", "UC", "PN"})
MIN_TOKEN = 3  # shorter identifying values (a sex, a one-digit ID) are not searched for inside free text


def dummy(vr: str) -> str | int | float | bytes:
    """PS3.15 E.1.1 action D for an element of this VR (not SQ, not UI: those are cleaned or replaced)."""
    return DUMMY.get(vr, DUMMY_TEXT)


def new_uid(key: bytes, uid: str) -> str:
    """PS3.15 E.1.1 action U: "2.25." and 128 bits of HMAC-SHA256(key, uid) as a decimal integer (PS3.5 B.2),
    at most 44 characters. The same UID under the same key always maps to the same new UID."""
    digest = hmac.new(key, uid.strip().encode("ascii", "replace"), hashlib.sha256).digest()
    return "2.25." + str(int.from_bytes(digest[:16], "big"))


def pseudonym(key: bytes, text: str, prefix: str) -> str:
    """A short, consistent replacement for a name that must stay distinguishable (an AE title under the
    Retain Device Identity Option's C): the prefix and 8 hex digits of HMAC-SHA256(key, text)."""
    return prefix + hmac.new(key, text.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:8].upper()


def date_shift_days(key: bytes) -> int:
    """The Modified Dates Option's shift (PS3.15 E.3.6): every date moves back by the same number of days,
    one to ten years, fixed by the key, so intervals between dates are kept."""
    digest = hmac.new(key, b"date-shift", hashlib.sha256).digest()
    return 365 + int.from_bytes(digest[:4], "big") % (9 * 365)


def shift_date(value: str, days: int, vr: str) -> str | None:
    """A DA or DT value moved back ``days`` days, the rest of a DT unchanged; None when the value is not a
    plain date (a range, a partial date): the caller empties it rather than keep it unchanged."""
    text = value.strip()
    if len(text) < 8 or not text[:8].isdigit() or (vr == "DA" and len(text) != 8):
        return None
    try:
        moved = date(int(text[:4]), int(text[4:6]), int(text[6:8])) - timedelta(days=days)
    except ValueError:
        return None
    return moved.strftime("%Y%m%d") + text[8:]


def identifying_tokens(values: list[str]) -> list[str]:
    """The identifying strings a Clean action must take out of free text: each value and, for person names,
    each component; longest first so that a full name goes before its parts."""
    tokens: set[str] = set()
    for value in values:
        for part in re.split(r"[\^=\\]", value):
            part = part.strip()
            if len(part) >= MIN_TOKEN:
                tokens.add(part)
        if len(value.strip()) >= MIN_TOKEN:
            tokens.add(value.strip())
    return sorted(tokens, key=len, reverse=True)


def scrub(text: str, tokens: list[str]) -> str:
    """PS3.15 E.1.1 action C for free text: the text with every identifying token replaced by '*'."""
    for token in tokens:
        if token.lower() in text.lower():
            text = re.sub(re.escape(token), "*", text, flags=re.IGNORECASE)
    return text
