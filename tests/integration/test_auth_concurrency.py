"""Sign-in, token rotation and account changes under concurrency, on SQLite and PostgreSQL.

Requests come from threads at once, through the running app's one event loop (as under a server), with a
connection pool far smaller than the burst: whatever the interleaving, every request gets a 4xx it deserves
or its 2xx, never a 500, and shared state ends consistent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from dicom_api.auth import passwords
from dicom_api.db import engine as db_engine
from dicom_api.services import context as app_context
from tests.helpers import ADMIN_PASSWORD, SpyHasher, add_user, login, make_client
from tests.worlds import BACKENDS, backend_settings, bearer

POOL_SIZE = 3  # connections the app may hold at once, for bursts of tens of requests
OVERALL_TIMEOUT = 120  # seconds for a whole burst to be answered: generous, only so a hang fails the test


def small_pool_engine(url: str) -> Engine:
    """The app's engine with POOL_SIZE connections and no overflow. A request that waits longer than
    pool_timeout for one fails, so starving the pool shows as errors rather than as a slow test."""
    pool: dict[str, Any] = {"pool_size": POOL_SIZE, "max_overflow": 0, "pool_timeout": 10}
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)
        event.listen(engine, "connect", db_engine._sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


@contextmanager
def small_pool_app(request: pytest.FixtureRequest, tmp_path: Path, **overrides: Any) -> Iterator[TestClient]:
    """The app on a small pool, with only the admin account; its client raises nothing, so a 500 is seen."""
    with pytest.MonkeyPatch.context() as patch, backend_settings(request, tmp_path / "data", **overrides) as settings:
        patch.setattr(app_context, "make_engine", small_pool_engine)
        for client in make_client(settings, as_user=None):
            assert client.app.state.context.engine.pool.size() == POOL_SIZE  # type: ignore[attr-defined]
            yield from_address(client, "testclient")


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    with small_pool_app(request, tmp_path) as client:
        yield client


@pytest.fixture(params=BACKENDS)
def strict_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """The same, with a throttle that refuses a username to an address after three failures."""
    with small_pool_app(request, tmp_path, login_max_failures_per_user=3) as client:
        yield client


def from_address(client: TestClient, address: str) -> TestClient:
    """The running app reached from another client address, through the same event loop."""
    other = TestClient(client.app, client=(address, 40000), raise_server_exceptions=False)
    other.portal = client.portal  # one loop, as under a server (else each request would get its own)
    return other


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, released together; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=OVERALL_TIMEOUT) for future in futures]


def sign_in(client: TestClient, username: str, password: str) -> Any:
    return client.post("/auth/token", data={"username": username, "password": password})


# --- a burst of sign-ins ----------------------------------------------------------------------------------------


def test_a_burst_of_sign_ins_is_answered_and_starves_no_one(app: TestClient) -> None:
    """Right and wrong passwords at once, several times the pool: each gets 200, 401 or 429, the right ones
    200, and another user's listing meanwhile answers too (sign-in holds no connection while hashing)."""
    alice = bearer(add_user(app, "alice", "alice-password-123"))
    add_user(app, "bob", "bob-password-1234")
    right = [lambda n=n: sign_in(from_address(app, f"10.1.0.{n}"), "bob", "bob-password-1234") for n in range(16)]
    wrong = [lambda n=n: sign_in(from_address(app, f"10.2.0.{n}"), "bob", f"guess-{n:08}") for n in range(30)]
    unknown = [lambda n=n: sign_in(from_address(app, "10.3.0.1"), f"nobody{n}", "guess-password") for n in range(14)]
    listings = [lambda: app.get("/files", headers=alice) for _ in range(6)]
    answers = at_once([*right, *wrong, *unknown, *listings])

    statuses = [answer.status_code for answer in answers]
    assert 500 not in statuses, [a.text for a in answers if a.status_code >= 500][:3]
    signed_in, guessed, strangers, listed = statuses[:16], statuses[16:46], statuses[46:60], statuses[60:]
    assert signed_in == [200] * 16  # the owner's right password, from addresses that never failed
    assert set(guessed) <= {401, 429}
    assert 401 in guessed
    assert set(strangers) <= {401, 429}
    assert listed == [200] * 6
    for answer in answers[:16]:
        assert app.get("/users/me", headers=bearer(answer.json()["access_token"])).status_code == 200


def test_a_burst_of_password_changes_holds_no_connection_while_hashing(app: TestClient) -> None:
    """Wrong and right current passwords at once: one change wins, the rest are 400, 401 or 429."""
    token = add_user(app, "carol", "carol-password-123")
    change = {"current_password": "carol-password-123", "new_password": "carol-new-password-456"}
    wrong = {"current_password": "not-the-password", "new_password": "carol-other-password-789"}
    calls = [
        lambda body=body: app.post("/users/me/password", json=body, headers=bearer(token)) for body in [change] * 4
    ]
    calls += [lambda: app.post("/users/me/password", json=wrong, headers=bearer(token)) for _ in range(12)]
    statuses = [answer.status_code for answer in at_once(calls)]
    assert statuses[:4].count(204) == 1, statuses  # the first change bumps the token version: the rest are 401
    assert set(statuses) <= {204, 400, 401, 429}, statuses
    # the guesses were throttled as failed sign-ins of carol from here; from elsewhere, the new password works
    assert sign_in(from_address(app, "10.9.0.1"), "carol", "carol-new-password-456").status_code == 200


