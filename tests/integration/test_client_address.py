"""Whose address a request is: the peer's, unless the peer is a trusted proxy (DICOM_API_TRUSTED_PROXIES).

The address is what the sign-in throttle counts and what the audit trail records. X-Forwarded-For is
believed only from a configured proxy, and then only up to the right-most address that is not a proxy:
whatever a client writes further left is its own claim.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from dicom_api.config import Settings
from tests.helpers import ADMIN_PASSWORD, add_user, login, make_client, settings_for
from tests.worlds import bearer

PROXIES = "10.0.0.0/8, 192.0.2.1, 2001:db8::/32"


def peer(client: TestClient, address: str) -> TestClient:
    """The running app, reached from ``address``."""
    return TestClient(client.app, client=(address, 40000))


def signed_in_from(client: TestClient, address: str, forwarded: str | None, password: str) -> Any:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return peer(client, address).post("/auth/token", data={"username": "alice", "password": password}, headers=headers)


def recorded_client(client: TestClient, response: Any) -> str:
    """The client address the audit trail recorded for the request that got ``response``."""
    admin = bearer(login(client, "admin", ADMIN_PASSWORD))
    entries = client.get("/audit", params={"action": "login", "limit": 1000}, headers=admin).json()["items"]
    [entry] = [e for e in entries if e["request_id"] == response.headers["x-request-id"]]
    return str(entry["client"])


@pytest.fixture
def app_factory(tmp_path: Path) -> Iterator[Any]:
    def build(**overrides: Any) -> TestClient:
        settings = settings_for(tmp_path / f"data{len(started)}", login_max_failures_per_user=2, **overrides)
        runner = make_client(settings, as_user=None)
        client = next(runner)
        started.append(runner)
        add_user(client, "alice", "alice-password-123")
        return client

    started: list[Iterator[TestClient]] = []
    yield build
    for runner in started:
        next(runner, None)  # leaves the client's context: the app shuts down


def test_without_trusted_proxies_forwarded_addresses_are_ignored(app_factory: Any) -> None:
    client = app_factory()
    response = signed_in_from(client, "10.0.0.5", "203.0.113.7", "alice-password-123")
    assert response.status_code == 200
    assert recorded_client(client, response) == "10.0.0.5"
    # a guesser cannot make each attempt look like a new address
    for n in range(2):
        assert signed_in_from(client, "198.51.100.20", f"203.0.113.{n}", "guess-password").status_code == 401
    assert signed_in_from(client, "198.51.100.20", "203.0.113.99", "guess-password").status_code == 429


@pytest.mark.parametrize(
    ("address", "forwarded", "client_address"),
    [
        ("10.0.0.5", "203.0.113.7", "203.0.113.7"),  # the proxy's word for its client
        ("10.0.0.5", "198.51.100.9, 203.0.113.7", "203.0.113.7"),  # the left one is the client's own claim
        ("10.0.0.5", "203.0.113.7, 10.1.2.3", "203.0.113.7"),  # a chain of trusted proxies is skipped
        ("192.0.2.1", "203.0.113.7,192.0.2.1", "203.0.113.7"),
        ("2001:db8::1", "2001:db9::5", "2001:db9::5"),
        ("198.51.100.20", "203.0.113.7", "198.51.100.20"),  # not a proxy of ours: the header means nothing
        ("10.0.0.5", None, "10.0.0.5"),  # no header: the peer itself
    ],
)
def test_a_trusted_proxy_names_the_client(
    app_factory: Any, address: str, forwarded: str | None, client_address: str
) -> None:
    client = app_factory(trusted_proxies=PROXIES)
    response = signed_in_from(client, address, forwarded, "alice-password-123")
    assert response.status_code == 200
    assert recorded_client(client, response) == client_address


def test_behind_a_trusted_proxy_each_client_is_throttled_on_its_own(app_factory: Any) -> None:
    """Behind a load balancer, every request comes from its address: with it trusted, a guesser's failures
    are the guesser's, and the owner signing in through the same balancer is not refused."""
    client = app_factory(trusted_proxies=PROXIES)
    for _ in range(2):
        assert signed_in_from(client, "10.0.0.5", "203.0.113.66", "guess-password").status_code == 401
    assert signed_in_from(client, "10.0.0.5", "203.0.113.66", "alice-password-123").status_code == 429
    assert signed_in_from(client, "10.0.0.5", "203.0.113.7", "alice-password-123").status_code == 200
    # spoofing a fresh address to the left does not escape: the proxy appended the real one
    assert signed_in_from(client, "10.0.0.5", "198.51.100.1, 203.0.113.66", "guess-password").status_code == 429


@pytest.mark.parametrize("value", ["*", "not-an-address", "10.0.0.0/33", "10.0.0.1, example.org"])
def test_trusted_proxies_must_be_addresses_or_networks(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(data_dir=tmp_path, trusted_proxies=value)


def test_trusted_proxies_default_to_none(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).trusted_proxy_networks == []
    assert Settings(data_dir=tmp_path, trusted_proxies=" 10.0.0.1 ,, fd00::/8 ").trusted_proxy_networks == [
        "10.0.0.1",
        "fd00::/8",
    ]
