"""What the client tests need outside Python: find a program or package, or say why the test cannot run.

In CI (CI=true) a missing tool fails the test: .ci/run installs the Debian packages, and the OHIF build is
fetched with npm into a cache. Elsewhere the test is skipped with the reason, like the PostgreSQL tests.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

from tests.databases import IN_CI

# The OHIF release whose sign-in hooks (DICOMWEB.md section 6) the viewer test was written against.
OHIF_VERSION = os.environ.get("DICOM_API_OHIF_VERSION", "3.13.2")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def unavailable(reason: str) -> None:
    """Fail in CI, where the client and browser tests must run; skip elsewhere, saying what is missing."""
    if IN_CI:
        pytest.fail(f"{reason} (in CI these tests fail rather than skip)", pytrace=False)
    pytest.skip(reason)


def need_module(name: str, extra: str = "dev") -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError:
        unavailable(f"the Python package {name!r} is missing: pip install -e '.[{extra}]'")
        raise  # unreachable: unavailable() always raises


def need_program(candidates: list[str], debian: str) -> Path:
    """The first of ``candidates`` (names on PATH or absolute paths) that exists."""
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return Path(found)
    unavailable(f"none of {', '.join(candidates)} is installed (Debian: apt-get install {debian})")
    raise AssertionError  # unreachable


def orthanc_dicomweb_plugin() -> Path:
    """The shared library of the Orthanc DICOMweb plugin, where the Debian package puts it."""
    for folder in (Path("/usr/share/orthanc/plugins"), Path("/usr/lib/orthanc")):
        found = sorted(folder.glob("libOrthancDicomWeb.so*"))
        if found:
            return found[0]
    unavailable("the Orthanc DICOMweb plugin is missing (Debian: apt-get install orthanc-dicomweb)")
    raise AssertionError  # unreachable


def chromium() -> Path:
    """The system's Chromium: the tests never download a browser."""
    configured = os.environ.get("DICOM_API_CHROMIUM")
    return need_program([configured] if configured else ["chromium", "chromium-browser"], "chromium")


def ohif_cache() -> Path:
    """Where the OHIF build is kept between runs: DICOM_API_OHIF_CACHE, else the user's cache folder."""
    configured = os.environ.get("DICOM_API_OHIF_CACHE")
    base = Path(configured) if configured else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base if configured else base / "dicom-api" / "ohif"


def ohif_dist() -> Path:
    """The built viewer (``dist/`` of the npm package @ohif/app), fetched once with ``npm pack`` into the cache."""
    folder = ohif_cache() / OHIF_VERSION
    dist = folder / "package" / "dist"
    if (dist / "index.html").is_file():
        return dist
    npm = need_program(["npm"], "npm")
    folder.mkdir(parents=True, exist_ok=True)
    packed = subprocess.run(
        [str(npm), "pack", f"@ohif/app@{OHIF_VERSION}", "--silent", "--pack-destination", str(folder)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    tarballs = sorted(folder.glob("ohif-app-*.tgz"))
    if packed.returncode != 0 or not tarballs:
        unavailable(f"npm pack @ohif/app@{OHIF_VERSION} failed: {packed.stderr.strip()[-500:]}")
    staging = folder / "unpacking"
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(staging)
    with tarfile.open(tarballs[0]) as archive:
        archive.extractall(staging, filter="data")
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(folder / "package")
    (staging / "package").rename(folder / "package")  # whole or not at all: a cut-short run leaves no half dist
    shutil.rmtree(staging)
    tarballs[0].unlink()
    return dist
