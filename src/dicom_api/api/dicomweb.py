"""DICOMweb under /dicomweb: QIDO-RS search (PS3.18 10.6), STOW-RS store (10.5) and DELETE of a study, series or
instance. Thin handlers: the work is in services/dicomweb_store.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request, Response
from fastapi.responses import JSONResponse

from dicom_api.api.deps import ContextDep, PrincipalDep, WriterPrincipal
from dicom_api.api.middleware import audited, stored
from dicom_api.api.multipart import BodyLimits, ReceivedPart, receive_parts, receive_single, request_body
from dicom_api.api.schemas import ErrorOut
from dicom_api.api.urls import public_base_url
from dicom_api.errors import PayloadTooLarge, UnsupportedMediaType
from dicom_api.services.accounts import Principal
from dicom_api.services.context import AppContext
from dicom_api.services.dicomweb_store import stow_response, stow_status, stow_xml
from dicom_api.services.media import DICOM_MEDIA_TYPE, Offer, negotiate, parse_accept

DICOM_JSON, DICOM_XML = "application/dicom+json", "application/dicom+xml"
_JSON_OFFERS = [Offer(DICOM_JSON), Offer("application/json")]
_STOW_OFFERS = [*_JSON_OFFERS, Offer(DICOM_XML)]

UID_PATTERN = r"^[0-9]+(\.[0-9]+)*$"  # PS3.5 9.1
Study = Annotated[str, Path(max_length=64, pattern=UID_PATTERN, description="Study Instance UID.")]
Series = Annotated[str, Path(max_length=64, pattern=UID_PATTERN, description="Series Instance UID.")]
Instance = Annotated[str, Path(max_length=64, pattern=UID_PATTERN, description="SOP Instance UID.")]
Accept = Annotated[str | None, Header(include_in_schema=False)]


def dicomweb_root(request: Request) -> str:
    """The absolute URL of /dicomweb (Retrieve URLs): the public base URL, never the Host header alone."""
    return f"{public_base_url(request)}/dicomweb"


# QIDO-RS


async def search_studies(
    request: Request, principal: PrincipalDep, context: ContextDep, accept: Accept = None
) -> Response:
    """Studies matching the query (PS3.18 10.6.1): DICOM JSON, paged with limit and offset."""
    return await _search(request, principal, context, accept, "studies")


async def search_series(
    request: Request, principal: PrincipalDep, context: ContextDep, accept: Accept = None
) -> Response:
    """Series matching the query, with their studies' attributes."""
    return await _search(request, principal, context, accept, "series")


async def search_instances(
    request: Request, principal: PrincipalDep, context: ContextDep, accept: Accept = None
) -> Response:
    """Instances matching the query, with their studies' and series' attributes."""
    return await _search(request, principal, context, accept, "instances")


async def search_study_series(
    request: Request, study: Study, principal: PrincipalDep, context: ContextDep, accept: Accept = None
) -> Response:
    """The study's series matching the query."""
    return await _search(request, principal, context, accept, "series", study)


async def search_study_instances(
    request: Request, study: Study, principal: PrincipalDep, context: ContextDep, accept: Accept = None
) -> Response:
    """The study's instances matching the query, with their series' attributes."""
    return await _search(request, principal, context, accept, "instances", study)


async def search_series_instances(
    request: Request,
    study: Study,
    series: Series,
    principal: PrincipalDep,
    context: ContextDep,
    accept: Accept = None,
) -> Response:
    """The series' instances matching the query."""
    return await _search(request, principal, context, accept, "instances", study, series)


async def _search(
    request: Request,
    principal: Principal,
    context: AppContext,
    accept: str | None,
    resource: str,
    study: str | None = None,
    series: str | None = None,
) -> Response:
    offer = negotiate(parse_accept(accept), _JSON_OFFERS)
    params = request.query_params.multi_items()
    store = context.dicomweb_store
    items, warnings = await context.run_blocking(
        store.search, principal, resource, params, dicomweb_root(request), study, series
    )
    response = JSONResponse(items, media_type=offer.media_type)
    for warning in warnings:
        response.headers.append("Warning", warning)
    return response


# STOW-RS


async def store_instances(
    request: Request, principal: WriterPrincipal, context: ContextDep, accept: Accept = None
) -> Response:
    """Store DICOM instances (PS3.18 10.5): multipart/related of application/dicom parts, or one application/dicom
    body. 200 all stored, 202 some, 409 or 400 none; each instance's outcome is in the answer."""
    return await _store(request, principal, context, accept, None)


async def store_study_instances(
    request: Request, study: Study, principal: WriterPrincipal, context: ContextDep, accept: Accept = None
) -> Response:
    """Store DICOM instances of the study in the path; an instance of another study fails (0xA901)."""
    return await _store(request, principal, context, accept, study)


async def _store(
    request: Request, principal: Principal, context: AppContext, accept: str | None, study: str | None
) -> Response:
    offer = negotiate(parse_accept(accept), _STOW_OFFERS)
    await context.run_blocking(context.files.account, principal)  # refused before the body is read
    parts = await _receive(request, context)
    outcomes = []
    try:
        for part in parts:
            entry = audited(request, 200)
            store = context.dicomweb_store.store
            outcome = await context.run_blocking(store, principal, part.path, part.size, part.sha256, study, entry)
            outcomes.append(outcome)
            if outcome.reason is None:
                stored(request, part.size)  # each stored instance has its entry
    finally:
        for part in parts:
            part.path.unlink(missing_ok=True)
    model = stow_response(outcomes, dicomweb_root(request), study)
    if offer.media_type == DICOM_XML:
        return Response(stow_xml(model), status_code=stow_status(outcomes), media_type=DICOM_XML)
    return JSONResponse(model, status_code=stow_status(outcomes), media_type=offer.media_type)


