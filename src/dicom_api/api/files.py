"""Handlers of the file endpoints. Thin: parse the request, call a service, shape the answer."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from dicom_api.api.deps import ContextDep, Limit, Offset, PrincipalDep, WriterPrincipal
from dicom_api.api.middleware import audited, stored
from dicom_api.api.schemas import FileListOut, FileOut, UploadOut
from dicom_api.api.upload_stream import spool_upload
from dicom_api.errors import PayloadTooLarge
from dicom_api.services.files import StoredFile, parse_tag
from dicom_api.services.rendering import render_request

FileId = Annotated[str, Path(description="The id returned by the upload (32 hexadecimal digits).")]
_MULTIPART_OVERHEAD = 64 * 1024


async def upload_dicom(request: Request, principal: WriterPrincipal, context: ContextDep) -> JSONResponse:
    """Store a DICOM file (multipart field `file`) and index its identifying attributes."""
    limit = context.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _MULTIPART_OVERHEAD:
        raise PayloadTooLarge(f"The file is larger than the limit of {limit} bytes.")
    spooled = await spool_upload(request.headers.get("content-type"), request.stream(), context.spool.folder, limit)
    # One blocking call checks the account, validates, stores and indexes, and commits the audit entry.
    entry = audited(request, 201)
    row = await context.run_blocking(context.files.ingest, principal, spooled.path, spooled.size, spooled.sha256, entry)
    return created(request, row)


def created(request: Request, row: StoredFile) -> JSONResponse:
    """201 naming a file just stored as a new file of the caller's, counted once its audit entry committed."""
    stored(request, row.size_bytes)
    return JSONResponse(
        UploadOut(file_id=row.id).model_dump(), status_code=201, headers={"Location": f"/files/{row.id}"}
    )


async def download_png(
    file_id: FileId,
    principal: PrincipalDep,
    context: ContextDep,
    frame: Annotated[int, Query(ge=1, le=2**31 - 1, description="1-based frame number.")] = 1,  # IS: 32 bits
    window_center: Annotated[float | None, Query(description="VOI window centre (with window_width).")] = None,
    window_width: Annotated[float | None, Query(gt=0, description="VOI window width (with window_center).")] = None,
    if_none_match: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """The image rendered as an 8-bit PNG: grey for monochrome, RGB for colour."""
    row = await context.run_blocking(context.files.open, principal, file_id)
    render = render_request(row.id, row.header_length, frame, window_center, window_width)
    etag = render.etag(row.sha256)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    png = await context.renderer.image(render)
    headers["Content-Disposition"] = f'attachment; filename="{row.id}.png"'
    return Response(png, media_type="image/png", headers=headers)


async def header_attribute(
    principal: PrincipalDep,
    context: ContextDep,
    file_id: Annotated[str, Query(description="The id returned by the upload.")],
    tag_group: Annotated[str, Query(description="Tag group: four hex digits, optional 0x (e.g. 0010).")],
    tag_element: Annotated[str, Query(description="Tag element: four hex digits, optional 0x (e.g. 0010).")],
) -> JSONResponse:
    """One attribute of the file's header: its VR, name and value."""
    tag = parse_tag(tag_group, tag_element)
    attribute = await context.run_blocking(context.files.attribute, principal, file_id, tag)
    # Answered as built: the route's response model documents it, validating it again cost a tenth of the read.
    return JSONResponse({"header_attributes": attribute})


async def list_files(
    principal: PrincipalDep, context: ContextDep, limit: Limit = 100, offset: Offset = 0
) -> FileListOut:
    """The stored files, newest first, with their indexed attributes."""
    rows, total = await context.run_blocking(context.files.list, principal, limit, offset)
    return FileListOut(items=[_file_out(r) for r in rows], total=total, limit=limit, offset=offset)


async def get_file(file_id: FileId, principal: PrincipalDep, context: ContextDep) -> FileOut:
    """One file's indexed attributes, size and checksum."""
    return _file_out(await context.run_blocking(context.files.open, principal, file_id))


async def download_dicom(file_id: FileId, principal: PrincipalDep, context: ContextDep) -> StreamingResponse:
    """The original file, byte for byte."""
    row = await context.run_blocking(context.files.open, principal, file_id)
    return StreamingResponse(
        await context.run_blocking(context.files.content, row),
        media_type="application/dicom",
        headers={
            "Content-Length": str(row.size_bytes),
            "Content-Disposition": f'attachment; filename="{row.id}.dcm"',
            "ETag": f'"{row.sha256}"',
            "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(row.sha256)).decode()}:",
        },
    )


async def file_attributes(file_id: FileId, principal: PrincipalDep, context: ContextDep) -> JSONResponse:
    """The whole header as the DICOM JSON Model (PS3.18 F.2); bulk data is left out (VR only)."""
    model = await context.run_blocking(context.files.dicom_json, principal, file_id)
    return JSONResponse(model, media_type="application/dicom+json")


async def delete_file(request: Request, file_id: FileId, principal: WriterPrincipal, context: ContextDep) -> Response:
    """Delete the file, its stored blob and its cached renders."""
    # The audit entry commits with the delete.
    await context.run_blocking(context.files.delete, principal, file_id, audited(request, 204))
    request.state.audit_committed = True
    return Response(status_code=204)


def live() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


def ready(context: ContextDep) -> dict[str, str]:
    """The database and the blob store are reachable (503 otherwise)."""
    context.readiness.check()
    return {"status": "ok"}


def _file_out(row: StoredFile) -> FileOut:
    indexed = {k: getattr(row, k) for k in FileOut.model_fields if k not in ("file_id", "has_image")}
    return FileOut(file_id=row.id, has_image=row.pixel_data_tag is not None, **indexed)
