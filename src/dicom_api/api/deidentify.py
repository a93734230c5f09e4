"""Handlers of de-identification (PS3.15 Annex E): a stored copy, or a download made on the fly."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Query, Request, Response
from fastapi.responses import JSONResponse

from dicom_api.api.deps import ContextDep, PrincipalDep, WriterPrincipal
from dicom_api.api.files import FileId, created
from dicom_api.api.middleware import audited
from dicom_api.api.schemas import DeidentifyIn
from dicom_api.services.deidentify import deidentified_bytes, deidentify_stored

_OPTION = "An option of PS3.15 Annex E (see POST /files/{file_id}/deidentify); repeat for several."
_KEY = "A label of your own for a separate UID mapping (default: your default key)."


async def deidentify(
    request: Request,
    file_id: FileId,
    principal: WriterPrincipal,  # it stores a file: not for a read-scoped personal token
    context: ContextDep,
    body: Annotated[DeidentifyIn | None, Body()] = None,
) -> JSONResponse:
    """Store a de-identified copy of the file as a new file of yours: the Basic Application Level
    Confidentiality Profile, with the options named in the body; UIDs mapped by your key."""
    body = body or DeidentifyIn()
    entry = audited(request, 201)
    row = await context.run_blocking(deidentify_stored, context, principal, file_id, body.options, body.key, entry)
    return created(request, row)


async def download_deidentified(
    file_id: FileId,
    principal: PrincipalDep,
    context: ContextDep,
    option: Annotated[list[str] | None, Query(max_length=16, description=_OPTION)] = None,
    key: Annotated[str | None, Query(max_length=64, description=_KEY)] = None,
) -> Response:
    """The file de-identified as POST /files/{file_id}/deidentify would store it, made for this answer and
    not stored."""
    data = await context.run_blocking(deidentified_bytes, context, principal, file_id, option or [], key)
    return Response(
        data,
        media_type="application/dicom",
        headers={
            "Content-Disposition": f'attachment; filename="{file_id}-deidentified.dcm"',
            "Cache-Control": "private, no-store",
        },
    )
