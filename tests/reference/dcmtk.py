"""Reference PNGs made by Debian's dcmtk, and how a rendering of ours is compared with one.

dcmtk is asked for what our pipeline does (PS3.4 N.2): the Modality LUT (its default), the first stored
window, else the first VOI LUT of the VOI LUT Sequence, else a min-max window over the frame; the Presentation
LUT Shape and MONOCHROME1 as the file says (its default); no overlays; 8-bit PNG.
"""

from __future__ import annotations

import io
import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

# dcm2pnm decodes native, deflated (PS3.5 A.5) and RLE (PS3.5 A.4.2) Pixel Data; the JPEG and JPEG-LS
# decoders are built into the two variants only. No Debian tool decodes JPEG 2000.
JPEG = {
    "1.2.840.10008.1.2.4.50",  # baseline (process 1)
    "1.2.840.10008.1.2.4.51",  # extended (processes 2 and 4)
    "1.2.840.10008.1.2.4.57",  # lossless (process 14)
    "1.2.840.10008.1.2.4.70",  # lossless, first-order prediction (process 14, SV1)
}
JPEG_LS = {"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"}
TOOLS = ("dcm2pnm", "dcmj2pnm", "dcml2pnm")

# Lossy transfer syntaxes: JPEG baseline and extended, JPEG-LS near-lossless, JPEG 2000 (lossy allowed).
# Decoders may round their inverse transforms differently, so these are held to a PSNR instead of +-1.
LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.91"}
MIN_PSNR = 40.0

EXACT, CLOSE, PSNR, WRONG = "exact", "close (+-1)", "lossy, PSNR >= 40 dB", "wrong"


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def tool_for(syntax: str) -> str:
    if syntax in JPEG:
        return "dcmj2pnm"
    return "dcml2pnm" if syntax in JPEG_LS else "dcm2pnm"


def window_option(ds: Dataset) -> list[str]:
    """The VOI step our pipeline takes (PS3.3 C.11.2), as dcmtk options.

    Written here rather than imported, so that a renderer that misreads a file's window is not handed the
    same misreading as its reference.
    """
    try:
        c, w = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    except (TypeError, ValueError, IndexError):
        c = w = math.nan
    if math.isfinite(c) and w > 0:
        return ["+Wi", "1"]
    if len(ds.get("VOILUTSequence") or []) > 0:
        return ["+Wl", "1"]
    return ["+Wm"]


def functional_group_window(ds: Dataset, frame: int) -> tuple[str, ...] | None:
    """dcmtk's option for the window of ``frame``'s Frame VOI LUT functional group (PS3.3 C.7.6.16.2.10),
    per-frame before shared, in a file without a top-level window; None when there is none."""
    if "WindowCenter" in ds:
        return None
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    groups = [per_frame[frame - 1]] if len(per_frame) >= frame else []
    groups += list(ds.get("SharedFunctionalGroupsSequence") or [])[:1]
    for group in groups:
        voi = group.get("FrameVOILUTSequence") or []
        if voi and "WindowCenter" in voi[0] and "WindowWidth" in voi[0]:
            return ("+Ww", str(_first(voi[0].WindowCenter)), str(_first(voi[0].WindowWidth)))
    return None


def _first(value: Any) -> float:
    """The first value of a DS element (TypeError when absent, ValueError when not a number)."""
    return float(value[0] if isinstance(value, MultiValue) else value)


def syntax_of(ds: Dataset) -> str:
    meta = getattr(ds, "file_meta", None)
    return str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""


def is_lossy(ds: Dataset) -> bool:
    return syntax_of(ds) in LOSSY or str(ds.get("LossyImageCompression", "")).strip() == "01"


@dataclass(frozen=True)
class Rendered:
    """dcmtk's PNG, or why dcmtk made none."""

    png: Path | None
    command: str
    failure: str = ""

    @property
    def made(self) -> bool:
        return self.png is not None

    def image(self) -> np.ndarray | None:
        if self.png is None:
            return None
        with Image.open(self.png) as image:
            return np.asarray(image)


class Dcmtk:
    """Runs dcmtk once per (file, frame) in a run; PNGs go to ``folder``, never into the repository."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._made: dict[tuple[Path, int, tuple[str, ...]], Rendered] = {}

    def render(self, path: Path, frame: int, window: tuple[str, ...] = ()) -> Rendered:
        """``frame`` (1-based) of ``path``; ``window`` replaces the VOI options our pipeline would choose."""
        key = (path, frame, window)
        if key not in self._made:
            self._made[key] = self._run(path, frame, window)
        return self._made[key]

    def _run(self, path: Path, frame: int, window: tuple[str, ...]) -> Rendered:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        out = self.folder / f"{len(self._made):04d}-{path.stem}-{frame}.png"
        # An enhanced image's window is its frame's functional group (PS3.3 C.7.6.16.2.10), as in our pipeline.
        voi = list(window) or list(functional_group_window(ds, frame) or ()) or window_option(ds)
        cmd = [tool_for(syntax_of(ds)), "-O", *voi, "+F", str(frame), "+on", str(path), str(out)]
        shown = " ".join(cmd[:-2] + [path.name])
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        except subprocess.TimeoutExpired:
            return Rendered(None, shown, "timed out")
        if done.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
            errors = [line for line in done.stderr.splitlines() if line.startswith(("F:", "E:"))]
            return Rendered(None, shown, f"exit {done.returncode}: {' '.join(errors) or done.stderr.strip()}")
        return Rendered(out, shown)


def decode_png(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image)


@dataclass(frozen=True)
class Comparison:
    category: str
    max_diff: int = -1
    psnr: float = 0.0
    note: str = ""

    def __str__(self) -> str:
        return self.note or f"{self.category}: max |difference| {self.max_diff}, PSNR {self.psnr:.1f} dB"


def compare(ours: np.ndarray, reference: np.ndarray, lossy: bool) -> Comparison:
    """exact, close (every sample within +-1 grey level), lossy (PSNR >= 40 dB, lossy files only) or wrong.

    Images of different shapes (sizes, or grey against RGB) are wrong.
    """
    if ours.shape != reference.shape or ours.dtype != reference.dtype:
        return Comparison(WRONG, note=f"{WRONG}: {ours.shape} {ours.dtype} against {reference.shape} {reference.dtype}")
    diff = np.abs(ours.astype(np.int64) - reference.astype(np.int64))
    largest = int(diff.max()) if diff.size else 0
    mse = float(np.mean(diff.astype(np.float64) ** 2)) if diff.size else 0.0
    psnr = math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)
    if largest == 0:
        return Comparison(EXACT, largest, psnr)
    if largest <= 1:
        return Comparison(CLOSE, largest, psnr)
    return Comparison(PSNR if lossy and psnr >= MIN_PSNR else WRONG, largest, psnr)
