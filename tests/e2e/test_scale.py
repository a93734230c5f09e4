"""Two server processes on different ports sharing one PostgreSQL database and one S3 bucket (moto on loopback):
whatever one stores, the other serves; sign-in throttling and render-once hold across both; concurrent uploads
split between them lose nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pydicom
import pytest
from PIL import Image
from pydicom.uid import generate_uid

from tests import databases
from tests.e2e.big_dicom import COLUMNS, ROWS, write_big_dicom
from tests.e2e.live import LiveServer, run_server
from tests.helpers import ADMIN_PASSWORD, JWT_SECRET, sample
from tests.s3 import bucket_client, create_bucket, moto_environment, remove_bucket, s3_objects

pytestmark = pytest.mark.postgres

CT = sample("CT_small.dcm")
PREFIX = "shared"
UPLOADS = 50
MAX_FAILURES = 3


@dataclass(frozen=True)
class Pair:
    a: LiveServer
    b: LiveServer
    bucket: str
    endpoint: str

    def user(self, name: str) -> dict[str, str]:
        """A new account, created through A; its bearer header, from B's sign-in."""
        password = f"{name}-password-123"
        with self.a.client() as api:
            created = api.post("/users", json={"username": name, "password": password, "role": "user"})
            assert created.status_code == 201, created.text
        token = httpx.post(f"{self.b.url}/auth/token", data={"username": name, "password": password}, timeout=30)
        assert token.status_code == 200, token.text
        return {"Authorization": f"Bearer {token.json()['access_token']}"}


