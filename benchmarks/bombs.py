"""Memory and time of the bombs of tests/bombs.py, and of honest images at the frame limit, rendered or
inspected the way a render worker or an upload does it.

    python benchmarks/bombs.py                 # every case, each in a fresh process
    python benchmarks/bombs.py rle_huge        # some of them

Each case runs in its own process, reading its file from disk, so the peak resident memory it reports
belongs to that case alone.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import bombs  # noqa: E402 - after the path to the project

MIB = 1024 * 1024


def _grey(rows: int, columns: int, bits: int, values: np.ndarray) -> bytes:
    ds = bombs.image(rows, columns, bits=bits)
    ds.PixelData = values.astype(f"<u{bits // 8}").tobytes()
    return bombs.to_file(ds)


def _float_grey() -> bytes:  # 4096 x 4096 32-bit float: 64 MiB, the default limit; the float pipeline
    ds = bombs.image(4096, 4096, bits=32)
    del ds.BitsStored, ds.HighBit, ds.PixelRepresentation
    ds.FloatPixelData = np.random.default_rng(0).random((4096, 4096), dtype=np.float32).tobytes()
    return bombs.to_file(ds)


def _ybr_jpeg() -> bytes:  # 4700 x 4700 RGB as YBR_FULL_422 JPEG baseline: 63 MiB decoded
    from PIL import Image
    from pydicom.uid import JPEGBaseline8Bit

    rgb = (np.random.default_rng(0).random((4700, 4700, 3)) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=90)
    ds = bombs.image(4700, 4700, samples=3)
    ds.PhotometricInterpretation = "YBR_FULL_422"
    return bombs.encapsulated(ds, buffer.getvalue(), JPEGBaseline8Bit)


CASES: dict[str, Callable[[], bytes]] = {
    "deflate_bomb (2 GiB inflated)": lambda: bombs.deflate_bomb(2 * 1024**3),
    "zeros_stream (1 GiB inflated)": lambda: bombs.zeros_stream(1024 * MIB),
    "deflated 900,000 empty items": bombs.items_bomb,
    "native_huge": bombs.native_huge,
    "one_bit_huge": bombs.one_bit_huge,
    "rle_huge": bombs.rle_huge,
    "jpeg_baseline_huge": bombs.jpeg_baseline_huge,
    "jpeg_ls_huge": bombs.jpeg_ls_huge,
    "j2k_huge": bombs.j2k_huge,
    "huge_number_of_frames": bombs.huge_number_of_frames,
    "honest 2500x2000 16-bit": lambda: _grey(2500, 2000, 16, np.arange(5_000_000, dtype=np.uint32) % 4096),
    "honest 4000x5000 16-bit": lambda: _grey(4000, 5000, 16, np.arange(20_000_000, dtype=np.uint32) % 4096),
    "honest 4096x4096 float32": _float_grey,
    "honest 4700x4700 YBR JPEG": _ybr_jpeg,
}


def run_case(name: str, path: Path) -> None:
    """In the child process: inspect (deflated bombs, as an upload does) or render ``path``; print one line."""
    from dicom_api.dicom.inspect import inspect_dicom
    from dicom_api.dicom.render import render_png
    from dicom_api.errors import AppError

    before = _peak_rss()
    start = time.perf_counter()
    try:
        if name.startswith(("deflate", "zeros")):  # refused at upload
            inspect_dicom(path)
            outcome = "accepted"
        else:
            with path.open("rb") as fp:
                outcome = f"PNG of {len(render_png(fp)) // 1024} KiB"
    except AppError as exc:
        outcome = f"{exc.status_code}: {exc.message[:70]}"
    seconds = time.perf_counter() - start
    size = path.stat().st_size
    print(f"| {name} | {size:,} | {outcome} | {seconds:.2f} | {before / MIB:.0f} | {_peak_rss() / MIB:.0f} |")


def _peak_rss() -> int:
    """The process's peak resident memory: Linux's VmHWM (ru_maxrss would include the parent's before exec),
    Windows's peak working set, else the current RSS."""
    status = Path("/proc/self/status")
    if status.exists():
        line = next(line for line in status.read_text().splitlines() if line.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024
    info = psutil.Process().memory_info()
    return int(getattr(info, "peak_wset", info.rss))


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--case":
        run_case(sys.argv[2], Path(sys.argv[3]))
        return 0
    names = [n for n in CASES if not sys.argv[1:] or any(a in n for a in sys.argv[1:])]
    print("| case | file bytes | outcome | seconds | RSS before, MiB | peak RSS, MiB |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="dicom-api-bombs-") as tmp:
        for name in names:
            path = Path(tmp) / "case.dcm"
            path.write_bytes(CASES[name]())
            subprocess.run([sys.executable, __file__, "--case", name, str(path)], check=True)  # noqa: S603
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
