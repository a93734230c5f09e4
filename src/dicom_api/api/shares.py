"""Handlers of share links (made, listed, read and revoked by their owner; opened by their holder) and of jobs."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Body, Path, Request, Response
from fastapi.responses import JSONResponse

from dicom_api.api.deps import ContextDep, PrincipalDep, WriterPrincipal
from dicom_api.api.middleware import entries
from dicom_api.api.schemas import (
    AuditEventOut,
    DeidentifyIn,
    JobOut,
    JobStartedOut,
    ShareCreatedOut,
    ShareDetailOut,
    SharedFileOut,
    SharedOut,
    ShareIn,
    ShareListOut,
    ShareOut,
)
from dicom_api.api.urls import public_base_url
from dicom_api.services.deidentify_study import deidentify_study, start
from dicom_api.services.jobs import StoredJob
from dicom_api.services.shares import Listed, Target, is_share_id

ShareId = Annotated[str, Path(description="The share's id (32 hexadecimal digits), not its token.")]
JobId = Annotated[str, Path(description="The job's id (32 hexadecimal digits).")]
StudyUid = Annotated[str, Path(pattern=r"^[0-9.]{1,64}$", description="Study Instance UID.")]
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def create_share(
    request: Request, body: ShareIn, principal: WriterPrincipal, context: ContextDep
) -> JSONResponse:
    """A share link for a study, a series or files of yours: read-only, expiring, revocable; optionally
    de-identified (a job makes the copies first: the link answers 409 until it is done) and behind a passcode.
    Its token is shown this once."""
    shares = context.shares
    expires_at = shares.expiry(body.expires_in)
    passcode_hash = await context.signin.passwords.hash(body.passcode) if body.passcode else None
    target = Target(body.study_uid, body.series_uid, tuple(body.file_ids or ()))
    file_ids = await context.run_blocking(shares.resolve, principal, target)
    secret, share = shares.new(principal, target.kind, expires_at, passcode_hash, body.deidentify)
    request.state.share_id = share.id  # the audit entry names the share made
    job = None
    if body.deidentify:
        audit = entries(request, "deidentify", 201)
        job = await context.run_blocking(start, context, principal, file_ids, body.options, body.key, audit, share)
    else:
        await context.run_blocking(shares.store, principal, share, file_ids)
    created = ShareCreatedOut(
        id=share.id,
        token=secret,
        url=f"{public_base_url(request)}/shared#{secret}",
        expires_at=share.expires_at,
        job=None if job is None else f"/jobs/{job.id}",
    )
    return JSONResponse(created.model_dump(mode="json"), status_code=201, headers=_NO_STORE)


def list_shares(principal: PrincipalDep, context: ContextDep) -> ShareListOut:
    """Your share links, newest first (revoked and expired ones too), each with its number of uses."""
    context.audit.flush()  # what this process recorded counts (a worker thread: it may wait for the writer)
    listed = context.shares.list(principal)
    return ShareListOut(items=[_out(item) for item in listed])


def get_share(share_id: ShareId, principal: PrincipalDep, context: ContextDep) -> ShareDetailOut:
    """One of your share links, with its latest uses from the audit trail: when, from where, what, answered how."""
    context.audit.flush()
    listed, uses = context.shares.get(principal, share_id)
    recent = [AuditEventOut.model_validate(e, from_attributes=True) for e in uses]
    return ShareDetailOut(**_out(listed).model_dump(), recent_uses=recent)


async def revoke_share(
    request: Request, share_id: ShareId, principal: WriterPrincipal, context: ContextDep
) -> Response:
    """Revoke one of your share links: it stops working at once, in every process (410 from then on)."""
    request.state.share_id = share_id if is_share_id(share_id) else None
    await context.run_blocking(context.shares.revoke, principal, share_id)
    return Response(status_code=204)


async def shared(request: Request, principal: PrincipalDep, context: ContextDep) -> SharedOut:
    """What a share link opens (with the link's token as the bearer): its files and where to read them."""
    rows = await context.run_blocking(context.shares.files, principal)
    assert principal.share is not None  # noqa: S101 - shares.files refuses anything else
    base = public_base_url(request)
    files = [
        SharedFileOut(
            file_id=r.id,
            study_instance_uid=r.study_instance_uid,
            series_instance_uid=r.series_instance_uid,
            sop_instance_uid=r.sop_instance_uid,
            modality=r.modality,
            png=f"{base}/download/png/{r.id}" if r.pixel_data_tag is not None else None,
            dicom=f"{base}/files/{r.id}/dicom",
        )
        for r in rows
    ]
    expires_at = principal.claims.expires_at
    return SharedOut.model_validate(
        {
            "share_id": principal.share.share_id,
            "expires_at": expires_at,
            "deidentified": principal.share.deidentified,
            "dicomweb": f"{base}/dicomweb",
            "files": files,
        }  # fmt: skip
    )


async def deidentify_study_job(
    request: Request,
    study: StudyUid,
    principal: WriterPrincipal,  # it stores files: not for a read-scoped personal token
    context: ContextDep,
    body: Annotated[DeidentifyIn | None, Body()] = None,
) -> JSONResponse:
    """De-identify a study of yours as a job (options and key as for one file): 202 with its status URL. Each
    instance becomes a new file of yours; the copies form one new study (UIDs mapped consistently)."""
    body = body or DeidentifyIn()
    audit = entries(request, "deidentify", 201)
    job = await context.run_blocking(deidentify_study, context, principal, study, body.options, body.key, audit)
    started = JobStartedOut(job_id=job.id, status_url=f"/jobs/{job.id}")
    return JSONResponse(started.model_dump(), status_code=202, headers={"Location": started.status_url})


async def get_job(job_id: JobId, principal: PrincipalDep, context: ContextDep) -> JobOut:
    """A job of yours: its state, progress and, when done, its result. Another's job is not found."""
    account = await context.run_blocking(context.files.account, principal)
    job = await context.run_blocking(context.jobs.get, account.id, job_id)
    return _job(job)


def _job(job: StoredJob) -> JobOut:
    return JobOut(id=job.id, kind=job.kind, state=job.state, done=job.done, total=job.total,
                  created_at=job.created_at, finished_at=job.finished_at, error=job.error,
                  result=json.loads(job.result) if job.result else None)  # fmt: skip


def _out(item: Listed) -> ShareOut:
    s = item.share
    return ShareOut(id=s.id, kind=s.kind, deidentified=s.deidentified, passcode=s.passcode_hash is not None,
                    created_at=s.created_at, expires_at=s.expires_at, revoked_at=s.revoked_at,
                    last_used_at=s.last_used_at, files=item.files, uses=item.uses,
                    job=None if s.job_id is None else f"/jobs/{s.job_id}")  # fmt: skip
