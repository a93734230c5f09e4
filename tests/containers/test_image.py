"""The image as it ships: the API contract against a running container, its data volume across a restart, its
health check, its user, and two containers on PostgreSQL and S3 given by environment variables only."""

from __future__ import annotations

import io
import os
import uuid

import httpx
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from tests.containers.engine import Start, healthcheck_command, scaled_environment, volume_name
from tests.s3 import s3_objects

pytestmark = pytest.mark.slow

CT = get_testdata_file("CT_small.dcm")
RTPLAN = get_testdata_file("rtplan.dcm")


def _upload(client: httpx.Client, data: bytes, name: str = "f.dcm") -> httpx.Response:
    return client.post("/upload/dicom", files={"file": (name, data, "application/dicom")})


def _is_error(response: httpx.Response) -> bool:
    body = response.json()
    return isinstance(body, dict) and isinstance(body.get("error"), str) and bool(body["error"])


@pytest.fixture(scope="module")
def ct_bytes() -> bytes:
    assert CT is not None
    assert RTPLAN is not None
    with open(CT, "rb") as file:
        return file.read()


def test_contract_against_the_container(start: Start, ct_bytes: bytes) -> None:
    """The three contract endpoints, bad inputs, Swagger and the original, on the image's own configuration."""
    with start(volume=volume_name()).client() as client:
        response = _upload(client, ct_bytes)
        assert response.status_code == 201, response.text
        file_id = response.json()["file_id"]
        assert len(file_id) == 32
        assert all(ch in "0123456789abcdef" for ch in file_id)

        png = client.get(f"/download/png/{file_id}")
        assert png.status_code == 200
        assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
        assert Image.open(io.BytesIO(png.content)).size == (128, 128)

        attribute = client.get(
            "/header_attribute", params={"file_id": file_id, "tag_group": "0010", "tag_element": "0010"}
        )
        assert attribute.status_code == 200, attribute.text
        assert attribute.json()["header_attributes"]["VR"] == "PN"
        assert attribute.json()["header_attributes"]["name"] == "Patient's Name"
        rows = client.get(
            "/header_attribute", params={"file_id": file_id, "tag_group": "0x0028", "tag_element": "0x0010"}
        )
        assert rows.status_code == 200
        assert rows.json()["header_attributes"]["value"] in (128, "128", [128])

        absent = client.get(
            "/header_attribute", params={"file_id": file_id, "tag_group": "0011", "tag_element": "0999"}
        )
        assert absent.status_code == 404
        assert _is_error(absent)
        bad_group = client.get(
            "/header_attribute", params={"file_id": file_id, "tag_group": "zz10", "tag_element": "0010"}
        )
        assert bad_group.status_code == 400
        assert _is_error(bad_group)
        unknown = client.get(f"/download/png/{uuid.uuid4().hex}")
        assert unknown.status_code == 404
        assert _is_error(unknown)
        for payload in (b"hello, not dicom\n" * 50, b"", os.urandom(4096), ct_bytes[: len(ct_bytes) // 3]):
            rejected = _upload(client, payload)
            assert rejected.status_code == 400, rejected.text
            assert _is_error(rejected)
        route = client.get("/no/such/route")
        assert route.status_code == 404
        assert _is_error(route)
        assert "swagger" in client.get("/swagger/").text.lower()

        assert RTPLAN is not None
        with open(RTPLAN, "rb") as file:
            plan = _upload(client, file.read())
        assert plan.status_code == 201
        no_image = client.get(f"/download/png/{plan.json()['file_id']}")
        assert no_image.status_code == 404
        assert _is_error(no_image)
        original = client.get(f"/files/{file_id}/dicom")
        assert original.status_code == 200
        assert original.content == ct_bytes


def test_files_survive_a_restart_and_a_new_container_on_the_data_volume(start: Start, ct_bytes: bytes) -> None:
    volume = volume_name()
    container = start(volume=volume)
    with container.client() as client:
        file_id = _upload(client, ct_bytes).json()["file_id"]
    container.restart()
    with container.client() as client:
        original = client.get(f"/files/{file_id}/dicom")
        assert original.status_code == 200
        assert original.content == ct_bytes
    # A restart keeps the container's own layer; a new container has only the volume: the database, the blobs
    # and the signing key (the admin's token from before is still good).
    with container.client() as client:
        headers = dict(client.headers)
    container.remove()
    successor = start(volume=volume, env={"DICOM_API_ADMIN_PASSWORD": container.admin_password})
    with httpx.Client(base_url=successor.url, headers=headers, timeout=60) as client:
        original = client.get(f"/files/{file_id}/dicom")
        assert original.status_code == 200
        assert original.content == ct_bytes
        assert client.get(f"/download/png/{file_id}").status_code == 200


def test_health_check_and_user(start: Start) -> None:
    container = start()
    command = healthcheck_command(container.image)
    assert container.exec(*command).returncode == 0
    if container.image.podman:
        health = container.image.run("healthcheck", "run", container.name, check=False)
        assert health.returncode == 0, health.stdout + health.stderr
    # Pointed at a port where nothing listens, the same check fails: it does ask the service.
    assert container.exec(*command, env={"DICOM_API_PORT": "1"}).returncode != 0

    status = container.exec("cat", "/proc/1/status").stdout  # the server: process 1 (sh exec'd into it)
    uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
    assert uids
    assert all(uid == "10001" for uid in uids)
    assert container.exec("id", "-u").stdout.strip() == "10001"
    assert "dicom-api" in container.exec("cat", "/proc/1/cmdline").stdout


def test_two_containers_on_postgres_and_s3(
    start: Start, fresh_postgres_url: str, s3_endpoint: str, s3_bucket: str, ct_bytes: bytes
) -> None:
    """Everything through environment variables, as the compose file sets them; the second container finds the
    first one's schema, users and files."""
    env = scaled_environment(fresh_postgres_url, s3_endpoint, s3_bucket)
    first = start(env=env, host_network=True)
    second = start(env=env, host_network=True)
    with first.client() as one, second.client() as two:
        file_id = _upload(one, ct_bytes).json()["file_id"]
        original = two.get(f"/files/{file_id}/dicom")
        assert original.status_code == 200
        assert original.content == ct_bytes
        assert two.get(f"/download/png/{file_id}").status_code == 200
        assert one.get(f"/download/png/{file_id}").status_code == 200
    keys = s3_objects(s3_endpoint, s3_bucket)
    assert keys
    assert all(key.startswith("files/") for key in keys)
    for container in (first, second):  # no embedded database beside the real one
        assert "dicom-api.sqlite3" not in container.exec("ls", "-a", "/data").stdout
