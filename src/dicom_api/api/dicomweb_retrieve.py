"""WADO-RS handlers (PS3.18 10.4): instances, metadata, frames, bulk data, rendered and thumbnail images.

Thin: the caller's instances come from services/dicomweb_retrieve.py, the Accept header is negotiated by
services/media.py, multipart answers are written by api/multipart.py as they stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse

from dicom_api.api.deps import ContextDep, PrincipalDep
from dicom_api.api.dicomweb import DICOM_JSON, Instance, Series, Study, dicomweb_root
from dicom_api.api.multipart import Part, multipart_content_type, new_boundary, write_parts_async
from dicom_api.errors import InvalidParameter, NotAcceptable
from dicom_api.services.dicomweb_rendered import RenderOptions, rendered_request
from dicom_api.services.dicomweb_retrieve import (
    Frames,
    InstancePart,
    Retrieve,
    Target,
    parse_bulk_path,
    parse_frame_list,
)
from dicom_api.services.media import (
    DICOM_MEDIA_TYPE,
    MULTIPART_RELATED,
    MediaRange,
    Offer,
    negotiate,
    parse_accept,
    part_content_type,
)

_METADATA_OFFERS = [Offer(DICOM_JSON), Offer("application/json")]

FrameList = Annotated[str, PathParam(max_length=4096, description="Frame numbers, e.g. 1,3 (1-based).")]
IfNoneMatch = Annotated[str | None, Header(include_in_schema=False)]

router = APIRouter(prefix="/dicomweb")


def _accept(request: Request) -> list[MediaRange]:
    return parse_accept(request.headers.get("accept"))


def _matches(if_none_match: str | None, etag: str) -> bool:
    return bool(if_none_match) and etag in [t.strip() for t in (if_none_match or "").split(",")]


# Instances (PS3.18 10.4.1.1.1)


async def _retrieve(request: Request, principal: PrincipalDep, context: ContextDep, path: Target) -> Response:
    service: Retrieve = context.retrieve
    accept = _accept(request)
    rows = await context.run_blocking(service.instances, principal, path)
    planned = service.plan(rows, accept, dicomweb_root(request), single=path.sop is not None)
    first, chunks = await service.open_instance(planned[0], accept)  # a 406 or a store that is down: a status
    if first.offer.media_type == DICOM_MEDIA_TYPE:
        content_type = part_content_type(DICOM_MEDIA_TYPE, first.transfer_syntax)
        return StreamingResponse(service.iterate(chunks), media_type=content_type)

    async def parts() -> AsyncIterator[Part]:
        yield _instance_part(first, service.iterate(chunks))
        for later in planned[1:]:  # each opened when its turn comes: one instance in memory or spooled at a time
            opened, body = await service.open_later(later, accept)
            yield _instance_part(opened, service.iterate(body))

    boundary = new_boundary()
    content_type = multipart_content_type(DICOM_MEDIA_TYPE, boundary)
    return StreamingResponse(write_parts_async(parts(), boundary), media_type=content_type)


def _instance_part(part: InstancePart, body: AsyncIterator[bytes]) -> Part:
    content_type = part_content_type(DICOM_MEDIA_TYPE, part.transfer_syntax)
    return Part(content_type, body, content_location=part.location)


async def retrieve_study(request: Request, study: Study, principal: PrincipalDep, context: ContextDep) -> Response:
    """Every instance of the study, as multipart/related; type="application/dicom"."""
    return await _retrieve(request, principal, context, Target(study))


async def retrieve_series(
    request: Request, study: Study, series: Series, principal: PrincipalDep, context: ContextDep
) -> Response:
    """Every instance of the series."""
    return await _retrieve(request, principal, context, Target(study, series))


async def retrieve_instance(
    request: Request, study: Study, series: Series, sop: Instance, principal: PrincipalDep, context: ContextDep
) -> Response:
    """One instance: transfer-syntax=* as stored, none as Explicit VR Little Endian."""
    return await _retrieve(request, principal, context, Target(study, series, sop))


# Metadata (PS3.18 10.4.1.1.2)


async def _metadata(
    request: Request, principal: PrincipalDep, context: ContextDep, path: Target, if_none_match: str | None
) -> Response:
    offer = negotiate(_accept(request), _METADATA_OFFERS)
    service: Retrieve = context.retrieve
    base = dicomweb_root(request)
    rows = await context.run_blocking(service.instances, principal, path)
    etag = service.metadata_etag(rows, base)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    body = await context.run_blocking(service.metadata, rows, base)
    return Response(body, media_type=offer.media_type, headers=headers)


async def study_metadata(
    request: Request, study: Study, principal: PrincipalDep, context: ContextDep, if_none_match: IfNoneMatch = None
) -> Response:
    """The DICOM JSON of every instance of the study, bulk data as BulkDataURIs."""
    return await _metadata(request, principal, context, Target(study), if_none_match)


async def series_metadata(
    request: Request,
    study: Study,
    series: Series,
    principal: PrincipalDep,
    context: ContextDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The DICOM JSON of every instance of the series; built once, then served with its ETag."""
    return await _metadata(request, principal, context, Target(study, series), if_none_match)


