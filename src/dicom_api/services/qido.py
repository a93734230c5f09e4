"""QIDO-RS (PS3.18 10.6): a parsed query searched in the owner's files, the results as DICOM JSON (Annex F);
and the owner's instances as WADO-RS and STOW-RS look them up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from sqlalchemy.orm import Session

from dicom_api.db import qido as db
from dicom_api.db.models import DicomFile
from dicom_api.db.repository import UserRepository
from dicom_api.dicom.qido import Between, DateTimeBetween, Equals, QidoQuery, Resource, Wildcard, parse_qido
from dicom_api.dicom.qido_attributes import NUMERIC_VRS, SINGLE_VALUED_VRS, Attribute, Level
from dicom_api.services.accounts import Principal, check_account

if TYPE_CHECKING:  # files.py imports this module for ingest's index columns
    from dicom_api.services.files import Transaction

__all__ = ["INDEX_VERSION", "Qido", "QidoResult", "Resource", "indexed_columns", "search", "warnings"]

INDEX_VERSION = 1  # bump when indexed_values reads more or differently: `reindex` then reads every header again
_COMPUTED = {
    0x00080061: db.MODALITIES,
    0x00201206: db.STUDY_SERIES,
    0x00201208: db.STUDY_INSTANCES,
    0x00201209: db.SERIES_INSTANCES,
}
# Columns ingest fills from the upload's summary (with its own fallbacks): indexed_columns leaves them alone.
_FROM_SUMMARY = frozenset(
    {0x0020000D, 0x0020000E, 0x00080018, 0x00080016, 0x00100010, 0x00100020, 0x00080060, 0x00080020}
    | {0x00280010, 0x00280011, 0x00280008}
)
_FOLDED_COLUMNS = {tag: db.FOLDED[c] for tag, c in db.COLUMN_OF_TAG.items() if c in db.FOLDED}
_MATCHED_AS = {0x00080061: "modality"}  # Modalities in Study: a study matches when one of its files does
_CHARSET = {"00080005": {"vr": "CS", "Value": ["ISO_IR 192"]}}  # every string below is UTF-8


class Qido:
    """A bearer's QIDO-RS searches and instance lookups. Each method checks the account (``check_account``)
    and runs its statements in one transaction. Blocking: call it through ``RunBlocking``."""

    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction

    def search(
        self,
        principal: Principal,
        resource: Resource,
        params: Sequence[tuple[str, str]],
        base_url: str,
        study_uid: str | None = None,
        series_uid: str | None = None,
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """The matches of the query ``params`` (percent-decoded) for ``resource`` under the path's UIDs, and
        the Warning header values owed; InvalidParameter (400) for a query that cannot be parsed."""
        with self.transaction() as session:
            owner = _owner(session, principal)
            query = parse_qido(params, resource)
            result = search(
                session, owner, query, base_url, study_uid=study_uid, series_uid=series_uid, share_id=_share(principal)
            )
        return result.items, warnings(query, result.remaining, urlsplit(base_url).netloc or "dicom-api")

    def instances(
        self, principal: Principal, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
    ) -> list[DicomFile]:
        """The bearer's newest file of each SOP instance of a study, series or instance, in series and SOP
        Instance UID order (detached rows); empty when there is none."""
        with self.transaction() as session:
            owner = _owner(session, principal)
            return db.instances(session, owner, study_uid, series_uid, sop_uid, share_id=_share(principal))

    def stored_sha256(self, principal: Principal, sop_uid: str) -> list[str]:
        """SHA-256 of each file the bearer stored as SOP instance ``sop_uid``, newest first (none through a share
        link, which stores nothing)."""
        if principal.share is not None:
            return []
        with self.transaction() as session:
            return db.stored_sha256(session, _owner(session, principal), sop_uid)


def _share(principal: Principal) -> str | None:
    return None if principal.share is None else principal.share.share_id


def _owner(session: Session, principal: Principal) -> str:
    """The bearer's checked account id, read in the caller's transaction."""
    return check_account(UserRepository(session).get(principal.claims.subject), principal).id


@dataclass(frozen=True)
class QidoResult:
    items: list[dict[str, Any]]  # DICOM JSON objects, keys ascending
    remaining: int  # matches after this page


def search(
    session: Session,
    owner_id: str,
    query: QidoQuery,
    base_url: str,
    *,
    study_uid: str | None = None,
    series_uid: str | None = None,
    share_id: str | None = None,
) -> QidoResult:
    """The owner's matches for ``query`` under the path's ``study_uid``/``series_uid``; ``base_url`` is the
    absolute DICOMweb root for each Retrieve URL (PS3.18 10.6.3.3)."""
    page = db.search(session, owner_id, _search(query, study_uid, series_uid), share_id)
    level = query.resource.level
    return QidoResult([_object(row, query.returned, level, base_url) for row in page.rows], page.remaining)


def warnings(query: QidoQuery, remaining: int, service: str) -> list[str]:
    """Values of the Warning headers owed for ``query`` (PS3.18 8.3.4.2, 8.3.4.4, 11.9.3.1)."""
    owed = []
    if query.fuzzy:
        owed.append(
            f"299 {service}: The fuzzymatching parameter is not supported. Only literal matching has been performed."
        )
    if query.ignored:
        names = ", ".join(name[:64] for name in query.ignored[:20])
        owed.append(f"299 {service}: The following query parameters are not supported and were ignored: {names}")
    if remaining:
        owed.append(f"299 {service}: There are {remaining} additional results that can be requested")
    return owed


def indexed_columns(values: dict[int, str | int | None]) -> dict[str, Any]:
    """The file columns of ``dicom.qido_attributes.indexed_values`` that ingest does not fill itself, and the
    upper-cased copies of names matched regardless of case."""
    columns = {db.COLUMN_OF_TAG[tag]: value for tag, value in values.items() if tag not in _FROM_SUMMARY}
    for tag, folded in _FOLDED_COLUMNS.items():
        value = values.get(tag)
        columns[folded] = value.upper() if isinstance(value, str) else None
    return columns


def _search(query: QidoQuery, study_uid: str | None, series_uid: str | None) -> db.Search:
    level = query.resource.level
    counted = {a.tag for a in query.returned if a.computed}
    return db.Search(
        level=int(level),
        filters=tuple(_filter(m.attribute, m.condition) for m in query.matches),
        columns=tuple(db.COLUMN_OF_TAG[a.tag] for a in query.returned if not a.computed),
        limit=query.limit,
        offset=query.offset,
        study_uid=study_uid,
        series_uid=series_uid,
        study_counts=bool(counted & {0x00080061, 0x00201206, 0x00201208}),
        series_counts=0x00201209 in counted and level >= Level.SERIES,
    )


def _filter(attribute: Attribute, condition: Equals | Wildcard | Between | DateTimeBetween) -> db.Filter:
    column = _MATCHED_AS.get(attribute.tag) or db.COLUMN_OF_TAG[attribute.tag]
    folded = db.FOLDED.get(column)
    if isinstance(condition, DateTimeBetween):
        return db.DateTimeBetween("study_date", "study_time", condition.low, condition.high)
    if isinstance(condition, Between):
        return db.Between(column, condition.low, condition.high)
    if isinstance(condition, Wildcard):
        return db.Pattern(folded, condition.pattern.upper()) if folded else db.Pattern(column, condition.pattern)
    if folded:
        return db.Equals(folded, tuple(str(v).upper() for v in condition.values))
    return db.Equals(column, condition.values)


def _object(row: dict[str, Any], returned: tuple[Attribute, ...], level: Level, base_url: str) -> dict[str, Any]:
    model: dict[str, Any] = dict(_CHARSET)
    for attribute in returned:
        value = row.get(_COMPUTED[attribute.tag] if attribute.computed else db.COLUMN_OF_TAG[attribute.tag])
        element = _element(attribute, value)
        if element is not None:
            model[f"{attribute.tag:08X}"] = element
    model["00081190"] = {"vr": "UR", "Value": [_retrieve_url(row, level, base_url)]}
    return {key: model[key] for key in sorted(model)}


def _element(attribute: Attribute, value: Any) -> dict[str, Any] | None:
    """An attribute in the DICOM JSON Model (PS3.18 F.2); empty, only when it is required (R)."""
    if value is None or value == "" or value == []:
        return {"vr": attribute.vr} if attribute.required else None
    if attribute.vr in NUMERIC_VRS:
        values: list[Any] = [int(value)]
    elif attribute.vr == "PN":
        values = [_person_name(name) for name in str(value).split("\\")]
    elif isinstance(value, list):
        values = value
    elif attribute.vr in SINGLE_VALUED_VRS:
        values = [str(value)]
    else:
        values = [v or None for v in str(value).split("\\")]
    return {"vr": attribute.vr, "Value": values}


def _person_name(name: str) -> dict[str, str] | None:
    """PS3.18 F.2.2: component groups by name, empty ones left out."""
    groups = dict(zip(("Alphabetic", "Ideographic", "Phonetic"), name.split("="), strict=False))
    kept = {key: text for key, text in groups.items() if text}
    return kept or None


def _retrieve_url(row: dict[str, Any], level: Level, base_url: str) -> str:
    url = f"{base_url.rstrip('/')}/studies/{quote(row['study_instance_uid'], safe='')}"
    if level >= Level.SERIES:
        url += f"/series/{quote(row['series_instance_uid'], safe='')}"
    if level >= Level.INSTANCE:
        url += f"/instances/{quote(row['sop_instance_uid'], safe='')}"
    return url
