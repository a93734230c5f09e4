"""Sign-in, tokens, the login throttle and account administration through HTTP.

Token tests run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from dicom_api.auth import passwords
from dicom_api.config import Settings
from dicom_api.db.models import LoginFailure, PersonalToken, RefreshToken, User
from tests.helpers import (
    ADMIN_PASSWORD,
    JWT_SECRET,
    SpyHasher,
    add_user,
    basic,
    login,
    make_client,
    personal_token,
    run_sql,
    sample,
    settings_for,
)
from tests.worlds import BACKENDS, World, backend_settings, bearer, populated

CT = sample("CT_small.dcm")
LONG_AGO = datetime(2001, 1, 1, tzinfo=UTC)


# --- helpers -------------------------------------------------------------------------------------------------


def sign_in(client: TestClient, username: str, password: str) -> Any:
    return client.post("/auth/token", data={"username": username, "password": password})


def pair(client: TestClient, username: str, password: str) -> dict[str, Any]:
    response = sign_in(client, username, password)
    assert response.status_code == 200, response.text
    return dict(response.json())


def refresh(client: TestClient, token: str) -> Any:
    return client.post("/auth/refresh", json={"refresh_token": token})


def admin_headers(client: TestClient) -> dict[str, str]:
    return bearer(login(client, "admin", ADMIN_PASSWORD))


def me(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get("/users/me", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def assert_unauthorized(response: Any, context: object = "") -> None:
    assert response.status_code == 401, (context, response.status_code, response.text)
    assert response.headers.get("www-authenticate") == "Bearer", context
    body = response.json()
    assert set(body) == {"error"}, context
    assert body["error"], context


def at(address: str, client: TestClient) -> TestClient:
    """The same running client, reached from another client address."""
    return TestClient(client.app, client=(address, 40000))


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One client per backend for the module. Tests add accounts of their own and leave alice, bob and the admin
    as they found them; the throttle is lenient here, since tests of their own cover it."""
    lenient = {"login_max_failures_per_user": 10_000, "login_max_failures_per_address": 10_000}
    with backend_settings(request, tmp_path_factory.mktemp("data"), **lenient) as settings, populated(settings) as w:
        yield w


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings on an empty database of the test's own, on each backend."""
    with backend_settings(request, tmp_path / "data") as settings:
        yield settings


@pytest.fixture
def fresh(backend: Settings) -> Iterator[TestClient]:
    """The client with only the admin account, for tests that change what every other test relies on."""
    yield from make_client(backend, as_user=None)


# --- sign-in -------------------------------------------------------------------------------------------------


def test_sign_in_returns_a_bearer_pair_with_the_standard_claims(world: World) -> None:
    client = world.client
    add_user(client, "carol", "carol-password-123")
    before = int(time.time())
    body = pair(client, "carol", "carol-password-123")
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == world.settings.access_token_ttl_seconds
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
    claims = jwt.decode(body["access_token"], JWT_SECRET, algorithms=["HS256"], audience=world.settings.jwt_audience)
    account = me(client, bearer(body["access_token"]))
    assert claims["sub"] == account["id"]
    assert claims["iss"] == world.settings.jwt_issuer
    assert claims["exp"] - claims["iat"] == world.settings.access_token_ttl_seconds
    assert claims["iat"] >= before
    assert len(claims["jti"]) >= 16
    assert (account["username"], account["role"], account["is_active"]) == ("carol", "user", True)
    assert account["last_login_at"] is not None
    assert account["created_at"] is not None


def test_token_responses_must_not_be_cached(client: TestClient) -> None:
    signed_in = sign_in(client, "alice", "alice-password-123")
    refreshed = refresh(client, signed_in.json()["refresh_token"])
    for response in (signed_in, refreshed):
        assert response.status_code == 200
        assert response.headers.get("cache-control") == "no-store"
        assert response.headers.get("pragma") == "no-cache"


def test_passwords_are_stored_as_argon2id_and_never_returned(world: World) -> None:
    client = world.client
    password = "dana-password-123"
    admin = admin_headers(client)
    created = client.post("/users", json={"username": "dana", "password": password}, headers=admin)
    assert created.status_code == 201
    answers = [
        created,
        client.get("/users", headers=admin),
        client.get("/users/me", headers=bearer(login(client, "dana", password))),
    ]
    answers.append(client.patch(f"/users/{created.json()['id']}", json={"is_active": True}, headers=admin))
    assert [r.status_code for r in answers] == [201, 200, 200, 200]
    for response in answers:
        assert password not in response.text
        assert "hash" not in response.text
        assert "password" not in response.text
    [(stored,)] = run_sql(world.settings, select(User.password_hash).where(User.username == "dana"))
    assert stored.startswith("$argon2id$")
    assert password not in stored


