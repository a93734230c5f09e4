"""QIDO-RS query parameters (PS3.18 8.3.4) parsed into a typed query: what to match, what to return, which page.

Matching follows PS3.4 C.2.2.2: single value, universal (empty or ``*``), wildcard (``*``, ``?``) on string
VRs, UID lists, and ranges on dates and times, Study Date and Study Time combined.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import cast

from pydicom.datadict import dictionary_has_tag, tag_for_keyword

from dicom_api.dicom.qido_attributes import ATTRIBUTES, UID_OF_LEVEL, Attribute, Level
from dicom_api.errors import InvalidParameter

MAX_LIMIT = 1000  # results per page (PS3.18 10.6.5: declared in the conformance statement)
MAX_VALUES = 1000  # values in one list match
MAX_VALUE_LENGTH = 200  # characters of one value (the longest indexed value is a 64-character UID or a name)
WILDCARD_VRS = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})
RANGE_VRS = frozenset({"DA", "TM", "DT"})
STUDY_DATE, STUDY_TIME, MODALITIES_IN_STUDY = 0x00080020, 0x00080030, 0x00080061
_TAG = re.compile(r"[0-9A-Fa-f]{8}")
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")
_TIME = re.compile(r"([01][0-9]|2[0-3])([0-5][0-9]([0-5][0-9](\.[0-9]{1,6})?)?)?")
_DATETIME = re.compile(
    r"[0-9]{4}([0-9]{2}([0-9]{2}([0-9]{2}([0-9]{2}([0-9]{2}(\.[0-9]{1,6})?)?)?)?)?)?([+-](0[0-9]|1[0-4])[0-5][0-9])?"
)
_RESERVED = frozenset({"limit", "offset", "includefield", "fuzzymatching"})


class Resource(enum.Enum):
    """The six QIDO-RS resources (PS3.18 Table 10.6.1-2): their level and the parent levels they add
    (10.6.3.3.2-3)."""

    STUDIES = (Level.STUDY, ())
    SERIES = (Level.SERIES, (Level.STUDY,))
    STUDY_SERIES = (Level.SERIES, ())
    INSTANCES = (Level.INSTANCE, (Level.STUDY, Level.SERIES))
    STUDY_INSTANCES = (Level.INSTANCE, (Level.SERIES,))
    SERIES_INSTANCES = (Level.INSTANCE, ())

    @property
    def level(self) -> Level:
        return cast(Level, self.value[0])

    @property
    def parents(self) -> tuple[Level, ...]:
        return cast(tuple[Level, ...], self.value[1])


@dataclass(frozen=True)
class Equals:
    """Single value or list of UIDs (or codes): any of them (PS3.4 C.2.2.2.1, C.2.2.2.2)."""

    values: tuple[str | int, ...]


@dataclass(frozen=True)
class Wildcard:
    """``*`` any run of characters, ``?`` one character (PS3.4 C.2.2.2.4)."""

    pattern: str


@dataclass(frozen=True)
class Between:
    """Inclusive range, either end open (PS3.4 C.2.2.2.5)."""

    low: str | None
    high: str | None


@dataclass(frozen=True)
class DateTimeBetween:
    """Study Date and Study Time matched together as one date-time range (PS3.4 C.2.2.2.5.1); a time bound is
    "" where only the date was given."""

    low: tuple[str, str] | None
    high: tuple[str, str] | None


Condition = Equals | Wildcard | Between | DateTimeBetween


@dataclass(frozen=True)
class Match:
    attribute: Attribute
    condition: Condition


@dataclass(frozen=True)
class QidoQuery:
    resource: Resource
    matches: tuple[Match, ...]
    returned: tuple[Attribute, ...]  # ascending tags
    limit: int
    offset: int
    fuzzy: bool = False  # asked for and not done: literal matching only (PS3.18 8.3.4.2)
    ignored: tuple[str, ...] = field(default=())  # keys of real attributes neither matched on nor returned


def parse_qido(params: Sequence[tuple[str, str]], resource: Resource, *, skip: Collection[str] = ()) -> QidoQuery:
    """Parse percent-decoded query parameters (PS3.18 8.3.4); InvalidParameter (400) for invalid syntax.
    Parameters named in ``skip`` (e.g. a token) are left to the caller."""
    level, keys, values = resource.level, [], {}
    include: set[int] = set()
    include_all, fuzzy, limit, offset = False, False, MAX_LIMIT, 0
    ignored: list[str] = []
    for name, value in params:
        if name in skip:
            continue
        if name == "limit":
            limit = min(_integer(name, value, minimum=1), MAX_LIMIT)
        elif name == "offset":
            offset = _integer(name, value, minimum=0)
        elif name == "fuzzymatching":
            fuzzy = _boolean(name, value)
        elif name == "includefield":
            for item in value.split(","):
                if item.strip() == "all":
                    include_all = True
                    continue
                attribute = _attribute(item.strip(), level)
                if attribute is None:
                    ignored.append(item.strip())
                else:
                    include.add(attribute.tag)
        else:
            attribute = _attribute(name, level)
            if attribute is None or not _matchable(attribute, level):
                ignored.append(name)
            elif attribute.tag in values:
                raise InvalidParameter(f"The query parameter {name} is given more than once.")
            else:
                keys.append(attribute)
                values[attribute.tag] = value
    matches = _matches(keys, values)
    returned = _returned(resource, include | set(values), include_all)
    return QidoQuery(resource, matches, returned, limit, offset, fuzzy, tuple(dict.fromkeys(ignored)))


def _attribute(name: str, level: Level) -> Attribute | None:
    """The searchable attribute ``name`` (keyword or tag, PS3.18 8.3.4.1) at or above ``level``; None for a
    real attribute that is not; InvalidParameter for a name that is no attribute."""
    tags = [_tag(part, name) for part in name.split(".")]
    if len(tags) > 1:
        return None  # a sequence path: no nested attribute is indexed
    attribute = ATTRIBUTES.get(tags[0])
    return None if attribute is None or attribute.level > level else attribute


def _matchable(attribute: Attribute, level: Level) -> bool:
    """Of the computed attributes only Modalities in Study is matched, at the study level (as Orthanc does)."""
    return not attribute.computed or (attribute.tag == MODALITIES_IN_STUDY and level == Level.STUDY)


def _tag(part: str, name: str) -> int:
    if _TAG.fullmatch(part):
        return int(part, 16)
    tag = tag_for_keyword(part) if part.isidentifier() else None
    if tag is None or not dictionary_has_tag(tag):
        if name.lower() in _RESERVED:
            raise InvalidParameter(f"The query parameter {name} is misspelt: its name is lower case.")
        raise InvalidParameter(
            f"The query parameter {name[:64]!r} is neither a DICOM attribute keyword nor a tag (8 hex digits)."
        )
    return tag


def _matches(keys: list[Attribute], values: dict[int, str]) -> tuple[Match, ...]:
    date_value, time_value = values.get(STUDY_DATE, ""), values.get(STUDY_TIME, "")
    combined = _combined(date_value, time_value)
    matches = [] if combined is None else [Match(ATTRIBUTES[STUDY_DATE], combined)]
    for attribute in keys:
        if combined is not None and attribute.tag in (STUDY_DATE, STUDY_TIME):
            continue
        condition = _condition(attribute, values[attribute.tag])
        if condition is not None:
            matches.append(Match(attribute, condition))
    return tuple(matches)


def _condition(attribute: Attribute, value: str) -> Condition | None:
    """None for universal matching (empty, or ``*`` alone): the attribute is returned, not matched."""
    if value in ("", "*"):
        return None
    if len(value) > MAX_VALUE_LENGTH and attribute.vr != "UI":
        raise InvalidParameter(f"The value of {attribute.keyword} is too long.")
    if attribute.vr in RANGE_VRS:
        return _range(attribute, value)
    if attribute.vr == "UI":
        return Equals(tuple(_uid(attribute, uid) for uid in _list(attribute, value)))
    if attribute.vr in ("IS", "US"):
        return Equals(tuple(_integer(attribute.keyword, v, minimum=None) for v in _list(attribute, value)))
    if attribute.vr in WILDCARD_VRS and ("*" in value or "?" in value):
        return Wildcard(value)
    if attribute.vr == "CS":
        return Equals(tuple(_list(attribute, value)))
    return Equals((value,))


def _list(attribute: Attribute, value: str) -> list[str]:
    """A list of values separated by commas (PS3.18 8.3.4.1) or backslashes (sent by OHIF)."""
    items = [item.strip() for item in re.split(r"[,\\]", value)]
    items = [item for item in items if item]
    if not items or len(items) > MAX_VALUES:
        raise InvalidParameter(f"The value of {attribute.keyword} must be a list of 1 to {MAX_VALUES} values.")
    return items


def _uid(attribute: Attribute, value: str) -> str:
    if len(value) > 64 or not _UID.fullmatch(value):
        raise InvalidParameter(f"The value of {attribute.keyword} is not a list of UIDs.")
    return value


def _range(attribute: Attribute, value: str) -> Between:
    """``A``, ``A-B``, ``-B``, ``A-`` of a DA, TM or DT value (PS3.4 C.2.2.2.5), each end validated."""
    if attribute.vr == "DT":
        low, high = _split_datetime(value)
    elif value.count("-") == 1:
        low, high = (part or None for part in value.split("-"))
    else:
        low, high = (value, value) if "-" not in value else (None, None)
    if low is None and high is None:
        raise InvalidParameter(f"The value of {attribute.keyword} is not a {attribute.vr} value or range.")
    for end in (low, high):
        if end is not None:
            _check_moment(attribute, end)
    if low is not None and high is not None and attribute.vr == "DA" and low > high:
        raise InvalidParameter(f"The range of {attribute.keyword} ends before it starts.")
    return Between(low, high)


def _split_datetime(value: str) -> tuple[str | None, str | None]:
    """A DT value or range whose ends may carry a ``-hhmm`` offset: the split that leaves valid ends."""
    if _DATETIME.fullmatch(value):
        return value, value
    for at, char in enumerate(value):
        if char == "-":
            low, high = value[:at] or None, value[at + 1 :] or None
            if (low or high) and all(end is None or _DATETIME.fullmatch(end) for end in (low, high)):
                return low, high
    return None, None


def _check_moment(attribute: Attribute, value: str) -> None:
    if attribute.vr == "DA":
        valid = _is_date(value)
    else:
        valid = (_TIME if attribute.vr == "TM" else _DATETIME).fullmatch(value) is not None
    if not valid:
        raise InvalidParameter(f"The value of {attribute.keyword} is not a valid {attribute.vr} value or range.")


def _is_date(value: str) -> bool:
    if len(value) != 8 or not value.isdigit():
        return False
    try:
        date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return False
    return True


def _combined(date_value: str, time_value: str) -> DateTimeBetween | None:
    """Study Date with Study Time, both matched, as one range (PS3.18 8.3.4.1.1): from the first date at the
    first time to the last date at the last time."""
    if date_value in ("", "*") or time_value in ("", "*"):
        return None
    dates = _range(ATTRIBUTES[STUDY_DATE], date_value)
    times = _range(ATTRIBUTES[STUDY_TIME], time_value)
    low = None if dates.low is None else (dates.low, times.low or "")
    high = None if dates.high is None else (dates.high, times.high or "")
    return DateTimeBetween(low, high)


def _returned(resource: Resource, asked: set[int], include_all: bool) -> tuple[Attribute, ...]:
    """The level's and added parents' default attributes, everything at or above the level with ``all``, and
    whatever was matched on or included (PS3.18 10.6.3.3)."""
    levels = {resource.level, *resource.parents}
    chosen = {
        a.tag
        for a in ATTRIBUTES.values()
        if (a.level in levels and a.default) or (include_all and a.level <= resource.level)
    }
    chosen |= asked | {UID_OF_LEVEL[lv] for lv in Level if lv <= resource.level}
    return tuple(ATTRIBUTES[t] for t in sorted(chosen) if _available(ATTRIBUTES[t], resource))


def _available(attribute: Attribute, resource: Resource) -> bool:
    """Counts are kept for the level and added parents; a parent's count through includefield is not."""
    return not attribute.computed or attribute.level == resource.level or attribute.level in resource.parents


def _integer(name: str, value: str, *, minimum: int | None) -> int:
    text = value.strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,12}", text) or (minimum is not None and int(text) < minimum):
        bound = "" if minimum is None else f" of at least {minimum}"
        raise InvalidParameter(f"The value of {name} must be an integer{bound}.")
    return int(text)


def _boolean(name: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise InvalidParameter(f"The value of {name} must be true or false.")
    return value.lower() == "true"
