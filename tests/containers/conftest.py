"""The image of the current sources, built once per session (or reused: see scripts/image.py), and its containers.

Building needs podman or docker; with CI=true these tests fail without one, elsewhere they skip with the reason.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator, Mapping

import pytest

from tests.containers.engine import Built, Container, Start, image_module, ulimit_options, wait_healthy
from tests.databases import IN_CI
from tests.e2e.live import free_port


@pytest.fixture(scope="session")
def image() -> Built:
    """dicom-api:local built from this checkout, or the image of the same sources built earlier."""
    module = image_module()
    try:
        built = module.build(say=lambda line: print(line, flush=True))
    except module.ImageUnavailable as exc:
        if IN_CI:
            pytest.fail(f"{exc} (in CI, the container tests fail rather than skip)", pytrace=False)
        pytest.skip(str(exc))
    except module.ImageError as exc:  # a build that fails is a failure everywhere
        pytest.fail(str(exc), pytrace=False)
    return Built(tuple(built.engine), built.tag)


@pytest.fixture
def start(image: Built) -> Iterator[Start]:
    """Run the image: ``start(volume=NAME)`` on its own config behind a loopback port mapping, or
    ``start(host_network=True, env={...})`` on the host's network (its PostgreSQL and S3 on loopback), serving on
    a free loopback port. Containers and volumes are removed afterwards."""
    names: list[str] = []
    volumes: list[str] = []

    def _start(
        env: Mapping[str, str] | None = None, volume: str | None = None, host_network: bool = False
    ) -> Container:
        name = f"dicom-api-test-{uuid.uuid4().hex[:10]}"
        password = (env or {}).get("DICOM_API_ADMIN_PASSWORD") or secrets.token_urlsafe(18)
        port = free_port()
        variables = {"DICOM_API_ADMIN_PASSWORD": password, "DICOM_API_RENDER_WORKERS": "2", **(env or {})}
        options = ["--detach", "--name", name, *ulimit_options()]
        if host_network:
            variables |= {"DICOM_API_HOST": "127.0.0.1", "DICOM_API_PORT": str(port)}
            options += ["--network", "host"]
        else:
            options += ["--publish", f"127.0.0.1:{port}:8080"]
        if volume is not None:
            options += ["--volume", f"{volume}:/data"]
            if volume not in volumes:
                volumes.append(volume)
        for key, value in variables.items():
            options += ["--env", f"{key}={value}"]
        names.append(name)
        image.run("run", *options, image.tag)
        container = Container(image, name, f"http://127.0.0.1:{port}", password)
        wait_healthy(container)
        return container

    yield _start
    for name in names:
        image.run("rm", "--force", "--volumes", name, check=False)
    for volume in volumes:
        image.run("volume", "rm", "--force", volume, check=False)
