"""`python3 scripts/dev.py image [--base IMAGE] [--tag TAG]`: build the container image with podman or docker.

Offline if need be, as an air-gapped site builds: the dependencies go into the image from a wheelhouse made
here (build/wheelhouse, remade when pyproject.toml changes), and where no registry answers for the base image
(python:3.11-slim), a Debian base is made from Debian's packages with debootstrap (root, Linux).

The image carries the SHA-256 of what it is built from (Dockerfile, pyproject.toml, README.md, src/, the base's
id) as the label org.dicom-api.source and the tag dicom-api:src-<first 12 hex>; an image of the same sources is
reused, not rebuilt. The container tests build through here too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASE = "python:3.11-slim"
DEBIAN_BASE = "dicom-api-base:bookworm"  # made by debootstrap when no registry answers
DEBIAN_PACKAGES = "python3,python3-venv,ca-certificates"
TAG = "dicom-api:local"
REPOSITORY = "dicom-api"
LABEL = "org.dicom-api.source"
WHEELHOUSE = ROOT / "build" / "wheelhouse"
Say = Callable[[str], None]
SOURCES = ("Dockerfile", ".dockerignore", "pyproject.toml", "README.md")
PULL_SECONDS = 300


class ImageError(RuntimeError):
    """The image build failed; the message says which step."""


class ImageUnavailable(ImageError):
    """This machine cannot build the image (no engine, no base); the message says what is missing."""


@dataclass(frozen=True)
class Image:
    engine: tuple[str, ...]  # the command that runs it, e.g. ("podman", "--runtime", "runc")
    tag: str
    source_hash: str
    size_bytes: int
    reused: bool
    seconds: float


def find_engine() -> tuple[str, ...]:
    """podman, else docker: the first one installed that answers `info` (a docker CLI without its daemon does not).
    DICOM_API_CONTAINER_ENGINE=podman|docker chooses one; podman runs with runc where it is installed."""
    wanted = os.environ.get("DICOM_API_CONTAINER_ENGINE", "")
    candidates = [wanted] if wanted else ["podman", "docker"]
    tried = []
    for name in candidates:
        path = shutil.which(name)
        if path is None:
            tried.append(f"{name}: not installed")
            continue
        command: tuple[str, ...] = (path,)
        runtime = os.environ.get("DICOM_API_PODMAN_RUNTIME", "runc" if shutil.which("runc") else "")
        if name == "podman" and runtime:
            # crun, podman's default runtime, fails on some hosts' cgroup set-ups; runc, the reference runtime,
            # runs where podman does. DICOM_API_PODMAN_RUNTIME= (empty) keeps podman's own choice.
            command = (path, "--runtime", runtime)
        answer = subprocess.run([*command, "info"], capture_output=True, text=True, check=False)
        if answer.returncode == 0:
            return command
        last = (answer.stderr.strip().splitlines() or ["no output"])[-1]
        tried.append(f"{name}: `{name} info` failed: {last}")
    raise ImageUnavailable("building the image needs podman or docker (" + "; ".join(tried) + ")")


def source_hash(base_id: str) -> str:
    """SHA-256 of every file the image is built from, by path and content, and of the base image's id."""
    digest = hashlib.sha256(base_id.encode())
    files = [ROOT / name for name in SOURCES]
    files += sorted(p for p in (ROOT / "src").rglob("*") if p.is_file() and not _generated(p))
    for path in files:
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _generated(path: Path) -> bool:
    """Bytecode and the metadata of an editable install: made on this machine, not sources (.dockerignore)."""
    return "__pycache__" in path.parts or any(part.endswith(".egg-info") for part in path.parts)


def _labels(engine: tuple[str, ...], image: str) -> dict[str, str] | None:
    """The image's labels, or None when the engine has no such image."""
    answer = subprocess.run(
        [*engine, "image", "inspect", "--format", "{{json .Config.Labels}}", image],
        capture_output=True,
        text=True,
        check=False,
    )
    if answer.returncode != 0:
        return None
    return json.loads(answer.stdout.strip() or "null") or {}


def _size(engine: tuple[str, ...], image: str) -> int:
    answer = subprocess.run(
        [*engine, "image", "inspect", "--format", "{{.Size}}", image], capture_output=True, text=True, check=True
    )
    return int(answer.stdout.strip())


def _call(command: list[str], what: str, **kwargs: object) -> None:
    if subprocess.run(command, check=False, **kwargs).returncode != 0:  # type: ignore[call-overload]
        raise ImageError(f"{what} failed: {' '.join(command)}")


def ensure_base(engine: tuple[str, ...], base: str, say: Say) -> str:
    """The base image to build on: ``base`` when the engine has it or can pull it; for the default base where no
    registry answers, a Debian base made with debootstrap (made once, reused after)."""
    if _labels(engine, base) is not None:
        return base
    say(f"pulling {base} ...")
    try:
        pulled = subprocess.run([*engine, "pull", base], capture_output=True, timeout=PULL_SECONDS, check=False)
        if pulled.returncode == 0:
            return base
    except subprocess.TimeoutExpired:
        pass
    if base != DEFAULT_BASE:
        raise ImageUnavailable(f"the base image {base} is neither here nor pullable")
    if _labels(engine, DEBIAN_BASE) is not None:
        say(f"no registry answers for {base}: building on {DEBIAN_BASE}, made earlier from Debian's packages")
        return DEBIAN_BASE
    make_debian_base(engine, say)
    return DEBIAN_BASE


