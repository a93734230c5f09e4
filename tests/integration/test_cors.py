"""CORS for browser viewers, the 401 challenge of DICOMweb paths, and the public base URL, through HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from pydantic import ValidationError

from dicom_api.api.deps import PrincipalDep
from dicom_api.api.urls import public_base_url
from dicom_api.config import Settings
from tests.helpers import make_client, settings_for

VIEWER = "https://viewer.example.org"


def cors_client(tmp_path: Path, origins: str) -> Iterator[TestClient]:
    yield from make_client(settings_for(tmp_path / "data", cors_origins=origins))


@pytest.fixture
def viewer_client(tmp_path: Path) -> Iterator[TestClient]:
    yield from cors_client(tmp_path, f"{VIEWER}, http://localhost:3000")


def preflight(client: TestClient, origin: str, method: str = "GET", headers: str = "authorization") -> Any:
    request_headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }
    return client.options("/files", headers={**request_headers, "Authorization": ""})


def test_a_preflight_needs_no_token_and_allows_the_authorization_header(viewer_client: TestClient) -> None:
    response = preflight(viewer_client, VIEWER, headers="authorization, accept, content-type")
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == VIEWER
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "accept", "content-type"} <= allowed
    assert "*" not in allowed  # a wildcard would not cover Authorization
    assert "DELETE" in response.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in response.headers


def test_a_preflight_from_another_origin_is_refused(viewer_client: TestClient) -> None:
    response = preflight(viewer_client, "https://evil.example")
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_an_actual_request_exposes_the_headers_viewers_read(viewer_client: TestClient) -> None:
    response = viewer_client.get("/files", headers={"Origin": VIEWER})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == VIEWER
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"warning", "content-location", "location", "etag"} <= exposed
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    refused = viewer_client.get("/files", headers={"Origin": VIEWER, "Authorization": "Bearer nope"})
    assert refused.status_code == 401  # errors carry the CORS headers too, so the page can read them
    assert refused.headers["access-control-allow-origin"] == VIEWER


def test_any_origin_with_a_star_and_no_credentials(tmp_path: Path) -> None:
    for client in cors_client(tmp_path, "*"):
        response = preflight(client, "https://anywhere.example")
        assert response.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in response.headers
        assert client.get("/files", headers={"Origin": "https://anywhere.example"}).status_code == 200


def test_cors_is_off_by_default(client: TestClient) -> None:
    response = client.get("/files", headers={"Origin": VIEWER})
    assert "access-control-allow-origin" not in response.headers
    assert "cross-origin-resource-policy" not in response.headers
    assert preflight(client, VIEWER).status_code == 405


@pytest.mark.parametrize("origins", ["https://a.example/path", "*, https://a.example", "viewer.example", "ftp://x"])
def test_malformed_origins_are_refused_at_start(tmp_path: Path, origins: str) -> None:
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, cors_origins=origins)


# --- the 401 challenge ----------------------------------------------------------------------------------------


def test_dicomweb_paths_offer_basic_in_their_401(client: TestClient) -> None:
    async def probe(_principal: PrincipalDep) -> dict[str, str]:
        return {}

    for path in ("/dicomweb", "/dicomweb/studies", "/dicomwebx"):
        client.app.add_api_route(path, probe)  # type: ignore[attr-defined]
    answers = {path: client.get(path, headers={"Authorization": ""}) for path in ("/dicomweb", "/dicomweb/studies")}
    for response in answers.values():
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer, Basic realm="dicomweb"'
    assert client.get("/dicomwebx", headers={"Authorization": ""}).headers["www-authenticate"] == "Bearer"
    assert client.get("/files", headers={"Authorization": ""}).headers["www-authenticate"] == "Bearer"


# --- the public base URL --------------------------------------------------------------------------------------


def base_url_client(tmp_path: Path, peer: str = "testclient", **settings: object) -> Iterator[TestClient]:
    for client in make_client(settings_for(tmp_path / "data", **settings), as_user=None):

        async def base(request: Request) -> dict[str, str]:
            return {"base": public_base_url(request)}

        client.app.add_api_route("/test/base", base)  # type: ignore[attr-defined]
        yield TestClient(client.app, client=(peer, 50000), base_url="http://127.0.0.1:8042")


def base_of(client: TestClient, **headers: str) -> str:
    return str(client.get("/test/base", headers=headers).json()["base"])


FORWARDED = {"X-Forwarded-Host": "pacs.example.org", "X-Forwarded-Proto": "https"}


def test_the_public_url_setting_wins(tmp_path: Path) -> None:
    for client in base_url_client(
        tmp_path, "10.0.0.5", public_url="https://pacs.example.org/dicom/", trusted_proxies="10.0.0.0/8"
    ):
        assert base_of(client) == "https://pacs.example.org/dicom"
        assert base_of(client, **{**FORWARDED, "X-Forwarded-Host": "other.example"}) == "https://pacs.example.org/dicom"


def test_without_a_proxy_the_servers_own_address_and_never_the_host_header(tmp_path: Path) -> None:
    for client in base_url_client(tmp_path, "10.0.0.5"):
        assert base_of(client) == "http://127.0.0.1:8042"
        assert base_of(client, Host="evil.example", **FORWARDED) == "http://127.0.0.1:8042"


def test_a_trusted_proxys_forwarded_host_port_and_scheme(tmp_path: Path) -> None:
    for client in base_url_client(tmp_path, "10.0.0.5", trusted_proxies="10.0.0.0/8"):
        assert base_of(client, **FORWARDED) == "https://pacs.example.org"
        assert base_of(client, **FORWARDED, **{"X-Forwarded-Port": "8443"}) == "https://pacs.example.org:8443"
        assert base_of(client, **FORWARDED, **{"X-Forwarded-Port": "443"}) == "https://pacs.example.org"
        with_port = {**FORWARDED, "X-Forwarded-Host": "pacs.example.org:9443", "X-Forwarded-Port": "1"}
        assert base_of(client, **with_port) == "https://pacs.example.org:9443"
        assert base_of(client) == "http://127.0.0.1:8042"  # no X-Forwarded-Host: the server's address
        for hostile in ("evil.example/path", "a b", "evil.example@x", ""):
            assert base_of(client, **{"X-Forwarded-Host": hostile}) == "http://127.0.0.1:8042"


def test_an_untrusted_peers_forwarded_headers_are_ignored(tmp_path: Path) -> None:
    for client in base_url_client(tmp_path, "192.0.2.7", trusted_proxies="10.0.0.0/8"):
        assert base_of(client, **FORWARDED) == "http://127.0.0.1:8042"


@pytest.mark.parametrize(
    "url", ["pacs.example.org", "ftp://pacs.example.org", "https://pacs.example.org/?q=1", "https://a b"]
)
def test_malformed_public_urls_are_refused_at_start(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, public_url=url)