def test_a_burst_of_guesses_gets_no_more_tries_than_the_limit(strict_app: TestClient) -> None:
    """Each attempt is counted before its password is tried: guesses sent at once see one another, so no
    more of them are tried than the limit allows, however they interleave."""
    app = strict_app
    add_user(app, "gina", "gina-password-123")
    statuses = [r.status_code for r in at_once([lambda n=n: sign_in(app, "gina", f"guess-{n:08}") for n in range(12)])]
    assert set(statuses) <= {401, 429}, statuses
    assert 1 <= statuses.count(401) <= 3, statuses
    assert sign_in(app, "gina", "gina-password-123").status_code == 429  # this address is done guessing
    assert sign_in(from_address(app, "10.4.0.1"), "gina", "gina-password-123").status_code == 200


class SlowHasher(SpyHasher):
    """The test hasher, as slow as argon2 at its production cost on a busy machine."""

    def verify(self, password_hash: str, password: str) -> bool:
        time.sleep(HASH_SECONDS)
        return super().verify(password_hash, password)


HASH_SECONDS = 0.3


def test_a_burst_beyond_what_the_cores_can_hash_in_time_is_turned_away_at_once(
    app: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hashing is CPU-bound: the sign-ins that could not be hashed within the bound are told so at once
    (429, Retry-After), the others signed in; none waits behind the whole burst."""
    add_user(app, "hana", "hana-password-123")
    monkeypatch.setattr(passwords, "_hasher", SlowHasher(passwords._hasher))
    work = app.app.state.context.signin.passwords  # type: ignore[attr-defined]
    monkeypatch.setattr(work, "MAX_WAIT_SECONDS", 1.0)
    monkeypatch.setattr(work, "_seconds", HASH_SECONDS)  # what its average of recent hashes would say
    burst = 8 * work._slots + 8  # eight times what the slots hash within the bound, and more
    answers = at_once(
        [lambda n=n: sign_in(from_address(app, f"10.5.0.{n}"), "hana", "hana-password-123") for n in range(burst)]
    )

    statuses = [answer.status_code for answer in answers]
    assert set(statuses) == {200, 429}, statuses
    for busy in (answer for answer in answers if answer.status_code == 429):
        assert busy.json() == {"error": "Too many sign-ins at once; try again in a few seconds."}
        assert 1 <= int(busy.headers["retry-after"]) <= 2
    assert statuses.count(200) >= work._slots
    assert sign_in(from_address(app, "10.5.1.1"), "hana", "hana-password-123").status_code == 200  # not counted


# --- refresh-token rotation -------------------------------------------------------------------------------------


@pytest.mark.parametrize("trial", range(5))
def test_concurrent_refreshes_of_one_token_rotate_it_exactly_once(app: TestClient, trial: int) -> None:
    username = f"dora{trial}"
    add_user(app, username, "dora-password-123")
    token = sign_in(app, username, "dora-password-123").json()["refresh_token"]
    answers = at_once([lambda: app.post("/auth/refresh", json={"refresh_token": token}) for _ in range(10)])

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [401] * 9, statuses
    [winner] = [answer.json() for answer in answers if answer.status_code == 200]
    # the losers were reuse of a spent token: the whole sign-in is revoked, the winner's new token too
    assert app.post("/auth/refresh", json={"refresh_token": winner["refresh_token"]}).status_code == 401
    assert app.post("/auth/refresh", json={"refresh_token": token}).status_code == 401
    # and the account itself signs in again
    assert sign_in(app, username, "dora-password-123").status_code == 200


# --- account administration ----------------------------------------------------------------------------------


def test_an_account_patched_while_deleted_is_a_clean_404(app: TestClient) -> None:
    admin = bearer(login(app, "admin", ADMIN_PASSWORD))
    for trial in range(20):
        created = app.post("/users", json={"username": f"erin{trial}", "password": "erin-password-123"}, headers=admin)
        assert created.status_code == 201, created.text
        user = f"/users/{created.json()['id']}"
        patch = {"is_active": False} if trial % 2 else {"role": "admin"}
        patched, deleted = at_once(
            [
                lambda user=user, patch=patch: app.patch(user, json=patch, headers=admin),
                lambda user=user: app.delete(user, headers=admin),
            ]
        )
        assert patched.status_code in (200, 404), patched.text
        assert deleted.status_code == 204, deleted.text
        assert set(patched.json()) == ({"error"} if patched.status_code == 404 else set(created.json()))
        assert app.patch(user, json=patch, headers=admin).status_code == 404
    usernames = [u["username"] for u in app.get("/users", headers=admin).json()["items"]]
    assert not [name for name in usernames if name.startswith("erin")]


def test_an_account_deleted_twice_at_once_is_deleted_once(app: TestClient) -> None:
    admin = bearer(login(app, "admin", ADMIN_PASSWORD))
    for trial in range(10):
        created = app.post("/users", json={"username": f"finn{trial}", "password": "finn-password-123"}, headers=admin)
        user = f"/users/{created.json()['id']}"
        deletes = [lambda user=user: app.delete(user, headers=admin)] * 2
        statuses = sorted(answer.status_code for answer in at_once(deletes))
        assert statuses == [204, 404], statuses
