"""The README's commands, portable to Windows: python scripts/dev.py run | test | lint | bench [NAME [ARGS]] | image.

Each command first makes sure the project's virtual environment (.venv) exists and has the project
installed with its development tools; it reinstalls only when pyproject.toml changes.

`test [PYTEST ARGS]` runs pytest twice, the arguments passed to both: the whole suite on SQLite, then the
integration and e2e tests on the PostgreSQL server of DICOM_API_TEST_POSTGRES_URL (tests/conftest.py says
which tests the second pass leaves out). It fails when either pass fails.

`image [--base IMAGE] [--tag TAG]` builds the container image (dicom-api:local) with podman or docker, offline
if need be; see scripts/image.py.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts" if os.name == "nt" else "bin") / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".dicom-api-installed"
NO_TESTS = 5  # pytest's exit code when no test was collected or selected


def ensure_env() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may be started by an older Python
        sys.exit("Python 3.11 or newer is needed.")
    if not PYTHON.exists():
        print("creating the virtual environment in .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    print("installing the project and its development tools into .venv ...", flush=True)
    _run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    _run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]"])
    STAMP.write_text(wanted)


def _run(cmd: list[str]) -> None:
    code = subprocess.call(cmd, cwd=ROOT)
    if code:
        sys.exit(code)


def main() -> int:
    command, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if command not in {"run", "test", "lint", "bench", "image"}:
        print(__doc__)
        return 2
    ensure_env()
    if command == "image":  # the wheelhouse is made with .venv's pip
        sys.path.insert(0, str(ROOT / "scripts"))
        from image import main as image_main

        return image_main(args, str(PYTHON))
    if command == "run":
        _run([str(PYTHON), "-m", "dicom_api.cli", "migrate"])
        return subprocess.call([str(PYTHON), "-m", "dicom_api.cli", "serve", *args], cwd=ROOT)
    if command == "test":
        return test(args)
    if command == "bench":  # bench [render|upload_memory [options]]: one benchmark with its options, or all
        scripts = [args[0]] if args else ["render", "upload_memory"]
        for script in scripts:
            _run([str(PYTHON), str(ROOT / "benchmarks" / f"{script.removesuffix('.py')}.py"), *args[1:]])
        return 0
    return lint()


def test(args: list[str]) -> int:
    """pytest on SQLite, then on PostgreSQL; the exit code of the first pass that failed."""
    failed = 0
    for database in ("sqlite", "postgres"):
        print(f"==> pytest on {database}", flush=True)
        env = {**os.environ, "DICOM_API_TEST_DATABASE": database}
        code = subprocess.call([str(PYTHON), "-m", "pytest", *args], cwd=ROOT, env=env)
        if code == NO_TESTS and database == "postgres" and args and not failed:
            # The arguments chose only tests that run once, on SQLite (unit tests, say): nothing was missed.
            print("==> none of the chosen tests runs on PostgreSQL", flush=True)
            code = 0
        failed = failed or code
    return failed


def lint() -> int:
    """ruff, mypy, import contracts, the Dockerfile and the compose and workflow files' schemas."""
    lint_imports = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"
    hadolint = str(PYTHON.parent / ("hadolint.exe" if os.name == "nt" else "hadolint"))
    checks = [
        [str(PYTHON), "-m", "ruff", "check", "."],
        [str(PYTHON), "-m", "ruff", "format", "--check", "."],
        [str(PYTHON), "-m", "mypy"],
        [str(PYTHON), "-c", lint_imports],
        [hadolint, "--failure-threshold", "warning", "Dockerfile"],
        [str(PYTHON), "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", "docker-compose.yml"],
        [str(PYTHON), "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         ".github/workflows/ci.yml"],
    ]  # fmt: skip
    failed = 0
    for cmd in checks:
        print("==>", " ".join(Path(cmd[0]).name if i == 0 else part for i, part in enumerate(cmd)), flush=True)
        failed |= subprocess.call(cmd, cwd=ROOT)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