@pytest.fixture(scope="module")
def shared_bucket(s3_endpoint: str) -> Iterator[str]:
    """A versioned bucket, so that every write of an object shows, even one that replaced it."""
    bucket = f"test-{uuid.uuid4().hex[:20]}"
    create_bucket(s3_endpoint, bucket)
    bucket_client(s3_endpoint, bucket).put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    yield bucket
    remove_bucket(s3_endpoint, bucket)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str, shared_bucket: str) -> Iterator[Pair]:
    """A fresh database migrated once by `dicom-api migrate`, then two servers that do not migrate; the servers
    stop before the database is dropped."""
    with databases.fresh_database() as database, contextlib.ExitStack() as servers:
        env = {
            "DICOM_API_DATABASE_URL": database,
            "DICOM_API_JWT_SECRET": JWT_SECRET,
            "DICOM_API_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "DICOM_API_AUTO_MIGRATE": "false",
            "DICOM_API_RENDER_WORKERS": "1",
            "DICOM_API_LOGIN_MAX_FAILURES_PER_USER": str(MAX_FAILURES),
            **moto_environment(s3_endpoint, shared_bucket, PREFIX),
        }
        migrate = subprocess.run(
            [sys.executable, "-m", "dicom_api.cli", "migrate"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        a, b = (servers.enter_context(run_server(tmp_path_factory.mktemp(name), env)) for name in ("a", "b"))
        yield Pair(a, b, shared_bucket, s3_endpoint)


def _variant(index: int) -> bytes:
    """CT_small as a distinct file: its own patient id and SOP instance, so every upload has its own sha256."""
    ds = pydicom.dcmread(CT)
    ds.PatientID = f"SCALE-{index:03d}"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _upload(server: LiveServer, headers: dict[str, str], data: bytes) -> str:
    response = httpx.post(
        f"{server.url}/upload/dicom",
        files={"file": ("f.dcm", data, "application/dicom")},
        headers=headers,
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["file_id"])


def test_a_file_stored_through_one_server_is_served_and_deleted_through_the_other(pair: Pair) -> None:
    user = pair.user("erin")
    data = CT.read_bytes()
    file_id = _upload(pair.a, user, data)
    with httpx.Client(base_url=pair.b.url, headers=user, timeout=60) as b:
        png = b.get(f"/download/png/{file_id}")
        assert png.status_code == 200, png.text
        assert Image.open(io.BytesIO(png.content)).size == (128, 128)
        attribute = b.get("/header_attribute", params={"file_id": file_id, "tag_group": "0010", "tag_element": "0020"})
        assert attribute.status_code == 200, attribute.text
        assert attribute.json()["header_attributes"]["value"] == "1CT1"
        original = b.get(f"/files/{file_id}/dicom")
        assert original.status_code == 200
        assert original.content == data
        assert b.delete(f"/files/{file_id}").status_code == 204
    assert httpx.get(f"{pair.a.url}/files/{file_id}", headers=user, timeout=30).status_code == 404
    assert [key for key in s3_objects(pair.endpoint, pair.bucket) if file_id in key] == []


def test_failed_sign_ins_on_one_server_count_on_the_other(pair: Pair) -> None:
    pair.user("frank")
    for _ in range(MAX_FAILURES):
        wrong = httpx.post(f"{pair.a.url}/auth/token", data={"username": "frank", "password": "not-it-at-all"})
        assert wrong.status_code == 401, wrong.text
    right = httpx.post(f"{pair.b.url}/auth/token", data={"username": "frank", "password": "frank-password-123"})
    assert right.status_code == 429, right.text
    assert set(right.json()) == {"error"}


def test_the_same_render_asked_of_both_servers_is_rendered_once(pair: Pair, tmp_path: Path) -> None:
    user = pair.user("grace")
    big = write_big_dicom(tmp_path / "noise.dcm", ROWS * COLUMNS * 2)  # one frame of noise: a slow PNG
    file_id = _upload(pair.a, user, big.path.read_bytes())
    urls = [f"{server.url}/download/png/{file_id}" for server in (pair.a, pair.b) for _ in range(4)]
    with ThreadPoolExecutor(len(urls)) as pool:
        answers = list(pool.map(lambda url: httpx.get(url, headers=user, timeout=120), urls))
    assert [answer.status_code for answer in answers] == [200] * len(urls)
    assert len({answer.content for answer in answers}) == 1

    versions = bucket_client(pair.endpoint, pair.bucket).list_object_versions(
        Bucket=pair.bucket, Prefix=f"{PREFIX}/renders/{file_id}/"
    )
    written = [(v["Key"], v["VersionId"]) for v in versions.get("Versions", [])]
    assert len(written) == 1, written  # one object, written once: no second render replaced it
    stored = bucket_client(pair.endpoint, pair.bucket).get_object(Bucket=pair.bucket, Key=written[0][0])
    assert stored["Body"].read() == answers[0].content


async def _upload_all(pair: Pair, user: dict[str, str], files: list[bytes]) -> list[str]:
    """Every upload at once, even ones to A and odd ones to B."""
    async with (
        httpx.AsyncClient(base_url=pair.a.url, headers=user, timeout=120) as a,
        httpx.AsyncClient(base_url=pair.b.url, headers=user, timeout=120) as b,
    ):

        async def upload(index: int, data: bytes) -> str:
            client = a if index % 2 == 0 else b
            response = await client.post("/upload/dicom", files={"file": (f"{index}.dcm", data, "application/dicom")})
            assert response.status_code == 201, response.text
            return str(response.json()["file_id"])

        return list(await asyncio.gather(*(upload(i, data) for i, data in enumerate(files))))


def test_concurrent_uploads_split_across_both_servers_lose_nothing(pair: Pair) -> None:
    user = pair.user("heidi")
    files = [_variant(i) for i in range(UPLOADS)]
    assert len({hashlib.sha256(data).hexdigest() for data in files}) == UPLOADS
    ids = asyncio.run(_upload_all(pair, user, files))
    assert len(set(ids)) == UPLOADS

    with (
        httpx.Client(base_url=pair.a.url, headers=user, timeout=60) as a,
        httpx.Client(base_url=pair.b.url, headers=user, timeout=60) as b,
    ):
        for index, (file_id, data) in enumerate(zip(ids, files, strict=True)):
            other = b if index % 2 == 0 else a  # read through the server that did not take the upload
            described = other.get(f"/files/{file_id}")
            assert described.status_code == 200, described.text
            assert described.json()["sha256"] == hashlib.sha256(data).hexdigest()
            assert described.json()["patient_id"] == f"SCALE-{index:03d}"
        for server in (a, b):
            listed = server.get("/files", params={"limit": 1000})
            assert listed.status_code == 200, listed.text
            assert listed.json()["total"] == UPLOADS
            assert {item["file_id"] for item in listed.json()["items"]} == set(ids)
    assert len([key for key in s3_objects(pair.endpoint, pair.bucket) if key.split("/")[-1] in ids]) == UPLOADS
