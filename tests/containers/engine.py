"""What the container tests share: the built image, its running containers and the environment they are given
(the fixtures that build and start them are in conftest.py)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from tests.s3 import moto_environment

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 120.0
JWT_SECRET = "container-tests-secret-0123456789abcdef0123456789"


def image_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dicom_api_image", ROOT / "scripts" / "image.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Built:
    engine: tuple[str, ...]
    tag: str

    @property
    def podman(self) -> bool:
        return Path(self.engine[0]).name == "podman"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        answer = subprocess.run([*self.engine, *args], capture_output=True, text=True, check=False)
        if check and answer.returncode != 0:
            pytest.fail(f"{' '.join(args[:2])} failed ({answer.returncode}): {answer.stderr[-2000:]}", pytrace=False)
        return answer


@dataclass(frozen=True)
class Container:
    image: Built
    name: str
    url: str
    admin_password: str

    def client(self) -> httpx.Client:
        """An HTTP client of the container, signed in as admin."""
        response = httpx.post(
            f"{self.url}/auth/token", data={"username": "admin", "password": self.admin_password}, timeout=30
        )
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def exec(self, *command: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        options = [item for key, value in (env or {}).items() for item in ("--env", f"{key}={value}")]
        return self.image.run("exec", *options, self.name, *command, check=False)

    def restart(self) -> None:
        self.image.run("restart", self.name)
        wait_healthy(self)

    def remove(self) -> None:
        self.image.run("rm", "--force", "--volumes", self.name)

    def logs(self) -> str:
        answer = self.image.run("logs", self.name, check=False)
        return (answer.stdout + answer.stderr)[-4000:]


def ulimit_options() -> list[str]:
    """The engine's default open-file and process limits (podman's: 1048576 and 32768), capped at this process's
    own: where the engine lacks CAP_SYS_RESOURCE (a container host inside a container) it cannot raise them."""
    try:
        import resource
    except ImportError:  # Windows: the engine's defaults
        return []
    options = []
    for name, limit, default in (("nofile", resource.RLIMIT_NOFILE, 1048576), ("nproc", resource.RLIMIT_NPROC, 32768)):
        hard = resource.getrlimit(limit)[1]
        value = default if hard == resource.RLIM_INFINITY else min(hard, default)
        options += ["--ulimit", f"{name}={value}:{value}"]
    return options


def wait_healthy(container: Container) -> None:
    """Until /health answers 200; fails with the container's log when it stops or never answers."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{container.url}/health", timeout=2).status_code == 200:
                return
        state = container.image.run("inspect", "--format", "{{.State.Running}}", container.name, check=False)
        if state.stdout.strip() != "true":
            pytest.fail(f"the container stopped:\n{container.logs()}", pytrace=False)
        time.sleep(0.5)
    pytest.fail(f"no answer from {container.url}/health in {STARTUP_SECONDS:.0f} s:\n{container.logs()}")


Start = Callable[..., Container]


def healthcheck_command(image: Built) -> list[str]:
    """The image's HEALTHCHECK command (["CMD", ...] in its configuration)."""
    answer = image.run("image", "inspect", "--format", "{{json .Config.Healthcheck}}", image.tag)
    test = (json.loads(answer.stdout) or {}).get("Test") or []
    assert test[:1] == ["CMD"], f"the image has no exec-form HEALTHCHECK: {answer.stdout}"
    return list(test[1:])


def volume_name() -> str:
    return f"dicom-api-test-{uuid.uuid4().hex[:10]}"


Start = Callable[..., Container]


def scaled_environment(database_url: str, s3_endpoint: str, bucket: str) -> dict[str, str]:
    """What a container beyond one machine is given: the variables of docker-compose.yml's api service."""
    return {
        "DICOM_API_DATABASE_URL": database_url,
        "DICOM_API_JWT_SECRET": JWT_SECRET,
        "DICOM_API_ADMIN_PASSWORD": "container-admin-password-0123",
        "DICOM_API_WORKERS": "2",
        **moto_environment(s3_endpoint, bucket, "files"),
    }
