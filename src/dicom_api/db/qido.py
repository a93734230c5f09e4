"""QIDO-RS searches and the lookups of WADO-RS and STOW-RS, on the files table.

Studies and series are an owner's file rows grouped by their UIDs, never rows of their own: counts and
Modalities in Study are derived in the query, so no upload or delete racing another can leave them wrong, on
SQLite or PostgreSQL, and nothing needs repair. A page is chosen first (the distinct UIDs matching, in UID
order, through the owner's hierarchy index), then only its rows are aggregated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, and_, func, or_, select
from sqlalchemy.orm import Session

from dicom_api.db.models import DicomFile, ShareFile

FILES = cast(Table, DicomFile.__table__)
_KEYS = ("study_instance_uid", "series_instance_uid", "sop_instance_uid")  # one more per level

# The column of each searchable attribute (tag), as its value is stored and returned.
COLUMN_OF_TAG: dict[int, str] = {
    0x00080020: "study_date",
    0x00080030: "study_time",
    0x00080050: "accession_number",
    0x00080090: "referring_physician_name",
    0x00080201: "timezone_offset",
    0x00081030: "study_description",
    0x00100010: "patient_name",
    0x00100020: "patient_id",
    0x00100030: "patient_birth_date",
    0x00100040: "patient_sex",
    0x0020000D: "study_instance_uid",
    0x00200010: "study_id",
    0x00080060: "modality",
    0x00080021: "series_date",
    0x00080031: "series_time",
    0x0008103E: "series_description",
    0x0020000E: "series_instance_uid",
    0x00200011: "series_number",
    0x00400244: "pps_start_date",
    0x00400245: "pps_start_time",
    0x00080016: "sop_class_uid",
    0x00080018: "sop_instance_uid",
    0x00200013: "instance_number",
    0x00280010: "rows",
    0x00280011: "columns",
    0x00280100: "bits_allocated",
    0x00280008: "number_of_frames",
}
# Names matched regardless of case are matched on an upper-cased copy (Python's upper(), the same everywhere).
FOLDED = {"patient_name": "patient_name_upper", "referring_physician_name": "referring_physician_name_upper"}
# Computed values in a result row.
MODALITIES, STUDY_SERIES, STUDY_INSTANCES, SERIES_INSTANCES = (
    "modalities_in_study",
    "study_related_series",
    "study_related_instances",
    "series_related_instances",
)


@dataclass(frozen=True)
class Equals:
    column: str
    values: tuple[str | int, ...]


@dataclass(frozen=True)
class Pattern:
    """A DICOM wildcard pattern: ``*`` any run, ``?`` one character; every other character literal."""

    column: str
    pattern: str


@dataclass(frozen=True)
class Between:
    """Inclusive; ``high`` includes what it is a prefix of (a time ``1200`` includes 12:00:30)."""

    column: str
    low: str | None
    high: str | None


@dataclass(frozen=True)
class DateTimeBetween:
    """A date column and a time column as one range; a time of "" is the whole day."""

    date_column: str
    time_column: str
    low: tuple[str, str] | None
    high: tuple[str, str] | None


Filter = Equals | Pattern | Between | DateTimeBetween


@dataclass(frozen=True)
class Search:
    level: int  # 0 studies, 1 series, 2 instances
    filters: tuple[Filter, ...]
    columns: tuple[str, ...]  # stored columns to return
    limit: int
    offset: int
    study_uid: str | None = None
    series_uid: str | None = None
    study_counts: bool = False  # Modalities in Study, Number of Study Related Series and Instances
    series_counts: bool = False  # Number of Series Related Instances


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]  # column name (or a computed name above) -> value
    remaining: int  # matches after this page


def visible(owner_id: str, share_id: str | None = None) -> list[ColumnElement[bool]]:
    """The owner's files; through a share link, only those the share opens."""
    mine = [FILES.c.owner_id == owner_id]
    if share_id is not None:
        mine.append(FILES.c.id.in_(select(ShareFile.file_id).where(ShareFile.share_id == share_id)))
    return mine


