"""A study (or any set of the caller's files) de-identified as a job: one instance after another, each through
the single-file use case (services/deidentify.py), so memory stays that of one instance whatever the study's
size, and the UIDs map consistently (the same key for every instance: the copies form one study)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from dicom_api.db.models import Share
from dicom_api.errors import AppError, NotFound
from dicom_api.services.accounts import Principal
from dicom_api.services.audit import AuditEntry
from dicom_api.services.context import AppContext
from dicom_api.services.deidentify import deidentify_secret, deidentify_stored, options
from dicom_api.services.jobs import Progress, StoredJob
from dicom_api.services.shares import Target

KIND = "deidentify"
AuditOf = Callable[[str], AuditEntry]  # the audit entry of one instance de-identified, by its source file id


def deidentify_study(
    context: AppContext, principal: Principal, study_uid: str, names: list[str], label: str | None, audit: AuditOf
) -> StoredJob:
    """Start de-identifying the caller's study: the job's row, queued. Options, key and study are checked
    now, so a mistake is the request's 4xx, not a failed job. Blocking: call it through ``RunBlocking``."""
    file_ids = context.shares.resolve(principal, Target(study_uid=study_uid))
    return start(context, principal, file_ids, names, label, audit)


def start(
    context: AppContext,
    principal: Principal,
    file_ids: Sequence[str],
    names: list[str],
    label: str | None,
    audit: AuditOf,
    share: Share | None = None,
) -> StoredJob:
    """Start de-identifying ``file_ids`` (the caller's); with ``share``, store it with the job and let it open
    the copies once the job has made them."""
    options(names)  # an unknown option is refused before anything is queued
    deidentify_secret(context.settings)  # and a server without the secret says so now
    if not file_ids:
        raise NotFound("There is nothing to de-identify.")
    ids = list(file_ids)

    def work(progress: Progress) -> dict[str, Any]:
        result = run(context, principal, ids, names, label, audit, progress)
        if share is not None:
            context.shares.fill(share.id, result["file_ids"])
        return result

    def also(session: Session, job_id: str) -> None:
        if share is not None:
            share.job_id = job_id
            context.shares.add(session, share)

    owner = principal.claims.subject
    return context.jobs.start(owner, KIND, len(ids), work, also if share is not None else None)


def run(
    context: AppContext,
    principal: Principal,
    file_ids: list[str],
    names: list[str],
    label: str | None,
    audit: AuditOf,
    progress: Progress,
) -> dict[str, Any]:
    """Each file de-identified into a new file of the caller's; an instance refused (burned-in annotation,
    deleted meanwhile) is listed with the reason and the others go on. The result names the copies' studies."""
    made: list[str] = []
    studies: list[str] = []
    errors: list[dict[str, str]] = []
    for file_id in file_ids:
        try:
            row = deidentify_stored(context, principal, file_id, names, label, audit)
        except AppError as exc:
            errors.append({"file_id": file_id, "error": exc.message})
        else:
            made.append(row.id)
            if row.study_instance_uid and row.study_instance_uid not in studies:
                studies.append(row.study_instance_uid)
        progress.step()
    study = studies[0] if len(studies) == 1 else None
    return {"study_uid": study, "study_uids": studies, "file_ids": made, "errors": errors}