def make_debian_base(engine: tuple[str, ...], say: Say) -> None:
    """Debian bookworm (Python 3.11) from Debian's package mirror: debootstrap into a folder, then import it."""
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        raise ImageUnavailable(
            f"no registry answers for {DEFAULT_BASE}; making a Debian base instead needs debootstrap, run as root "
            f"on Linux (apt-get install debootstrap), or pass --base IMAGE (any Debian-like image with Python 3.11)"
        )
    say(f"no registry answers for {DEFAULT_BASE}: making {DEBIAN_BASE} from Debian's packages (debootstrap) ...")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dicom-api-base-") as folder:
        root = Path(folder) / "root"
        _call(
            [debootstrap, "--variant=minbase", f"--include={DEBIAN_PACKAGES}", "bookworm", str(root)],
            "debootstrap",
            stdout=subprocess.DEVNULL,
        )
        _trim(root)
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        try:
            _call([*engine, "import", "--change", 'CMD ["python3"]', "-", DEBIAN_BASE], "import", stdin=tar.stdout)
        finally:
            if tar.stdout is not None:
                tar.stdout.close()
            tar.wait()
    say(f"made {DEBIAN_BASE} in {time.monotonic() - started:.0f} s")


def _trim(root: Path) -> None:
    """What a server never reads: package downloads, manuals, translations (about 50 MB). The packages' copyright
    files stay, as Debian's licences ask."""
    for folder in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/man", "usr/share/info"):
        for item in (root / folder).glob("*"):
            if item.is_file():
                item.unlink()
            elif item.is_dir():
                shutil.rmtree(item)
    for item in (root / "usr/share/locale").glob("*"):
        if item.is_dir():  # translations; locale.alias, a file, is read by the C library
            shutil.rmtree(item)
    for item in (root / "usr/share/doc").rglob("*"):
        if item.is_file() and item.name != "copyright":
            item.unlink()


def ensure_wheelhouse(python: str, say: Say) -> None:
    """build/wheelhouse: the dependencies of pyproject.toml (and setuptools, to install the project) as wheels,
    remade when pyproject.toml changes. Wheels are made by this Python, so it must be the image's (3.11, Linux)."""
    import tomllib

    pyproject = (ROOT / "pyproject.toml").read_bytes()
    wanted = hashlib.sha256(pyproject).hexdigest()
    stamp = WHEELHOUSE / ".pyproject-sha256"
    if stamp.exists() and stamp.read_text().strip() == wanted:
        say(f"wheelhouse up to date: {len(list(WHEELHOUSE.glob('*.whl')))} wheels in build/wheelhouse")
        return
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.platform, *sys.version_info[:2])"], capture_output=True, text=True
    ).stdout.split()
    if version != ["linux", "3", "11"]:
        raise ImageUnavailable("the wheelhouse needs Python 3.11 on Linux, the image's; run dev.py with it")
    dependencies = tomllib.loads(pyproject.decode())["project"]["dependencies"]
    say(f"making the wheelhouse: {len(dependencies)} dependencies and theirs, as wheels ...")
    shutil.rmtree(WHEELHOUSE, ignore_errors=True)
    WHEELHOUSE.mkdir(parents=True)
    _call(
        [python, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(WHEELHOUSE), "setuptools>=77", *dependencies],
        "pip wheel",
    )
    stamp.write_text(wanted)
    wheels = list(WHEELHOUSE.glob("*.whl"))
    say(f"wheelhouse: {len(wheels)} wheels, {sum(w.stat().st_size for w in wheels) / 1e6:.0f} MB")


def build(
    base: str = DEFAULT_BASE,
    tag: str = TAG,
    python: str = sys.executable,
    say: Say = print,
) -> Image:
    """The image of the current sources, built or reused."""
    started = time.monotonic()
    engine = find_engine()
    base = ensure_base(engine, base, say)
    base_id = subprocess.run(
        [*engine, "image", "inspect", "--format", "{{.Id}}", base], capture_output=True, text=True, check=True
    ).stdout.strip()
    digest = source_hash(base_id)
    by_source = f"{REPOSITORY}:src-{digest[:12]}"
    labels = _labels(engine, by_source)
    if labels is not None and labels.get(LABEL) == digest:
        _call([*engine, "tag", by_source, tag], "tag")
        size = _size(engine, tag)
        say(f"{tag}: reused {by_source}, built earlier from the same sources ({size / 1e6:.0f} MB)")
        return Image(engine, tag, digest, size, True, time.monotonic() - started)
    ensure_wheelhouse(python, say)
    say(f"building {tag} on {base} with {Path(engine[0]).name} ...")
    command = [*engine, "build"]
    if Path(engine[0]).name == "podman":
        command += ["--format", "docker"]  # the OCI format has no HEALTHCHECK; podman keeps it in docker's
    command += ["--build-arg", f"BASE_IMAGE={base}", "--label", f"{LABEL}={digest}", "--tag", by_source, "--tag", tag]
    _call([*command, "--file", str(ROOT / "Dockerfile"), str(ROOT)], "the image build")
    image = Image(engine, tag, digest, _size(engine, tag), False, time.monotonic() - started)
    say(f"built {tag} ({by_source}) in {image.seconds:.0f} s: {image.size_bytes / 1e6:.0f} MB")
    return image


def main(args: list[str], python: str = sys.executable) -> int:
    parser = argparse.ArgumentParser(prog="dev.py image", description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=DEFAULT_BASE, help=f"base image (default {DEFAULT_BASE})")
    parser.add_argument("--tag", default=TAG, help=f"image tag (default {TAG})")
    options = parser.parse_args(args)
    try:
        build(options.base, options.tag, python, lambda line: print(line, flush=True))
    except ImageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
