"""Rendering benchmark: decode, LUT, encode and total milliseconds per image, first and cached, beside
dcmtk's dcm2pnm run on the same files in the same run.

    python benchmarks/render.py [--repeats 7] [--keep DIR]

Figures are medians of the repeats, on whatever machine runs it; compare ratios, not absolute values.
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pydicom
from PIL import Image
from pydicom.pixels.utils import pixel_array

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import make_ct, make_multiframe, make_radiograph  # noqa: E402

from dicom_api.dicom.png import encode_png  # noqa: E402
from dicom_api.dicom.render import grayscale_to_8bit, render_png  # noqa: E402
from dicom_api.storage import FilesystemBlobStore  # noqa: E402


def median_ms(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def encoders(image: np.ndarray, repeats: int) -> dict[str, tuple[float, int]]:
    def pil(level: int) -> Callable[[], bytes]:
        def run() -> bytes:
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="PNG", compress_level=level)
            return buffer.getvalue()

        return run

    def cv(level: int, strategy: int) -> Callable[[], bytes]:
        params = [cv2.IMWRITE_PNG_COMPRESSION, level, cv2.IMWRITE_PNG_STRATEGY, strategy]
        return lambda: bytes(cv2.imencode(".png", image, params)[1].tobytes())

    candidates = {
        "libdeflate level 1 (ours)": lambda: encode_png(image),
        "Pillow level 6": pil(6),
        "Pillow level 1": pil(1),
        "OpenCV level 1": cv(1, cv2.IMWRITE_PNG_STRATEGY_DEFAULT),
        "OpenCV level 1 RLE": cv(1, cv2.IMWRITE_PNG_STRATEGY_RLE),
    }
    out = {}
    for name, fn in candidates.items():
        ms, data = median_ms(fn, repeats)
        out[name] = (ms, len(data))
    return out


def dcmtk_ms(path: Path, ds: pydicom.Dataset, frame: int, repeats: int, workdir: Path) -> float | None:
    tool = shutil.which("dcm2pnm")
    if tool is None:
        return None
    window = ["+Wi", "1"] if "WindowCenter" in ds else ["+Wm"]  # the same choice as our pipeline
    cmd = [tool, *window, "-O", "+F", str(frame), "+on", str(path), str(workdir / "out.png")]
    ms, _ = median_ms(lambda: subprocess.run(cmd, check=True, capture_output=True), repeats)
    return ms


def measure(name: str, path: Path, frame: int, repeats: int, workdir: Path) -> dict[str, Any]:
    ds = pydicom.dcmread(path, stop_before_pixels=True)

    def decode() -> np.ndarray:
        with path.open("rb") as fp:
            return np.asarray(pixel_array(fp, index=frame - 1))

    decode_ms, arr = median_ms(decode, repeats)
    lut_ms, image = median_ms(lambda: grayscale_to_8bit(arr, ds), repeats)
    encode = encoders(image, repeats)

    def first() -> bytes:
        with path.open("rb") as fp:
            return render_png(fp, frame)

    total_ms, png = median_ms(first, repeats)
    store = FilesystemBlobStore(workdir / "blobs")
    key = f"renders/{'0' * 32}/{path.stem}-{frame}.png"
    store.put_bytes(key, png)

    def cached() -> bytes:
        with store.open(key) as fp:
            return fp.read()

    cached_ms, _ = median_ms(cached, repeats)
    return {
        "name": name,
        "shape": f"{arr.shape[1]}x{arr.shape[0]}",
        "decode": decode_ms,
        "lut": lut_ms,
        "encode": encode["libdeflate level 1 (ours)"][0],
        "total": total_ms,
        "cached": cached_ms,
        "dcm2pnm": dcmtk_ms(path, ds, frame, repeats, workdir),
        "png_bytes": len(png),
        "encoders": encode,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="write the corpus here instead of a temporary folder")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="render-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print("building the corpus ...", flush=True)
    files = [
        ("CT 512x512", make_ct(workdir / "ct.dcm"), 1),
        ("radiograph 2500x2000", make_radiograph(workdir / "dx.dcm"), 1),
        ("100-frame 512x512, frame 50", make_multiframe(workdir / "mf.dcm"), 50),
    ]
    rows = [measure(name, path, frame, args.repeats, workdir) for name, path, frame in files]

    print("\n| image | decode ms | LUT ms | encode ms | first render ms | cached ms | dcm2pnm process ms |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        dcmtk = f"{r['dcm2pnm']:.1f}" if r["dcm2pnm"] is not None else "n/a (dcmtk missing)"
        print(
            f"| {r['name']} ({r['shape']}) | {r['decode']:.1f} | {r['lut']:.1f} | {r['encode']:.1f} | "
            f"{r['total']:.1f} | {r['cached']:.2f} | {dcmtk} |"
        )
    print("\nPNG encoders on the rendered 8-bit frame (ms, bytes):\n")
    print("| image | " + " | ".join(rows[0]["encoders"]) + " |")
    print("|---|" + "---|" * len(rows[0]["encoders"]))
    for r in rows:
        cells = " | ".join(f"{ms:.1f} ms, {size / 1e6:.2f} MB" for ms, size in r["encoders"].values())
        print(f"| {r['name']} | {cells} |")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