async def _receive(request: Request, context: AppContext) -> list[ReceivedPart]:
    """Every part on disk before any is stored: a request refused for its framing, its size or a part's type
    stores nothing and leaves nothing behind."""
    settings = context.settings
    limits = BodyLimits(part_bytes=settings.max_upload_bytes, total_bytes=settings.max_stow_bytes)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.total_bytes:
        raise PayloadTooLarge(f"The request body is larger than the limit of {limits.total_bytes} bytes.")
    body = request_body(request.headers.get("content-type"))
    folder = context.spool.folder
    if not body.multipart:
        return [await receive_single(request.stream(), folder, limits)]
    assert body.boundary is not None  # noqa: S101 - set for every multipart body
    parts: list[ReceivedPart] = []
    try:
        async for part in receive_parts(request.stream(), body.boundary, folder, limits):
            parts.append(part)
            if part.media_type not in (None, DICOM_MEDIA_TYPE):
                raise UnsupportedMediaType(f"Each part must be {DICOM_MEDIA_TYPE}.")
    except BaseException:
        for part in parts:
            part.path.unlink(missing_ok=True)
        raise
    return parts


# DELETE (not in PS3.18: as Microsoft's DICOM server has it, and Orthanc's client sends it)


async def delete_study(request: Request, study: Study, principal: WriterPrincipal, context: ContextDep) -> Response:
    """Delete every instance of the study."""
    return await _delete(request, principal, context, study)


async def delete_series(
    request: Request, study: Study, series: Series, principal: WriterPrincipal, context: ContextDep
) -> Response:
    """Delete every instance of the series."""
    return await _delete(request, principal, context, study, series)


async def delete_instance(
    request: Request, study: Study, series: Series, instance: Instance, principal: WriterPrincipal, context: ContextDep
) -> Response:
    """Delete the instance (every copy stored of it)."""
    return await _delete(request, principal, context, study, series, instance)


async def _delete(
    request: Request,
    principal: Principal,
    context: AppContext,
    study: str,
    series: str | None = None,
    instance: str | None = None,
) -> Response:
    store = context.dicomweb_store
    await context.run_blocking(store.delete, principal, study, series, instance, audited(request, 204))
    request.state.audit_committed = True
    return Response(status_code=204)


_ERRORS = {code: {"model": ErrorOut} for code in (400, 401, 404, 406)}
_SEARCH = {200: {"content": {DICOM_JSON: {}}, "description": "The matches, DICOM JSON (PS3.18 F.2)"}, **_ERRORS}
_STOW_BODY = {"requestBody": {"required": True, "content": {
    'multipart/related; type="application/dicom"': {"schema": {"type": "string", "format": "binary"}},
    DICOM_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}}}  # fmt: skip
_STOW = {
    200: {"content": {DICOM_JSON: {}, DICOM_XML: {}}, "description": "Every instance stored (PS3.18 Annex I)"},
    202: {"description": "Some instances stored: the others are in Failed SOP Sequence"},
    409: {"description": "None stored, for a conflict (another study, a duplicate)"},
    **{code: {"model": ErrorOut} for code in (400, 401, 406, 413, 415)},
}

router = APIRouter(prefix="/dicomweb", tags=["dicomweb"])
add = router.add_api_route
# fmt: off
add("/studies", search_studies, methods=["GET"], responses=_SEARCH)  # type: ignore[arg-type]
add("/series", search_series, methods=["GET"], responses=_SEARCH)  # type: ignore[arg-type]
add("/instances", search_instances, methods=["GET"], responses=_SEARCH)  # type: ignore[arg-type]
add("/studies/{study}/series", search_study_series, methods=["GET"], responses=_SEARCH)  # type: ignore[arg-type]
add("/studies/{study}/instances", search_study_instances, methods=["GET"], responses=_SEARCH)  # type: ignore[arg-type]
add("/studies/{study}/series/{series}/instances", search_series_instances, methods=["GET"],
    responses=_SEARCH)  # type: ignore[arg-type]
add("/studies", store_instances, methods=["POST"], responses=_STOW, openapi_extra=_STOW_BODY)  # type: ignore[arg-type]
add("/studies/{study}", store_study_instances, methods=["POST"], responses=_STOW,  # type: ignore[arg-type]
    openapi_extra=_STOW_BODY)
add("/studies/{study}", delete_study, methods=["DELETE"], status_code=204, responses=_ERRORS)  # type: ignore[arg-type]
add("/studies/{study}/series/{series}", delete_series, methods=["DELETE"], status_code=204,
    responses=_ERRORS)  # type: ignore[arg-type]
add("/studies/{study}/series/{series}/instances/{instance}", delete_instance, methods=["DELETE"], status_code=204,
    responses=_ERRORS)  # type: ignore[arg-type]
# fmt: on

# What the audit trail records of these handlers.
AUDITED: dict[Callable[..., Any], str] = {
    **dict.fromkeys(
        (
            search_studies,
            search_series,
            search_instances,
            search_study_series,
            search_study_instances,
            search_series_instances,
        ),
        "search",
    ),  # fmt: skip
    store_instances: "store",
    store_study_instances: "store",
    delete_study: "delete",
    delete_series: "delete",
    delete_instance: "delete",
}
