"""The directly bound routes answer exactly as the FastAPI routes behind them, which take every other request."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from dicom_api.api.direct import DirectRoute
from dicom_api.api.files import download_png, header_attribute
from tests.helpers import sample

CT = sample("CT_small.dcm")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which way each request went: 'direct' or 'fastapi'."""
    seen: list[str] = []
    original = DirectRoute.handle

    async def handle(self: DirectRoute, scope, receive, send) -> None:  # noqa: ANN001
        from fastapi import Request

        seen.append("direct" if self.bind(Request(scope, receive)) is not None else "fastapi")
        await original(self, scope, receive, send)

    monkeypatch.setattr(DirectRoute, "handle", handle)
    return seen


def test_both_hot_routes_have_a_direct_route(client: TestClient) -> None:
    direct = {r.endpoint for r in client.app.router.routes if isinstance(r, DirectRoute)}
    assert direct == {header_attribute, download_png}


def test_a_plain_attribute_read_is_bound_directly_and_answers_as_fastapi_does(
    client: TestClient, upload, calls: list[str]
) -> None:
    file_id = upload(CT)
    plain = client.get("/header_attribute", params={"file_id": file_id, "tag_group": "0010", "tag_element": "0010"})
    spelled = client.get(f"/header_attribute?file_id={file_id}&tag_group=0x0010&tag_element=0x0010&extra=1")
    assert calls == ["direct", "fastapi"]
    assert plain.status_code == spelled.status_code == 200
    assert plain.json() == spelled.json()
    assert plain.json()["header_attributes"]["VR"] == "PN"
    assert plain.headers["content-type"] == spelled.headers["content-type"]


@pytest.mark.parametrize(
    "query",
    [
        "tag_group=0010&tag_element=0010",  # no file_id
        "file_id=a&file_id=b&tag_element=0010",  # repeated, one missing
        "file_id=a&tag_group=0010&tag_element=0010&tag_element=0020",  # repeated
    ],
)
def test_anything_but_the_three_parameters_is_left_to_fastapi(client: TestClient, calls: list[str], query: str) -> None:
    response = client.get(f"/header_attribute?{query}")
    assert calls == ["fastapi"]
    assert response.status_code in (400, 404)
    assert set(response.json()) == {"error"}


def test_unknown_file_bad_tag_and_other_users_file_are_the_same_errors(client: TestClient, upload) -> None:
    from tests.helpers import add_user

    file_id = upload(CT)
    unknown = client.get("/header_attribute", params={"file_id": "0" * 32, "tag_group": "0010", "tag_element": "0010"})
    assert unknown.status_code == 404
    assert set(unknown.json()) == {"error"}
    bad = client.get("/header_attribute", params={"file_id": file_id, "tag_group": "zz", "tag_element": "0010"})
    assert bad.status_code == 400
    assert set(bad.json()) == {"error"}
    bob = {"Authorization": f"Bearer {add_user(client, 'bob')}"}
    params = {"file_id": file_id, "tag_group": "0010", "tag_element": "0010"}
    assert client.get("/header_attribute", params=params, headers=bob).status_code == 404
    assert client.get(f"/download/png/{file_id}", headers=bob).status_code == 404


@pytest.mark.parametrize("authorization", [None, "Basic YWRtaW46eA==", "Bearer", "Bearer not.a.token", "bearer x.y.z"])
def test_the_direct_path_refuses_missing_and_bad_tokens(client: TestClient, upload, authorization: str | None) -> None:
    file_id = upload(CT)
    headers = {} if authorization is None else {"Authorization": authorization}
    anonymous = TestClient(client.app)
    for path in (f"/header_attribute?file_id={file_id}&tag_group=0010&tag_element=0010", f"/download/png/{file_id}"):
        response = anonymous.get(path, headers=headers)
        assert response.status_code == 401, path
        assert set(response.json()) == {"error"}


def test_png_with_options_or_a_validator_goes_through_fastapi(client: TestClient, upload, calls: list[str]) -> None:
    file_id = upload(CT)
    plain = client.get(f"/download/png/{file_id}")
    framed = client.get(f"/download/png/{file_id}?frame=1")
    cached = client.get(f"/download/png/{file_id}", headers={"If-None-Match": plain.headers["etag"]})
    bad = client.get(f"/download/png/{file_id}?frame=0")
    assert calls == ["direct", "fastapi", "fastapi", "fastapi"]
    assert plain.status_code == framed.status_code == 200
    assert plain.content == framed.content
    assert plain.headers["etag"] == framed.headers["etag"]
    assert cached.status_code == 304
    assert bad.status_code == 400
    assert set(bad.json()) == {"error"}


def test_other_methods_are_answered_by_the_declared_route(client: TestClient) -> None:
    response = client.post("/header_attribute")
    assert response.status_code == 405
    assert set(response.json()) == {"error"}


def test_metrics_and_audit_name_the_declared_route(client: TestClient, upload) -> None:
    from tests.helpers import ADMIN_PASSWORD, login

    file_id = upload(CT)
    client.get("/header_attribute", params={"file_id": file_id, "tag_group": "0010", "tag_element": "0010"})
    metrics = client.get("/metrics").text
    assert 'path="/header_attribute"' in metrics or 'route="/header_attribute"' in metrics
    admin = {"Authorization": f"Bearer {login(client, 'admin', ADMIN_PASSWORD)}"}
    entries = client.get("/audit", params={"action": "read_attribute"}, headers=admin).json()["items"]
    assert [e["file_id"] for e in entries] == [file_id]