def test_wrong_password_and_unknown_user_get_the_same_answer(world: World) -> None:
    client = world.client
    add_user(client, "erin", "erin-password-123")
    wrong = sign_in(client, "erin", "not-erin-password")
    unknown = sign_in(client, "nobody-here", "not-erin-password")
    assert_unauthorized(wrong)
    assert_unauthorized(unknown)
    assert wrong.json() == unknown.json()


def test_every_sign_in_verifies_a_hash_whether_or_not_the_user_exists(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Timing safety, shown structurally: unknown and disabled users cost one argon2 verification too."""
    admin = admin_headers(client)
    frank = client.post("/users", json={"username": "frank", "password": "frank-password-1"}, headers=admin).json()
    client.patch(f"/users/{frank['id']}", json={"is_active": False}, headers=admin)
    spy = SpyHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", spy)

    assert_unauthorized(sign_in(client, "no-such-user", "some-password-1"))
    assert spy.verified == [passwords._DUMMY_HASH]
    assert_unauthorized(sign_in(client, "frank", "frank-password-1"))
    assert_unauthorized(sign_in(client, "alice", "wrong-password-1"))
    assert len(spy.verified) == 3
    assert passwords._DUMMY_HASH not in spy.verified[1:]
    assert sign_in(client, "alice", "alice-password-123").status_code == 200
    assert len(spy.verified) == 4


def test_sign_in_needs_the_form_fields(world: World) -> None:
    client = world.client
    for data in ({"username": "admin"}, {"password": ADMIN_PASSWORD}, {}):
        response = client.post("/auth/token", data=data)
        assert response.status_code == 400
        assert set(response.json()) == {"error"}
    response = client.post("/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 400


# --- refresh and logout --------------------------------------------------------------------------------------


def test_refresh_rotates_the_pair(world: World) -> None:
    client = world.client
    add_user(client, "gina", "gina-password-123")
    first = pair(client, "gina", "gina-password-123")
    response = refresh(client, first["refresh_token"])
    assert response.status_code == 200, response.text
    second = response.json()
    assert set(second) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert me(client, bearer(second["access_token"]))["username"] == "gina"
    third = refresh(client, second["refresh_token"])
    assert third.status_code == 200


def test_a_spent_refresh_token_presented_again_revokes_its_family(world: World) -> None:
    client = world.client
    add_user(client, "hana", "hana-password-123")
    stolen = pair(client, "hana", "hana-password-123")
    other_device = pair(client, "hana", "hana-password-123")
    rotated = refresh(client, stolen["refresh_token"]).json()
    assert_unauthorized(refresh(client, stolen["refresh_token"]))  # reuse: the family is revoked...
    assert_unauthorized(refresh(client, rotated["refresh_token"]))  # ...including the token rotated from it
    assert refresh(client, other_device["refresh_token"]).status_code == 200  # another sign-in is not affected


def test_unknown_refresh_tokens_are_refused(world: World) -> None:
    for token in (
        "not-a-refresh-token",
        "x" * 512,
        "' OR 1=1 --",
        world.alice["Authorization"].removeprefix("Bearer "),
    ):
        assert_unauthorized(refresh(world.raw, token))
    for body in ({}, {"refresh_token": ""}, {"refresh_token": "x" * 513}, {"refresh_token": ["a"]}):
        response = world.raw.post("/auth/refresh", json=body)
        assert response.status_code == 400
        assert set(response.json()) == {"error"}


def test_expired_refresh_token_is_refused(world: World) -> None:
    client = world.client
    add_user(client, "ines", "ines-password-123")
    tokens = pair(client, "ines", "ines-password-123")
    ines_id = me(client, bearer(tokens["access_token"]))["id"]
    run_sql(world.settings, update(RefreshToken).where(RefreshToken.user_id == ines_id).values(expires_at=LONG_AGO))
    assert_unauthorized(refresh(client, tokens["refresh_token"]))


def test_logout_revokes_the_refresh_token_and_its_rotations(world: World) -> None:
    client = world.client
    add_user(client, "jane", "jane-password-123")
    first = pair(client, "jane", "jane-password-123")
    second = refresh(client, first["refresh_token"]).json()
    response = client.post("/auth/logout", json={"refresh_token": second["refresh_token"]})
    assert response.status_code == 204
    assert_unauthorized(refresh(client, second["refresh_token"]))
    # logging out with an unknown token says nothing about whether it existed
    assert client.post("/auth/logout", json={"refresh_token": "never-issued"}).status_code == 204


# --- token attacks, on several endpoints ---------------------------------------------------------------------

# Endpoints that need a bearer token; {file} is alice's file.
PROTECTED: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/files", {}),
    ("GET", "/files/{file}", {}),
    ("GET", "/files/{file}/dicom", {}),
    ("GET", "/files/{file}/attributes", {}),
    ("GET", "/download/png/{file}", {}),
    ("GET", "/header_attribute", {"params": {"file_id": "{file}", "tag_group": "0010", "tag_element": "0010"}}),
    ("DELETE", "/files/{file}", {}),
    ("POST", "/upload/dicom", {"files": {"file": ("ct.dcm", CT.read_bytes())}}),
    ("GET", "/users/me", {}),
    ("POST", "/users/me/password", {"json": {"current_password": "x" * 12, "new_password": "y" * 12}}),
    ("GET", "/users", {}),
    ("PATCH", "/users/{user}", {"json": {"is_active": False}}),
    ("GET", "/audit", {}),
]


def claims(world: World, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values = {"sub": world.alice_id, "ver": 0, "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex}
    values |= {"iss": world.settings.jwt_issuer, "aud": world.settings.jwt_audience, **overrides}
    return {k: v for k, v in values.items() if v is not None}


def _rsa_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _swap_payload(world: World) -> str:
    header, _, signature = world.alice["Authorization"].removeprefix("Bearer ").split(".")
    forged = jwt.encode(claims(world, sub=uuid.uuid4().hex), "x" * 32, algorithm="HS256").split(".")[1]
    return f"Bearer {header}.{forged}.{signature}"


def signed(world: World, key: str | bytes | None = JWT_SECRET, algorithm: str = "HS256", **overrides: Any) -> str:
    return "Bearer " + jwt.encode(claims(world, **overrides), key, algorithm=algorithm)


def _personal(world: World, spoil: str) -> str:
    """A personal access token of alice's, spoiled one way: the Authorization header to send."""
    made = personal_token(world.client, world.alice, "write")
    secret, row = made["token"], update(PersonalToken).where(PersonalToken.id == made["id"])
    if spoil == "tampered":
        return f"Bearer {secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}"
    if spoil == "expired":
        run_sql(world.settings, row.values(expires_at=LONG_AGO))
    elif spoil == "revoked":
        assert world.client.delete(f"/users/me/tokens/{made['id']}", headers=world.alice).status_code == 204
    elif spoil == "older version":  # made before a password change
        run_sql(world.settings, row.values(user_version=PersonalToken.user_version - 1))
    elif spoil == "another username":
        return basic("bob", secret)["Authorization"]
    return f"Bearer {secret}"


# Each attack gives the Authorization header to send (None: no header at all).
ATTACKS: dict[str, Callable[[World], str | None]] = {
    "no token": lambda _: None,
    "empty bearer": lambda _: "Bearer ",
    "basic scheme": lambda _: "Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQtMTIz",
    "token without scheme": lambda w: w.alice["Authorization"].removeprefix("Bearer "),
    "malformed": lambda _: "Bearer not-a-jwt",
    "three garbage parts": lambda _: "Bearer aaa.bbb.ccc",
    "bad signature": lambda w: signed(w, key="another-secret-" + "z" * 32),
    "tampered payload": _swap_payload,
    "alg none": lambda w: signed(w, key=None, algorithm="none"),
    "HS512 same secret": lambda w: signed(w, algorithm="HS512"),
    "HS384 same secret": lambda w: signed(w, algorithm="HS384"),
    "RS256": lambda w: signed(w, key=_rsa_pem(), algorithm="RS256"),
    "expired": lambda w: signed(w, iat=1, exp=2),
    "wrong audience": lambda w: signed(w, aud="other-api"),
    "wrong issuer": lambda w: signed(w, iss="evil"),
    "no expiry": lambda w: signed(w, exp=None),
    "no version": lambda w: signed(w, ver=None),
    "revoked version": lambda w: signed(w, ver=1),
    "unknown subject": lambda w: signed(w, sub=uuid.uuid4().hex),
    "subject is a username": lambda w: signed(w, sub="alice"),
    "personal token tampered": lambda w: _personal(w, "tampered"),
    "personal token unknown": lambda _: f"Bearer dapi_{secrets.token_urlsafe(32)}",
    "personal token expired": lambda w: _personal(w, "expired"),
    "personal token revoked": lambda w: _personal(w, "revoked"),
    "personal token from before a password change": lambda w: _personal(w, "older version"),
    "basic with another username": lambda w: _personal(w, "another username"),
    "basic with a session token": lambda w: basic("alice", w.alice["Authorization"].removeprefix("Bearer "))[
        "Authorization"
    ],
    "basic malformed": lambda _: "Basic %%%",
}


def test_forged_claims_are_accepted_when_signed_properly(world: World) -> None:
    """The attacks below differ from this control in one point each."""
    assert world.client.get("/files", headers={"Authorization": signed(world)}).status_code == 200


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("attack", ATTACKS)
def test_token_attack_is_401_with_www_authenticate_everywhere(world: World, attack: str) -> None:
    authorization = ATTACKS[attack](world)
    headers = {"Authorization": authorization} if authorization is not None else {}
    for method, template, options in PROTECTED:
        path = template.replace("{file}", world.alice_file).replace("{user}", world.alice_id)
        if "params" in options:
            options = {**options, "params": {**options["params"], "file_id": world.alice_file}}
        response = world.raw.request(method, path, headers=headers, **options)
        assert_unauthorized(response, (attack, method, path))
    assert world.client.get(f"/files/{world.alice_file}", headers=world.alice).status_code == 200


def test_token_in_the_query_string_is_not_accepted(world: World) -> None:
    token = world.alice["Authorization"].removeprefix("Bearer ")
    assert_unauthorized(world.raw.get("/files", params={"access_token": token}))
    assert_unauthorized(world.raw.get("/files", params={"token": token}))


# --- tokens stop working -------------------------------------------------------------------------------------


def _still_signed_in(client: TestClient, headers: dict[str, str]) -> bool:
    answers = [client.get(path, headers=headers) for path in ("/files", "/users/me")]
    answers.append(client.post("/upload/dicom", files={"file": ("ct.dcm", CT.read_bytes())}, headers=headers))
    if all(r.status_code in (200, 201) for r in answers):
        return True
    for response in answers:
        assert_unauthorized(response)
    return False


def test_disabling_a_user_invalidates_their_tokens(world: World) -> None:
    client = world.client
    add_user(client, "kate", "kate-password-123")
    tokens = pair(client, "kate", "kate-password-123")
    kate = bearer(tokens["access_token"])
    assert _still_signed_in(client, kate)
    admin, kate_id = admin_headers(client), me(client, kate)["id"]
    response = client.patch(f"/users/{kate_id}", json={"is_active": False}, headers=admin)
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert not _still_signed_in(client, kate)
    assert_unauthorized(refresh(client, tokens["refresh_token"]))
    assert_unauthorized(sign_in(client, "kate", "kate-password-123"))
    # enabling the account again does not bring old tokens back
    assert client.patch(f"/users/{kate_id}", json={"is_active": True}, headers=admin).status_code == 200
    assert not _still_signed_in(client, kate)
    assert _still_signed_in(client, bearer(login(client, "kate", "kate-password-123")))


def test_changing_ones_password_invalidates_every_token(world: World) -> None:
    client = world.client
    add_user(client, "lena", "lena-password-123")
    phone, laptop = pair(client, "lena", "lena-password-123"), pair(client, "lena", "lena-password-123")
    change = {"current_password": "lena-password-123", "new_password": "lena-new-password-456"}
    response = client.post("/users/me/password", json=change, headers=bearer(laptop["access_token"]))
    assert response.status_code == 204
    for tokens in (phone, laptop):
        assert not _still_signed_in(client, bearer(tokens["access_token"]))
        assert_unauthorized(refresh(client, tokens["refresh_token"]))
    assert_unauthorized(sign_in(client, "lena", "lena-password-123"))
    assert _still_signed_in(client, bearer(login(client, "lena", "lena-new-password-456")))


def test_admin_password_reset_invalidates_the_users_tokens(world: World) -> None:
    client = world.client
    add_user(client, "mona", "mona-password-123")
    tokens = pair(client, "mona", "mona-password-123")
    mona_id = me(client, bearer(tokens["access_token"]))["id"]
    response = client.patch(f"/users/{mona_id}", json={"password": "reset-by-admin-789"}, headers=admin_headers(client))
    assert response.status_code == 200
    assert not _still_signed_in(client, bearer(tokens["access_token"]))
    assert_unauthorized(refresh(client, tokens["refresh_token"]))
    assert sign_in(client, "mona", "reset-by-admin-789").status_code == 200


def test_password_change_needs_the_current_password_and_the_policy(client: TestClient) -> None:
    wrong = client.post("/users/me/password", json={"current_password": "nope", "new_password": "x" * 12})
    assert wrong.status_code == 400
    assert set(wrong.json()) == {"error"}
    short = client.post("/users/me/password", json={"current_password": "alice-password-123", "new_password": "short"})
    assert short.status_code == 400
    assert client.get("/users/me").status_code == 200  # nothing changed: the token still works


# --- the login throttle --------------------------------------------------------------------------------------


@contextmanager
def throttled_client(tmp_path: Path, **limits: int) -> Iterator[TestClient]:
    settings = settings_for(tmp_path / "data", login_window_seconds=600, **limits)
    for client in make_client(settings, as_user=None):
        add_user(client, "alice", "alice-password-123")
        add_user(client, "bob", "bob-password-1234")
        yield client


def client_settings(client: TestClient) -> Settings:
    settings: Settings = client.app.state.context.settings  # type: ignore[attr-defined]
    return settings


def assert_throttled(response: Any, window: int = 600) -> None:
    assert response.status_code == 429, response.text
    assert set(response.json()) == {"error"}
    assert 1 <= int(response.headers["retry-after"]) <= window + 1


def test_an_address_guessing_one_username_is_refused_for_it_and_its_owner_still_gets_in(tmp_path: Path) -> None:
    with throttled_client(tmp_path, login_max_failures_per_user=3, login_max_failures_per_address=100) as client:
        guesser, owner = at("10.0.0.1", client), at("10.0.0.2", client)
        for _ in range(3):
            assert_unauthorized(sign_in(guesser, "alice", "guess-password-0"))
        assert_throttled(sign_in(guesser, "alice", "guess-password-0"))
        assert_throttled(sign_in(guesser, "alice", "alice-password-123"))  # refused without trying the password
        assert_throttled(sign_in(guesser, "ALICE", "alice-password-123"))  # case does not make a new name
        assert sign_in(owner, "alice", "alice-password-123").status_code == 200  # not locked out
        assert_throttled(sign_in(guesser, "alice", "alice-password-123"))  # the owner's success frees no guesser
        assert sign_in(guesser, "bob", "bob-password-1234").status_code == 200  # other accounts are not locked


def test_a_username_guessed_from_many_addresses_refuses_those_addresses_not_its_owner(tmp_path: Path) -> None:
    with throttled_client(tmp_path, login_max_failures_per_user=3, login_max_failures_per_address=100) as client:
        guessers = [at(f"10.0.1.{n}", client) for n in range(3)]
        for guesser in guessers:
            assert_unauthorized(sign_in(guesser, "alice", "guess-password-0"))
        for guesser in guessers:  # the account is being guessed: who failed on it waits out the window
            assert_throttled(sign_in(guesser, "alice", "guess-password-1"))
            assert_throttled(sign_in(guesser, "alice", "alice-password-123"))
        newcomer = at("10.0.1.99", client)  # one more try per new address, no more
        assert_unauthorized(sign_in(newcomer, "alice", "guess-password-2"))
        assert_throttled(sign_in(newcomer, "alice", "guess-password-3"))
        assert sign_in(at("10.0.2.1", client), "alice", "alice-password-123").status_code == 200


def test_an_address_guessing_many_usernames_is_paced_not_locked(tmp_path: Path) -> None:
    """Past its limit an address gets one attempt per window / limit seconds: a guesser is slowed to that,
    and someone behind the same address (one office, one proxy) still gets in with the right password."""
    with throttled_client(tmp_path, login_max_failures_per_user=100, login_max_failures_per_address=4) as client:
        attacker, someone_else = at("10.0.0.66", client), at("10.0.0.7", client)
        for name in ("alice", "bob", "carl", "dora"):
            assert_unauthorized(sign_in(attacker, name, "guess-password-0"))
        pace = 600 // 4
        assert_throttled(sign_in(attacker, "erik", "guess-password-0"), window=pace)
        assert_throttled(sign_in(attacker, "alice", "alice-password-123"), window=pace)
        assert sign_in(someone_else, "alice", "alice-password-123").status_code == 200
        # one pace later, the next attempt is tried: right, it gets in; wrong, the address waits again
        a_pace_ago = datetime.now(UTC) - timedelta(seconds=pace + 1)
        run_sql(client_settings(client), update(LoginFailure).values(at=a_pace_ago))
        assert sign_in(attacker, "bob", "bob-password-1234").status_code == 200
        assert_unauthorized(sign_in(attacker, "erik", "guess-password-1"))
        assert_throttled(sign_in(attacker, "frida", "guess-password-1"), window=pace)


def test_a_successful_sign_in_clears_the_usernames_failures(tmp_path: Path) -> None:
    with throttled_client(tmp_path, login_max_failures_per_user=3, login_max_failures_per_address=100) as client:
        for _ in range(3):
            for _ in range(2):
                assert_unauthorized(sign_in(client, "alice", "guess-password-0"))
            assert sign_in(client, "alice", "alice-password-123").status_code == 200


def test_failures_age_out_of_the_window(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data", login_max_failures_per_user=2)
    for client in make_client(settings, as_user=None):
        add_user(client, "alice", "alice-password-123")
        for _ in range(2):
            assert_unauthorized(sign_in(client, "alice", "guess-password-0"))
        assert_throttled(sign_in(client, "alice", "alice-password-123"), settings.login_window_seconds)
        run_sql(settings, update(LoginFailure).values(at=LONG_AGO))
        assert sign_in(client, "alice", "alice-password-123").status_code == 200


def test_two_app_instances_on_one_database_share_the_throttle(backend: Settings, tmp_path: Path) -> None:
    """What two worker processes do: each has its own client, engine and memory, and one database."""
    settings = backend.model_copy(update={"login_max_failures_per_user": 3, "login_max_failures_per_address": 100})
    with ExitStack() as stack:
        one = stack.enter_context(contextmanager(make_client)(settings, as_user=None))
        two = stack.enter_context(contextmanager(make_client)(settings, as_user=None))
        assert one.app is not two.app
        add_user(one, "alice", "alice-password-123")
        assert sign_in(two, "alice", "alice-password-123").status_code == 200
        for instance in (one, two, one):
            assert_unauthorized(sign_in(instance, "alice", "guess-password-0"))
        assert_throttled(sign_in(two, "alice", "alice-password-123"), settings.login_window_seconds)
        assert_throttled(sign_in(one, "alice", "alice-password-123"), settings.login_window_seconds)


# --- registration and administration -------------------------------------------------------------------------


def test_registration_is_refused_unless_open(client: TestClient) -> None:
    response = client.post("/auth/register", json={"username": "newcomer", "password": "newcomer-password"})
    assert response.status_code == 403
    assert set(response.json()) == {"error"}
    assert_unauthorized(sign_in(client, "newcomer", "newcomer-password"))


@pytest.fixture
def open_client(backend: Settings) -> Iterator[TestClient]:
    yield from make_client(backend.model_copy(update={"open_registration": True}), as_user=None)


def test_open_registration_creates_a_plain_user(open_client: TestClient) -> None:
    body = {"username": "newcomer", "password": "newcomer-password", "role": "admin", "is_active": False}
    response = open_client.post("/auth/register", json=body)
    assert response.status_code == 201, response.text
    account = response.json()
    assert set(account) == {"id", "username", "role", "is_active", "created_at", "last_login_at"}
    assert (account["username"], account["role"], account["is_active"]) == ("newcomer", "user", True)
    assert "newcomer-password" not in response.text
    token = login(open_client, "newcomer", "newcomer-password")
    assert open_client.get("/users", headers=bearer(token)).status_code == 403
    again = open_client.post("/auth/register", json={"username": "newcomer", "password": "another-password"})
    assert again.status_code == 409
    assert set(again.json()) == {"error"}


def test_registration_refuses_bad_usernames(open_client: TestClient) -> None:
    for username in ("ab", "x" * 65, "-dash", "a b", "semi;colon", "quote'd", "admin' --", "a/b", "é-x", "a\x00b"):
        response = open_client.post("/auth/register", json={"username": username, "password": "long-enough-password"})
        assert response.status_code == 400, (username, response.text)
        assert set(response.json()) == {"error"}


def test_registration_refuses_short_passwords(open_client: TestClient) -> None:
    response = open_client.post("/auth/register", json={"username": "shorty", "password": "x" * 11})
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


ADMIN_ONLY = [
    ("POST", "/users", {"json": {"username": "sneaky", "password": "sneaky-password"}}),
    ("GET", "/users", {}),
    ("PATCH", "/users/{admin}", {"json": {"is_active": False}}),
    ("PATCH", "/users/{self}", {"json": {"role": "admin"}}),
    ("DELETE", "/users/{admin}", {}),
    ("GET", "/audit", {}),
]


def test_admin_endpoints_are_403_for_users(client: TestClient) -> None:
    admin = admin_headers(client)
    ids = {"{admin}": me(client, admin)["id"], "{self}": me(client, {})["id"]}
    for method, path, options in ADMIN_ONLY:
        for placeholder, value in ids.items():
            path = path.replace(placeholder, value)
        response = client.request(method, path, **options)
        assert response.status_code == 403, (method, path, response.text)
        assert set(response.json()) == {"error"}
    assert me(client, {})["role"] == "user"
    assert me(client, admin)["is_active"] is True
    usernames = [u["username"] for u in client.get("/users", headers=admin).json()["items"]]
    assert "sneaky" not in usernames


def test_admin_manages_accounts(client: TestClient) -> None:
    admin = admin_headers(client)
    created = client.post("/users", json={"username": "olga", "password": "olga-password-12"}, headers=admin)
    assert created.status_code == 201
    olga = created.json()
    assert (olga["role"], olga["is_active"], olga["last_login_at"]) == ("user", True, None)
    duplicate = client.post("/users", json={"username": "olga", "password": "olga-password-12"}, headers=admin)
    assert duplicate.status_code == 409
    listing = client.get("/users", params={"limit": 2, "offset": 0}, headers=admin).json()
    assert (listing["total"], len(listing["items"]), listing["limit"]) == (3, 2, 2)
    promoted = client.patch(f"/users/{olga['id']}", json={"role": "admin"}, headers=admin)
    assert promoted.json()["role"] == "admin"
    assert client.get("/users", headers=bearer(login(client, "olga", "olga-password-12"))).status_code == 200
    for bad in ({"role": "root"}, {"password": "short"}, {"is_active": "maybe"}):
        assert client.patch(f"/users/{olga['id']}", json=bad, headers=admin).status_code == 400
    assert client.delete(f"/users/{olga['id']}", headers=admin).status_code == 204
    assert client.patch(f"/users/{olga['id']}", json={"is_active": True}, headers=admin).status_code == 404


def test_the_last_admin_cannot_be_disabled_demoted_or_deleted(fresh: TestClient) -> None:
    admin = admin_headers(fresh)
    admin_id = me(fresh, admin)["id"]
    for method, options in (
        ("PATCH", {"json": {"is_active": False}}),
        ("PATCH", {"json": {"role": "user"}}),
        ("DELETE", {}),
    ):
        response = fresh.request(method, f"/users/{admin_id}", headers=admin, **options)
        assert response.status_code == 409, response.text
        assert set(response.json()) == {"error"}
    assert me(fresh, admin)["role"] == "admin"
    # with a second admin, the first may step down
    add_user(fresh, "second-admin", "second-admin-pass", role="admin")
    second = bearer(login(fresh, "second-admin", "second-admin-pass"))
    assert fresh.patch(f"/users/{admin_id}", json={"is_active": False}, headers=second).status_code == 200
    second_id = me(fresh, second)["id"]
    assert fresh.patch(f"/users/{second_id}", json={"is_active": False}, headers=second).status_code == 409


def test_deleting_a_user_who_owns_files_is_409(world: World) -> None:
    client = world.client
    owner = bearer(add_user(client, "pia", "pia-password-123"))
    idle = bearer(add_user(client, "quinn", "quinn-password-1"))
    file_id = client.post("/upload/dicom", files={"file": ("ct.dcm", CT.read_bytes())}, headers=owner).json()["file_id"]
    admin = admin_headers(client)
    response = client.delete(f"/users/{me(client, owner)['id']}", headers=admin)
    assert response.status_code == 409
    assert set(response.json()) == {"error"}
    assert client.get(f"/files/{file_id}", headers=owner).status_code == 200
    # an account without files goes, and its tokens with it
    quinn_id = me(client, idle)["id"]
    assert client.delete(f"/users/{quinn_id}", headers=admin).status_code == 204
    assert_unauthorized(client.get("/users/me", headers=idle))
    assert_unauthorized(sign_in(client, "quinn", "quinn-password-1"))


@pytest.mark.parametrize("user_id", ["0" * 32, "nope", "' OR 1=1 --", "%00" * 32, "%27" * 32, "f" * 33])
def test_unknown_or_hostile_user_ids_are_404(request: pytest.FixtureRequest, world: World, user_id: str) -> None:
    for method, options in (("PATCH", {"json": {"is_active": False}}), ("DELETE", {})):
        response = world.raw.request(method, f"/users/{user_id}", headers=world.admin, **options)
        assert response.status_code == 404, response.text
        assert set(response.json()) == {"error"}


# --- hostile usernames at sign-in ----------------------------------------------------------------------------

HOSTILE_USERNAMES = {
    "sql quote": "admin' OR '1'='1",
    "sql comment": "admin'--",
    "sql union": "x' UNION SELECT password_hash FROM users --",
    "like wildcard": "adm%",
    "underscore wildcard": "_dmin",
    "path": "../../etc/passwd",
    "unicode": "ádmín",
    "empty-ish": " ",
    "64 chars": "a" * 64,
    "65 chars": "a" * 65,
    "300 chars": "a" * 300,
    "100k chars": "a" * 100_000,
    "nul byte": "admin\x00",
    "control chars": "adm\r\nin",
}


@pytest.mark.parametrize("case", HOSTILE_USERNAMES)
def test_hostile_usernames_at_sign_in_are_a_clean_4xx(request: pytest.FixtureRequest, world: World, case: str) -> None:
    for password in (ADMIN_PASSWORD, "' OR '1'='1"):
        response = world.raw.post("/auth/token", data={"username": HOSTILE_USERNAMES[case], "password": password})
        assert 400 <= response.status_code < 500, response.text
        assert set(response.json()) == {"error"}
        assert "access_token" not in response.text


# --- no password in the logs ---------------------------------------------------------------------------------


def test_no_password_reaches_the_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [
        "rosa-password-123",
        "rosa-new-password-456",
        "wrong-guess-password",
        "self-made-password",
        "tiny-secret",
    ]
    for client in make_client(settings_for(tmp_path / "data", open_registration=True), as_user=None):
        admin = admin_headers(client)
        assert (
            client.post("/users", json={"username": "rosa", "password": secrets[0]}, headers=admin).status_code == 201
        )
        assert sign_in(client, "rosa", secrets[2]).status_code == 401
        assert sign_in(client, "nobody", secrets[2]).status_code == 401
        rosa = bearer(login(client, "rosa", secrets[0]))
        change = {"current_password": secrets[0], "new_password": secrets[1]}
        assert client.post("/users/me/password", json=change, headers=rosa).status_code == 204
        assert client.post("/auth/register", json={"username": "self", "password": secrets[3]}).status_code == 201
        assert client.post("/auth/register", json={"username": "weak", "password": secrets[4]}).status_code == 400
        assert (
            client.post("/users", json={"username": "weak", "password": secrets[4]}, headers=admin).status_code == 400
        )
    assert any(r.name == "dicom_api.access" for r in caplog.records), "no request was logged: this proves nothing"
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)
    for secret in [*secrets, ADMIN_PASSWORD]:
        assert secret not in logged


# --- usernames ignore case; a stolen token cannot guess the password ------------------------------------------


def test_usernames_are_unique_and_found_regardless_of_case(fresh: TestClient) -> None:
    admin = admin_headers(fresh)
    created = fresh.post("/users", json={"username": "Erin", "password": "erin-password-123"}, headers=admin)
    assert created.status_code == 201
    clash = fresh.post("/users", json={"username": "erin", "password": "erin-password-456"}, headers=admin)
    assert clash.status_code == 409
    assert sign_in(fresh, "ERIN", "erin-password-123").status_code == 200


def test_wrong_current_passwords_are_throttled(backend: Settings) -> None:
    settings = backend.model_copy(update={"login_max_failures_per_user": 3})
    for client in make_client(settings):
        for _ in range(3):
            wrong = client.post(
                "/users/me/password", json={"current_password": "not-my-password", "new_password": "new-password-1234"}
            )
            assert wrong.status_code == 400
        blocked = client.post(
            "/users/me/password", json={"current_password": "alice-password-123", "new_password": "new-password-1234"}
        )
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0