async def instance_metadata(
    request: Request,
    study: Study,
    series: Series,
    sop: Instance,
    principal: PrincipalDep,
    context: ContextDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The DICOM JSON of the instance."""
    return await _metadata(request, principal, context, Target(study, series, sop), if_none_match)


# Frames (PS3.18 10.4.1.1.3) and bulk data (10.4.1.1.4)


async def _frames_response(context: ContextDep, frames: Frames) -> Response:
    offer = frames.offer
    media = (offer.type if offer.media_type == MULTIPART_RELATED else offer.media_type) or "application/octet-stream"
    content_type = part_content_type(media, offer.transfer_syntax)
    if offer.media_type != MULTIPART_RELATED and len(frames.parts) > 1:
        raise NotAcceptable("Several frames are sent as multipart/related only.")
    bodies = await context.retrieve.frame_bodies(frames)
    if offer.media_type != MULTIPART_RELATED:
        return StreamingResponse(bodies[0], media_type=content_type)
    parts = [
        Part(content_type, body, content_location=f"{frames.location}/frames/{p.number}")
        for p, body in zip(frames.parts, bodies, strict=True)
    ]
    boundary = new_boundary()
    return StreamingResponse(write_parts_async(parts, boundary), media_type=multipart_content_type(media, boundary))


async def instance_frames(
    request: Request,
    study: Study,
    series: Series,
    sop: Instance,
    frames: FrameList,
    principal: PrincipalDep,
    context: ContextDep,
) -> Response:
    """Frames as stored (native as application/octet-stream, compressed in their media type) or decoded."""
    numbers = parse_frame_list(frames)
    path = Target(study, series, sop)
    found = await context.run_blocking(
        context.retrieve.frames, principal, path, numbers, _accept(request), dicomweb_root(request)
    )
    return await _frames_response(context, found)


async def bulk_data(
    request: Request,
    study: Study,
    series: Series,
    sop: Instance,
    tags: Annotated[str, PathParam(max_length=256)],
    principal: PrincipalDep,
    context: ContextDep,
) -> Response:
    """A BulkDataURI of the metadata: Pixel Data as its frames, another value as application/octet-stream."""
    tag_path = parse_bulk_path(tags)
    path = Target(study, series, sop)
    service: Retrieve = context.retrieve
    if len(tag_path) == 1 and tag_path[0] in (0x7FE00010, 0x7FE00008, 0x7FE00009):
        found = await context.run_blocking(
            service.frames, principal, path, None, _accept(request), dicomweb_root(request)
        )
        return await _frames_response(context, found)
    offers = [Offer(MULTIPART_RELATED, "application/octet-stream"), Offer("application/octet-stream")]
    offer = negotiate(_accept(request), offers)
    value = await context.run_blocking(service.bulk_value, principal, path, tag_path)
    if offer.media_type != MULTIPART_RELATED:
        return Response(value, media_type="application/octet-stream")
    boundary = new_boundary()
    part = Part("application/octet-stream", [value], content_location=str(request.url))
    return StreamingResponse(
        write_parts_async([part], boundary), media_type=multipart_content_type("application/octet-stream", boundary)
    )


# Rendered and thumbnail (PS3.18 10.4.1.1.3-4)


async def render_options(
    window: Annotated[str | None, Query(max_length=256, description="center,width[,function]")] = None,
    viewport: Annotated[str | None, Query(max_length=256, description="vw,vh[,sx,sy,sw,sh]")] = None,
    quality: Annotated[str | None, Query(max_length=8, description="JPEG quality, 1 to 100")] = None,
    accept: Annotated[str | None, Query(max_length=1024, description="Media types, as the Accept header")] = None,
) -> RenderOptions:
    return RenderOptions.parse(window, viewport, quality, accept)


Options = Annotated[RenderOptions, Depends(render_options)]
Handler = Callable[..., Any]
Responses = dict[int | str, dict[str, Any]]


@dataclass(frozen=True)
class _Rendering:
    path: Target
    frame: str | None = None
    thumbnail: bool = False


async def _render(
    request: Request, principal: PrincipalDep, context: ContextDep, what: _Rendering, options: RenderOptions
) -> Response:
    frame = None
    if what.frame is not None:
        numbers = parse_frame_list(what.frame)
        if len(numbers) != 1:
            raise InvalidParameter("One frame is rendered at a time.")
        frame = numbers[0]
    rows = await context.run_blocking(context.retrieve.instances, principal, what.path)
    render, sha256 = rendered_request(rows, frame, options, _accept(request), thumbnail=what.thumbnail)
    etag = render.etag(sha256)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    image = await context.renderer.image(render)
    return Response(image, media_type=render.media_type, headers=headers)


def _rendered_handlers(thumbnail: bool) -> tuple[Handler, Handler, Handler, Handler]:
    noun = "thumbnail" if thumbnail else "rendered image"

    async def study(
        request: Request, study: Study, principal: PrincipalDep, context: ContextDep, options: Options
    ) -> Response:
        return await _render(request, principal, context, _Rendering(Target(study), None, thumbnail), options)

    async def series(
        request: Request, study: Study, series: Series, principal: PrincipalDep, context: ContextDep, options: Options
    ) -> Response:
        return await _render(request, principal, context, _Rendering(Target(study, series), None, thumbnail), options)

    async def instance(
        request: Request,
        study: Study,
        series: Series,
        sop: Instance,
        principal: PrincipalDep,
        context: ContextDep,
        options: Options,
    ) -> Response:
        what = _Rendering(Target(study, series, sop), None, thumbnail)
        return await _render(request, principal, context, what, options)

    async def frame(
        request: Request,
        study: Study,
        series: Series,
        sop: Instance,
        frames: FrameList,
        principal: PrincipalDep,
        context: ContextDep,
        options: Options,
    ) -> Response:
        what = _Rendering(Target(study, series, sop), frames, thumbnail)
        return await _render(request, principal, context, what, options)

    kind = "thumbnail" if thumbnail else "rendered"
    for level, handler in (("study", study), ("series", series), ("instance", instance), ("frame", frame)):
        handler.__name__ = handler.__qualname__ = f"{level}_{kind}"  # the OpenAPI summary and operation id
    study.__doc__ = f"The study's {noun}: its middle instance's middle frame."
    series.__doc__ = f"The series' {noun}: its middle instance's middle frame."
    instance.__doc__ = f"The instance's {noun}: its first frame (a thumbnail: its middle frame)."
    frame.__doc__ = f"One frame's {noun}."
    return study, series, instance, frame


_STUDY = "/studies/{study}"
_SERIES = _STUDY + "/series/{series}"
_INSTANCE = _SERIES + "/instances/{sop}"
RETRIEVE: dict[str, Handler] = {_STUDY: retrieve_study, _SERIES: retrieve_series, _INSTANCE: retrieve_instance}
METADATA: dict[str, Handler] = {_STUDY: study_metadata, _SERIES: series_metadata, _INSTANCE: instance_metadata}
RENDERED: dict[str, Handler] = dict(
    zip((_STUDY, _SERIES, _INSTANCE, _INSTANCE + "/frames/{frames}"), _rendered_handlers(False), strict=True)
)
THUMBNAIL: dict[str, Handler] = dict(
    zip((_STUDY, _SERIES, _INSTANCE, _INSTANCE + "/frames/{frames}"), _rendered_handlers(True), strict=True)
)

_MULTIPART: Responses = {200: {"content": {"multipart/related": {}}, "description": "multipart/related parts"}}
_JSON: Responses = {
    200: {"content": {DICOM_JSON: {}}, "description": "DICOM JSON Model (PS3.18 F.2)"},
    304: {"description": "Not modified"},
}
_IMAGE: Responses = {
    200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "The rendered image"},
    304: {"description": "Not modified"},
}

# fmt: off
for _path, _handler in RETRIEVE.items():
    router.add_api_route(_path, _handler, methods=["GET"], tags=["dicomweb"], response_class=Response,
                         responses=_MULTIPART)
for _path, _handler in METADATA.items():
    router.add_api_route(_path + "/metadata", _handler, methods=["GET"], tags=["dicomweb"], response_class=Response,
                         responses=_JSON)
router.add_api_route(_INSTANCE + "/frames/{frames}", instance_frames, methods=["GET"], tags=["dicomweb"],
                     response_class=Response, responses=_MULTIPART)
router.add_api_route(_INSTANCE + "/bulkdata/{tags:path}", bulk_data, methods=["GET"], tags=["dicomweb"],
                     response_class=Response, responses=_MULTIPART)
for _path, _handler in RENDERED.items():
    router.add_api_route(_path + "/rendered", _handler, methods=["GET"], tags=["dicomweb"],
                         response_class=Response, responses=_IMAGE)
for _path, _handler in THUMBNAIL.items():
    router.add_api_route(_path + "/thumbnail", _handler, methods=["GET"], tags=["dicomweb"],
                         response_class=Response, responses=_IMAGE)
# fmt: on

# What the audit trail records of each (middleware.py): every read of patient data.
AUDITED: dict[Handler, str] = {
    **dict.fromkeys(RETRIEVE.values(), "dicomweb_retrieve"),
    **dict.fromkeys(METADATA.values(), "dicomweb_metadata"),
    instance_frames: "dicomweb_frames",
    bulk_data: "dicomweb_bulk_data",
    **dict.fromkeys(RENDERED.values(), "dicomweb_rendered"),
    **dict.fromkeys(THUMBNAIL.values(), "dicomweb_thumbnail"),
}