def search(session: Session, owner_id: str, query: Search, share_id: str | None = None) -> Page:
    """One page of the owner's studies, series or instances matching ``query``, in UID order; through a share
    link (``share_id``), of the files it opens, counts included."""
    mine = visible(owner_id, share_id)
    keys = [FILES.c[name] for name in _KEYS[: query.level + 1]]
    dialect = session.get_bind().dialect.name
    conditions = [*mine, *(key.is_not(None) for key in keys)]
    if query.study_uid is not None:
        conditions.append(FILES.c.study_instance_uid == query.study_uid)
    if query.series_uid is not None:
        conditions.append(FILES.c.series_instance_uid == query.series_uid)
    conditions += [_clause(f, dialect) for f in query.filters]
    matching = select(*keys).where(*conditions).distinct()
    page = [tuple(r) for r in session.execute(matching.order_by(*keys).limit(query.limit).offset(query.offset))]
    rows = _aggregate(session, mine, keys, page, [*_values(query.columns), *_counts(query, dialect)])
    remaining = 0
    if len(page) == query.limit:  # a short page is the last: no count needed
        total = session.scalar(select(func.count()).select_from(matching.subquery())) or 0
        remaining = max(int(total) - query.offset - len(page), 0)
    if query.study_counts and query.level == 0:
        for row in rows:
            row[MODALITIES] = sorted(filter(None, (row[MODALITIES] or "").split(",")))
    elif query.study_counts and rows:
        _add_study_counts(session, mine, rows)
    if query.series_counts and query.level > 1 and rows:
        _add_series_counts(session, mine, rows)
    return Page(rows, remaining)


def _values(columns: Sequence[str]) -> list[Any]:
    """Each attribute's value over the instances grouped: they agree but for bad data, or for a SOP instance
    stored twice with different values (the greater is returned)."""
    return [func.max(FILES.c[c]).label(c) for c in dict.fromkeys(columns) if c not in _KEYS]


def _counts(query: Search, dialect: str) -> list[Any]:
    """The counts (and modalities, joined by commas, which no code string holds) of the level's own rows: the
    page's aggregate spans them whole (filters chose the page, not its rows)."""
    series, sop = FILES.c.series_instance_uid.distinct(), FILES.c.sop_instance_uid.distinct()
    if query.level == 0 and query.study_counts:
        modality = FILES.c.modality.distinct()
        joined = func.group_concat(modality) if dialect == "sqlite" else func.string_agg(modality, ",")
        return [
            func.count(series).label(STUDY_SERIES),
            func.count(sop).label(STUDY_INSTANCES),
            joined.label(MODALITIES),
        ]
    if query.level == 1 and query.series_counts:
        return [func.count(sop).label(SERIES_INSTANCES)]
    return []


def _aggregate(
    session: Session, mine: list[ColumnElement[bool]], keys: list[Any], page: list[tuple[Any, ...]], values: list[Any]
) -> list[dict[str, Any]]:
    """The page's rows, found by their UIDs through the hierarchy index, each level's named (a join on the
    page, or the last UID alone, let SQLite scan all of the owner's rows)."""
    if not page:
        return []
    named = [key.in_(sorted({uids[at] for uids in page})) for at, key in enumerate(keys)]
    query = select(*keys, *values).where(*mine, *named).group_by(*keys)
    found = {tuple(r[: len(keys)]): dict(r._mapping) for r in session.execute(query)}
    return [found[key] for key in page if key in found]


def _add_study_counts(session: Session, visible: list[ColumnElement[bool]], rows: list[dict[str, Any]]) -> None:
    """A parent study's Modalities in Study and its numbers of series and instances."""
    uids = sorted({row["study_instance_uid"] for row in rows})
    study, sop = FILES.c.study_instance_uid, FILES.c.sop_instance_uid
    mine = [*visible, study.in_(uids)]
    modalities: dict[str, list[str]] = {}
    listed = select(study, FILES.c.modality).where(*mine, FILES.c.modality.is_not(None)).distinct()
    for uid, modality in session.execute(listed.order_by(study, FILES.c.modality)):
        modalities.setdefault(uid, []).append(modality)
    counts = select(study, func.count(FILES.c.series_instance_uid.distinct()), func.count(sop.distinct()))
    found = {uid: (s, i) for uid, s, i in session.execute(counts.where(*mine).group_by(study))}
    for row in rows:
        row[MODALITIES] = modalities.get(row["study_instance_uid"], [])
        series, instances = found.get(row["study_instance_uid"], (0, 0))
        row.update({STUDY_SERIES: series, STUDY_INSTANCES: instances})


def _add_series_counts(session: Session, mine: list[ColumnElement[bool]], rows: list[dict[str, Any]]) -> None:
    studies = sorted({row["study_instance_uid"] for row in rows})
    uids = sorted({row["series_instance_uid"] for row in rows})
    study, series = FILES.c.study_instance_uid, FILES.c.series_instance_uid
    counts = (
        select(study, series, func.count(FILES.c.sop_instance_uid.distinct()))
        .where(*mine, study.in_(studies), series.in_(uids))
        .group_by(study, series)
    )
    found = {(st, se): n for st, se, n in session.execute(counts)}
    for row in rows:
        row[SERIES_INSTANCES] = found.get((row["study_instance_uid"], row["series_instance_uid"]), 0)


