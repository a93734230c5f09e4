"""DICOMweb's store and search side: STOW-RS (PS3.18 10.5), QIDO-RS (10.6) through the index, and DELETE of a
study, series or instance (not in PS3.18; as Microsoft's DICOM server has it and Orthanc's client sends it).

Failure reasons (PS3.18 Table I.2-2 names ranges; the codes in them follow Microsoft's DICOM server, the one
DICOMweb server that documents one for each case here):
- 0xA700 (42752) out of resources: the instance is over a size or inflation limit;
- 0xA901 (43265) the instance's Study Instance UID is not the one of the request's path (MS MismatchStudyInstanceUid;
  A9xx: "data set does not match");
- 0xB00E (45070) the SOP Instance UID is stored already with other bytes and duplicates are rejected (MS
  SopInstanceAlreadyExists; 0x0111 "duplicate SOP instance" is a DIMSE-N status, PS3.7 C.4);
- 0xC000 (49152) cannot understand: not DICOM, or without the UIDs an instance is stored and found by.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from dicom_api.db.models import User
from dicom_api.db.repository import FileRepository
from dicom_api.dicom.inspect import DicomSummary
from dicom_api.dicom.qido import Resource
from dicom_api.dicom.xml_model import xml_model
from dicom_api.errors import BadRequest, PayloadTooLarge, RenderLimitExceeded
from dicom_api.services.accounts import Principal
from dicom_api.services.audit import AuditEntry
from dicom_api.services.files import Admission, Files, Transaction
from dicom_api.services.qido import Qido

OUT_OF_RESOURCES = 0xA700
STUDY_MISMATCH = 0xA901
DUPLICATE = 0xB00E
CANNOT_UNDERSTAND = 0xC000
_CONFLICTS = frozenset({STUDY_MISMATCH, DUPLICATE})  # none stored for these reasons alone: 409, else 400
Duplicates = Literal["reject", "replace"]


@dataclass(frozen=True)
class Outcome:
    """One instance of a STOW-RS request: stored (``reason`` None, ``file_id`` set) or failed with ``reason``.
    The UIDs are those of the data set, None when it could not be read."""

    sop_class_uid: str | None
    sop_instance_uid: str | None
    study_uid: str | None = None
    series_uid: str | None = None
    reason: int | None = None
    file_id: str | None = None


class Refused(Exception):
    """An instance refused with a failure reason (PS3.18 Table I.2-2)."""

    def __init__(self, reason: int, summary: DicomSummary | None = None) -> None:
        super().__init__(f"refused with {reason:#06x}")
        self.reason, self.summary = reason, summary


class DicomwebStore:
    """The bearer's studies, as DICOMweb writes and searches them. Blocking: call it through ``RunBlocking``."""

    def __init__(self, files: Files, qido: Qido, transaction: Transaction, duplicates: Duplicates) -> None:
        self.files = files
        self.qido = qido
        self.transaction = transaction
        self.duplicates = duplicates

    def store(
        self,
        principal: Principal,
        staged: Path,
        size: int,
        sha256: str,
        study_uid: str | None,
        audit: Callable[[str], AuditEntry],
    ) -> Outcome:
        """One part of a STOW-RS request, ingested as an upload is (``staged`` is always consumed). Identical
        bytes stored again under the same SOP Instance UID succeed without a second copy."""

        def admit(account: User, summary: DicomSummary) -> Admission:
            if not (summary.sop_instance_uid and summary.study_instance_uid and summary.series_instance_uid):
                raise Refused(CANNOT_UNDERSTAND, summary)
            if study_uid is not None and summary.study_instance_uid != study_uid:
                raise Refused(STUDY_MISMATCH, summary)
            return self._admission(account, summary, sha256)

        try:
            row = self.files.ingest(principal, staged, size, sha256, audit, admit)
        except Refused as refused:
            s = refused.summary
            uids = (s.sop_class_uid, s.sop_instance_uid) if s else (None, None)
            return Outcome(*uids, reason=refused.reason)
        except (PayloadTooLarge, RenderLimitExceeded):
            return Outcome(None, None, reason=OUT_OF_RESOURCES)
        except BadRequest:  # not DICOM, or a DICOM file the upload would refuse too
            return Outcome(None, None, reason=CANNOT_UNDERSTAND)
        return Outcome(
            row.sop_class_uid, row.sop_instance_uid, row.study_instance_uid, row.series_instance_uid, file_id=row.id
        )

    def _admission(self, account: User, summary: DicomSummary, sha256: str) -> Admission:
        with self.transaction() as session:
            stored = FileRepository(session, account.id).by_sop(str(summary.sop_instance_uid))
        same = next((row for row in stored if row.sha256 == sha256), None)
        if same is not None or not stored:
            return Admission(existing=same)
        if self.duplicates == "reject":
            raise Refused(DUPLICATE, summary)
        return Admission(replaces=tuple(row.id for row in stored))

    def search(
        self,
        principal: Principal,
        resource: str,
        params: Sequence[tuple[str, str]],
        base_url: str,
        study_uid: str | None = None,
        series_uid: str | None = None,
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """QIDO-RS (PS3.18 10.6): the matches of ``resource`` ("studies", "series" or "instances") under the
        path's UIDs, and the Warning header values owed. InvalidParameter (400) for an invalid query."""
        found = _resource(resource, study_uid, series_uid)
        return self.qido.search(principal, found, params, base_url, study_uid, series_uid)

    def delete(
        self,
        principal: Principal,
        study_uid: str,
        series_uid: str | None,
        sop_uid: str | None,
        audit: Callable[[str], AuditEntry],
    ) -> int:
        """Every file of the study, series or instance; FileNotFound (404) when the bearer has none."""
        return self.files.delete_instances(principal, study_uid, series_uid, sop_uid, audit)


def _resource(name: str, study_uid: str | None, series_uid: str | None) -> Resource:
    if name == "studies":
        return Resource.STUDIES
    if name == "series":
        return Resource.STUDY_SERIES if study_uid else Resource.SERIES
    if series_uid:
        return Resource.SERIES_INSTANCES
    return Resource.STUDY_INSTANCES if study_uid else Resource.INSTANCES


def stow_status(outcomes: Sequence[Outcome]) -> int:
    """PS3.18 Table 10.5.3-1: 200 all stored, 202 some, 409 none for a conflict (a study mismatch or a
    duplicate), 400 none otherwise."""
    stored = sum(1 for o in outcomes if o.reason is None)
    if stored == len(outcomes):
        return 200
    if stored:
        return 202
    return 409 if any(o.reason in _CONFLICTS for o in outcomes) else 400


def stow_response(outcomes: Sequence[Outcome], base_url: str, study_uid: str | None) -> dict[str, Any]:
    """The Store Instances Response Module (PS3.18 Annex I, Table I.2-1) as a DICOM JSON object: the study's
    Retrieve URL when one study was stored in, each stored instance and its Retrieve URL, each failure and
    its reason. Referenced SOP Sequence is always present (Orthanc's client requires it)."""
    stored = [o for o in outcomes if o.reason is None]
    studies = {o.study_uid for o in stored} if study_uid is None else {study_uid}
    model: dict[str, Any] = {}
    if len(studies) == 1 and None not in studies:
        model["00081190"] = _url([base_url, "studies", next(iter(studies))])
    failed = [_item(o, "00081197", {"vr": "US", "Value": [o.reason]}) for o in outcomes if o.reason is not None]
    if failed:
        model["00081198"] = {"vr": "SQ", "Value": failed}
    referenced = [_item(o, "00081190", _url(_instance_path(base_url, o))) for o in stored]
    model["00081199"] = {"vr": "SQ", "Value": referenced} if referenced else {"vr": "SQ"}
    return model


def stow_xml(model: dict[str, Any]) -> bytes:
    """The same response as application/dicom+xml (PS3.19 A.1)."""
    return xml_model(model)


def _item(o: Outcome, tag: str, element: dict[str, Any]) -> dict[str, Any]:
    return {
        "00081150": _uid(o.sop_class_uid),
        "00081155": _uid(o.sop_instance_uid),
        tag: element,
    }


def _uid(value: str | None) -> dict[str, Any]:
    return {"vr": "UI", "Value": [value]} if value else {"vr": "UI"}


def _url(parts: Sequence[str | None]) -> dict[str, Any]:
    base, *rest = parts
    return {"vr": "UR", "Value": ["/".join([str(base).rstrip("/"), *(quote(str(p), safe="") for p in rest)])]}


def _instance_path(base_url: str, o: Outcome) -> list[str | None]:
    return [base_url, "studies", o.study_uid, "series", o.series_uid, "instances", o.sop_instance_uid]
