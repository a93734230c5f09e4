"""WADO-RS rendered and thumbnail resources (PS3.18 10.4.1.1.3-4, 8.3.5.1): which frame of which instance, and
how it is delivered, as a RenderRequest for the Renderer and its cache."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dicom_api.dicom.render import Window
from dicom_api.dicom.rendered import (
    DEFAULT_QUALITY,
    MEDIA_TYPES,
    THUMBNAIL,
    Output,
    Viewport,
    parse_quality,
    parse_viewport,
    parse_window,
)
from dicom_api.errors import FrameNotFound
from dicom_api.services.files import StoredFile
from dicom_api.services.media import MediaRange, Offer, negotiate, parse_accept
from dicom_api.services.rendering import RenderRequest

_OFFERS = [Offer(media_type) for media_type in MEDIA_TYPES]  # JPEG first: the default (PS3.18 8.7.4)


@dataclass(frozen=True)
class RenderOptions:
    """The query parameters of a rendered resource (PS3.18 8.3.5.1), checked: 400 for a bad one."""

    window: Window | None = None
    viewport: Viewport | None = None
    quality: int = DEFAULT_QUALITY
    accept: list[MediaRange] | None = None  # the `accept` query parameter, which overrides the header

    @classmethod
    def parse(cls, window: str | None, viewport: str | None, quality: str | None, accept: str | None) -> RenderOptions:
        return cls(
            parse_window(window) if window is not None else None,
            parse_viewport(viewport) if viewport is not None else None,
            parse_quality(quality) if quality is not None else DEFAULT_QUALITY,
            parse_accept(accept) if accept else None,
        )


def rendered_request(
    rows: Sequence[StoredFile],
    frame: int | None,
    options: RenderOptions,
    accept: Sequence[MediaRange],
    *,
    thumbnail: bool = False,
) -> tuple[RenderRequest, str]:
    """The render of ``frame`` of the one instance in ``rows``, or of a representative frame (the middle
    instance's middle frame) when ``rows`` is a study or series or no frame is named; and that file's sha256.
    FrameNotFound (404) past the instance's frames; NotAcceptable (406) when neither JPEG nor PNG is accepted."""
    row = rows[len(rows) // 2]
    frames = row.number_of_frames or 1
    if frame is None:
        frame = (frames + 1) // 2 if len(rows) > 1 or thumbnail else 1
    if not 1 <= frame <= frames:
        raise FrameNotFound(f"The instance has {frames} frame(s); frame {frame} does not exist.")
    media_type = negotiate(options.accept or accept, _OFFERS).media_type
    viewport = options.viewport or (THUMBNAIL.viewport if thumbnail else None)
    output = Output(media_type, options.quality, viewport)
    window = None if thumbnail else options.window
    return RenderRequest(row.id, frame, window, pixel_offset=row.header_length, output=output), row.sha256