def _clause(f: Filter, dialect: str) -> ColumnElement[bool]:
    if isinstance(f, Equals):
        column = FILES.c[f.column]
        return column == f.values[0] if len(f.values) == 1 else column.in_(f.values)
    if isinstance(f, Pattern):
        return _pattern(FILES.c[f.column], f.pattern, dialect)
    if isinstance(f, Between):
        return and_(*_between(FILES.c[f.column], f.low, f.high))
    return _date_time(f)


def _pattern(column: Any, pattern: str, dialect: str) -> ColumnElement[bool]:
    """Case-sensitive everywhere (PS3.4 C.2.2.2.4): SQLite's LIKE ignores ASCII case, its GLOB does not and
    shares DICOM's wildcards (only ``[`` needs escaping)."""
    if dialect == "sqlite":
        return cast(ColumnElement[bool], column.op("GLOB")(pattern.replace("[", "[[]")))
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return cast(ColumnElement[bool], column.like(escaped.replace("*", "%").replace("?", "_"), escape="\\"))


def _between(column: Any, low: str | None, high: str | None) -> list[ColumnElement[bool]]:
    clauses = [] if low is None else [column >= low]
    if high is not None:
        clauses.append(column < _after(high) if high.isdigit() else column <= high)
    return clauses


def _after(value: str) -> str:
    """The first string of digits of the same length after ``value`` and everything it is a prefix of; equal
    lengths of digits compare alike in every collation (PostgreSQL's may skip punctuation)."""
    return str(int(value) + 1).zfill(len(value))


def _date_time(f: DateTimeBetween) -> ColumnElement[bool]:
    day, time = FILES.c[f.date_column], func.coalesce(FILES.c[f.time_column], "")
    clauses: list[ColumnElement[bool]] = []
    if f.low is not None:
        low_day, low_time = f.low
        clauses.append(or_(day > low_day, and_(day == low_day, *_between(time, low_time, None))))
    if f.high is not None:
        high_day, high_time = f.high
        clauses.append(or_(day < high_day, and_(day == high_day, *_between(time, None, high_time or None))))
    return and_(*clauses)


def instances(
    session: Session,
    owner_id: str,
    study_uid: str,
    series_uid: str | None = None,
    sop_uid: str | None = None,
    share_id: str | None = None,
) -> list[DicomFile]:
    """The owner's files of a study, series or instance for WADO-RS, in series and SOP Instance UID order; of a
    SOP instance stored more than once, the newest only. Empty when the owner has none. Through a share link
    (``share_id``), of the files it opens."""
    conditions = [*visible(owner_id, share_id), DicomFile.study_instance_uid == study_uid]
    if series_uid is not None:
        conditions.append(DicomFile.series_instance_uid == series_uid)
    if sop_uid is not None:
        conditions.append(DicomFile.sop_instance_uid == sop_uid)
    query = (
        select(DicomFile)
        .where(*conditions)
        .order_by(
            DicomFile.series_instance_uid, DicomFile.sop_instance_uid, DicomFile.created_at.desc(), DicomFile.id.desc()
        )
    )
    newest: dict[tuple[str | None, str | None], DicomFile] = {}
    for row in session.scalars(query):
        newest.setdefault((row.series_instance_uid, row.sop_instance_uid), row)
    return list(newest.values())


def stored_sha256(session: Session, owner_id: str, sop_uid: str) -> list[str]:
    """SHA-256 of each file the owner stored as SOP instance ``sop_uid``, newest first (STOW-RS duplicates)."""
    query = (
        select(FILES.c.sha256)
        .where(FILES.c.owner_id == owner_id, FILES.c.sop_instance_uid == sop_uid)
        .order_by(FILES.c.created_at.desc(), FILES.c.id.desc())
    )
    return list(session.scalars(query))


def pending_reindex(session: Session, version: int, after: str, limit: int) -> Sequence[Any]:
    """Files indexed by an older version than ``version``, after file id ``after``, in id order: (id,
    header_length, size_bytes, trailer_offset)."""
    query: Select[Any] = (
        select(FILES.c.id, FILES.c.header_length, FILES.c.size_bytes, FILES.c.trailer_offset)
        .where(FILES.c.index_version < version, FILES.c.id > after)
        .order_by(FILES.c.id)
        .limit(limit)
    )
    return session.execute(query).all()


def set_indexed(session: Session, file_id: str, version: int, values: dict[str, Any]) -> None:
    """Write a file's indexed values and the version that computed them."""
    session.execute(FILES.update().where(FILES.c.id == file_id).values(index_version=version, **values))
