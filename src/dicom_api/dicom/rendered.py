"""Rendered and thumbnail images as DICOMweb serves them (PS3.18 8.3.5.1, 10.4.1.1.3-4).

What PS3.18 lets a client ask of a rendered image: its media type (JPEG by default, PNG), a VOI window, a
viewport (an output size, and optionally a region of the source, flipped when its width or height is
negative) and a JPEG quality. The pixels come from the same pipeline as the PNG route (render.render_file).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import Image

from dicom_api.dicom.limits import DEFAULT_LIMITS, DicomLimits
from dicom_api.dicom.png import encode_png
from dicom_api.dicom.render import RenderHeader, Window, render_file
from dicom_api.errors import InvalidParameter

JPEG = "image/jpeg"
PNG = "image/png"
MEDIA_TYPES = (JPEG, PNG)  # the first is the default (PS3.18 8.7.4)
DEFAULT_QUALITY = 90
MAX_VIEWPORT_PIXELS = 4096 * 4096  # an output size is client input: bounded before anything is allocated
THUMBNAIL_SIZE = 128
_FUNCTIONS = {"linear": "LINEAR", "linear-exact": "LINEAR_EXACT", "sigmoid": "SIGMOID"}


@dataclass(frozen=True)
class Viewport:
    """An output size, and the source region (x, y, width, height; negative sizes flip) drawn into it."""

    width: int
    height: int
    region: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class Output:
    """How a rendered frame is delivered: media type, JPEG quality and viewport."""

    media_type: str = JPEG
    quality: int = DEFAULT_QUALITY
    viewport: Viewport | None = None

    @property
    def variant(self) -> str:
        """A short name for a cache key, in characters that are safe in a blob key."""
        kind = "png" if self.media_type == PNG else f"jpeg{self.quality}"
        if self.viewport is None:
            return kind
        v = self.viewport
        region = "" if v.region is None else "_" + "_".join(str(n).replace("-", "m") for n in v.region)
        return f"{kind}-{v.width}x{v.height}{region}"


THUMBNAIL = Output(JPEG, DEFAULT_QUALITY, Viewport(THUMBNAIL_SIZE, THUMBNAIL_SIZE))


def parse_window(value: str) -> Window:
    """``window=center,width[,function]`` (PS3.18 8.3.5.1.4): function linear (default), linear-exact or
    sigmoid; the width must be positive (PS3.3 C.11.2.1.2)."""
    parts = [p.strip() for p in value.split(",")]
    if len(parts) not in (2, 3):
        raise InvalidParameter("window must be center,width[,function].")
    try:
        center, width = float(parts[0]), float(parts[1])
    except ValueError:
        raise InvalidParameter("window's center and width must be numbers.") from None
    if not (math.isfinite(center) and math.isfinite(width)) or width <= 0:
        raise InvalidParameter("window's center must be finite and its width positive.")
    function = _FUNCTIONS.get(parts[2].lower() if len(parts) == 3 else "linear")
    if function is None:
        raise InvalidParameter("window's function must be linear, linear-exact or sigmoid.")
    return Window(center, width, function)


def parse_viewport(value: str) -> Viewport:
    """``viewport=vw,vh[,sx,sy,sw,sh]`` (PS3.18 8.3.5.1.3): integers; the output size within limits."""
    parts = [p.strip() for p in value.split(",")]
    if len(parts) not in (2, 6):
        raise InvalidParameter("viewport must be vw,vh or vw,vh,sx,sy,sw,sh.")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise InvalidParameter("viewport's values must be integers.") from None
    width, height = numbers[0], numbers[1]
    if width < 1 or height < 1 or width * height > MAX_VIEWPORT_PIXELS:
        raise InvalidParameter(f"viewport's size must be positive and at most {MAX_VIEWPORT_PIXELS} pixels.")
    if len(numbers) == 2:
        return Viewport(width, height)
    x, y, w, h = numbers[2:]
    if x < 0 or y < 0 or w == 0 or h == 0:
        raise InvalidParameter("viewport's region must start inside the image and have a size.")
    return Viewport(width, height, (x, y, w, h))


def parse_quality(value: str) -> int:
    """``quality=1..100`` (PS3.18 8.3.5.1.5)."""
    try:
        quality = int(value)
    except ValueError:
        raise InvalidParameter("quality must be an integer from 1 to 100.") from None
    if not 1 <= quality <= 100:
        raise InvalidParameter("quality must be an integer from 1 to 100.")
    return quality


def render_image(
    fp: BinaryIO,
    frame: int = 1,
    window: Window | None = None,
    header: RenderHeader | None = None,
    limits: DicomLimits = DEFAULT_LIMITS,
    output: Output = Output(),
) -> bytes:
    """``frame`` of ``fp`` rendered (PS3.4 N.2, as render_png), fitted to ``output``'s viewport and encoded."""
    image = render_file(fp, frame, window, header, limits)
    if output.viewport is not None:
        image = fit(image, output.viewport)
    return encode(image, output)


def fit(image: np.ndarray, viewport: Viewport) -> np.ndarray:
    """The viewport's region of ``image`` (flipped for a negative width or height), scaled to fit within the
    viewport with its aspect ratio kept."""
    if viewport.region is not None:
        image = _region(image, *viewport.region)
    height, width = image.shape[:2]
    scale = min(viewport.width / width, viewport.height / height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == (width, height):
        return image
    resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
    return np.asarray(Image.fromarray(image).resize(size, resample))


def _region(image: np.ndarray, x: int, y: int, w: int, h: int) -> np.ndarray:
    height, width = image.shape[:2]
    if x >= width or y >= height:
        raise InvalidParameter("viewport's region starts outside the image.")
    part = image[y : y + abs(h), x : x + abs(w)]
    if w < 0:
        part = part[:, ::-1]
    if h < 0:
        part = part[::-1]
    return np.ascontiguousarray(part)


def encode(image: np.ndarray, output: Output) -> bytes:
    """``image`` (uint8 grey or RGB) as ``output.media_type``."""
    if output.media_type == PNG:
        return encode_png(image)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=output.quality)
    return buffer.getvalue()
