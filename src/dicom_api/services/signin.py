"""Sign-in and password changes: the login throttle, and argon2 kept away from the database and the event loop.

argon2 is slow on purpose. A request that held a pooled connection while hashing, and opened a second one for
the throttle, starved the pool under a burst of sign-ins: every other request then waited for a connection
until it timed out. So a sign-in is admitted (or told at once that the cores are busy), counts its attempt
and reads the account, releasing the connection, hashes in a worker thread with no connection held (a burst
queues for a slot without holding a thread or a connection), then writes in a short transaction that checks
the account is still as it was read. Each step is a transaction of its own, one after the other, never
nested.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import anyio
from sqlalchemy.orm import Session, sessionmaker

from dicom_api.auth.passwords import check_policy, hash_password, lanes, needs_rehash, verify_password
from dicom_api.db.models import User
from dicom_api.db.repository import LoginFailureRepository, RefreshTokenRepository, UserRepository
from dicom_api.errors import InvalidParameter, TooManyRequests, Unauthorized, WrongPassword
from dicom_api.services.accounts import AccountService, Principal, TokenPair, check_account, is_username

T = TypeVar("T")
Transaction = Callable[[], AbstractContextManager[Session]]


class PasswordWork:
    """argon2 in worker threads, never on the event loop, at most ``slots`` at a time. By default as many as
    the cores can run at once, each hash keeping argon2's lanes busy (four threads): more would only slow
    every hash down and starve the event loop of CPU (measured: even 429s then took seconds to answer).

    Hashing is CPU-bound, so a burst larger than the cores can hash in MAX_WAIT_SECONDS cannot be answered
    in time by anyone: past that expected wait, ``admission`` refuses at once (429 with Retry-After) instead
    of letting every request wait minutes in the queue. It counts the requests in flight from the moment
    they are admitted (a burst arrives all at once, before any of it reaches the queue); the counter is only
    touched on the event loop.
    """

    MAX_WAIT_SECONDS = 5.0

    def __init__(self, slots: int | None = None) -> None:
        self._slots = slots or max(1, (os.cpu_count() or 1) // lanes())
        self._limiter = anyio.CapacityLimiter(self._slots)
        self._seconds: float | None = None  # a hash's duration: measured once, then averaged over recent ones
        self._measured: anyio.Event | None = None
        self._in_flight = 0

    @asynccontextmanager
    async def admission(self) -> AsyncIterator[None]:
        """A request that will hash; TooManyRequests when those ahead of it would make it wait too long."""
        seconds = self._seconds if self._seconds is not None else await self._measure()
        wait = self._in_flight / self._slots * seconds
        if wait > self.MAX_WAIT_SECONDS:
            raise TooManyRequests("Too many sign-ins at once; try again in a few seconds.", retry_after=int(wait) + 1)
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1

    async def _measure(self) -> float:
        """Time one hash, once: a guess would let the first burst after start-up in whole."""
        if self._measured is None:
            self._measured = anyio.Event()
            await self._run(verify_password, None, "calibration-password")  # _timed records its duration
            self._measured.set()
        await self._measured.wait()
        assert self._seconds is not None  # noqa: S101 - set before the event
        return self._seconds

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """verify_password (in an admitted request): pass None for an unknown account, which costs the same."""
        return await self._run(verify_password, password_hash, password)

    async def hash(self, password: str, *, admitted: bool = False) -> str:
        """hash_password; ``admitted``: within this request's ``admission`` already."""
        check_policy(password)  # before waiting for a slot: a refused password costs nothing
        if admitted:
            return await self._run(hash_password, password)
        async with self.admission():
            return await self._run(hash_password, password)

    async def rehash(self, password_hash: str, password: str) -> str | None:
        """A new hash when ``password_hash`` was made with older parameters; None otherwise, and for a
        password from before the current policy (the sign-in still succeeds)."""
        if not needs_rehash(password_hash):
            return None
        try:
            return await self.hash(password, admitted=True)
        except InvalidParameter:
            return None

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        return await anyio.to_thread.run_sync(self._timed, fn, *args, limiter=self._limiter)

    def _timed(self, fn: Callable[..., T], *args: object) -> T:
        started = time.perf_counter()
        try:
            return fn(*args)
        finally:
            took = time.perf_counter() - started
            self._seconds = took if self._seconds is None else 0.8 * self._seconds + 0.2 * took


@dataclass(frozen=True)
class _Failures:
    count: int = 0
    oldest: datetime | None = None
    newest: datetime | None = None


class LoginThrottle:
    """Failed sign-ins in a sliding window, kept in the database (every worker process sees the same state),
    each read or write a short transaction of its own.

    A guesser is slowed or refused, the account's owner is not locked out (README "Users and tokens"):
    - one address that failed ``per_user`` times on one username is refused for that username;
    - a username that failed ``per_user`` times from all addresses together is being guessed from many
      places: addresses that already failed on it are refused, others still get to try;
    - an address that failed ``per_address`` times, on any usernames, is paced: one attempt per
      ``window / per_address`` seconds, so a right password from behind it still gets in, after a wait.

    An attempt is written down as a failure before its password is tried, and taken back when it succeeds
    (or is refused): concurrent guesses see one another, so a burst cannot all pass before any counts, and
    a request that dies half-way still counts.
    """

    def __init__(self, sessions: sessionmaker[Session], window_seconds: int, per_user: int, per_address: int) -> None:
        self._sessions = sessions
        self._window = timedelta(seconds=window_seconds)
        self._per_user = per_user
        self._per_address = per_address
        self._pace = self._window / per_address

    def attempt(self, username: str, address: str) -> list[int]:
        """Count this attempt as failed and return its rows, or raise TooManyRequests (with Retry-After,
        counting nothing) when it may not be made now."""
        now = datetime.now(UTC)
        keys = _keys(username, address)
        with self._sessions() as session, session.begin():  # committed first, so concurrent attempts see it
            repo = LoginFailureRepository(session)
            repo.prune(now - self._window)
            rows = repo.add(keys, now)
        with self._sessions() as session:
            found = LoginFailureRepository(session).recent(keys, now - self._window, excluding=rows)
        wait = self._wait(*(_Failures(*found[key]) if key in found else _Failures() for key in keys), now=now)
        if wait is not None:
            self._take_back(rows)
            raise TooManyRequests("Too many failed sign-in attempts; try again later.", retry_after=wait)
        return rows

    def check(self, username: str, address: str) -> None:
        """TooManyRequests (with Retry-After) when an attempt on ``username`` from ``address`` may not be made
        now; counts nothing. For secrets checked on every request (share links), where writing every attempt
        down first would cost each request a write: only ``failed`` ones are."""
        now = datetime.now(UTC)
        keys = _keys(username, address)
        with self._sessions() as session:
            found = LoginFailureRepository(session).recent(keys, now - self._window)
        wait = self._wait(*(_Failures(*found[key]) if key in found else _Failures() for key in keys), now=now)
        if wait is not None:
            raise TooManyRequests("Too many failed attempts; try again later.", retry_after=wait)

    def failed(self, username: str, address: str) -> None:
        """Count a failed attempt that ``check`` let through."""
        now = datetime.now(UTC)
        with self._sessions() as session, session.begin():
            repo = LoginFailureRepository(session)
            repo.prune(now - self._window)
            repo.add(_keys(username, address), now)

    def succeeded(self, username: str, address: str, attempt: list[int]) -> None:
        """The password was right: the attempt is taken back and the username's failures no longer count.
        The address's other failures do (an account of one's own must not reset the pace of an address that
        guesses others)."""
        with self._sessions() as session, session.begin():
            repo = LoginFailureRepository(session)
            repo.clear(_keys(username, address)[:2])
            repo.remove(attempt)

    def _take_back(self, rows: list[int]) -> None:
        with self._sessions() as session, session.begin():
            LoginFailureRepository(session).remove(rows)

    def _wait(self, by_user: _Failures, by_pair: _Failures, by_addr: _Failures, *, now: datetime) -> int | None:
        """Seconds before an attempt with these earlier failures may be made; None: now."""
        until = None
        if by_pair.count >= self._per_user and by_pair.oldest:
            until = by_pair.oldest + self._window
        elif by_user.count >= self._per_user and by_pair.newest and by_user.oldest:
            until = min(by_pair.newest, by_user.oldest) + self._window
        elif by_addr.count >= self._per_address and by_addr.newest and now < by_addr.newest + self._pace:
            until = by_addr.newest + self._pace
        return None if until is None else int((until - now).total_seconds()) + 1


@dataclass(frozen=True)
class Credentials:
    """What a sign-in or a password change reads of an account, before the connection is released."""

    id: str
    username: str
    password_hash: str
    is_active: bool
    token_version: int

    @classmethod
    def of(cls, user: User) -> Credentials:
        return cls(user.id, user.username, user.password_hash, user.is_active, user.token_version)


class SignIn:
    """The password grant and password changes, holding no connection while argon2 runs.

    Their database steps run in worker threads, at most ``db_slots`` at a time: a burst of sign-ins waiting
    for a connection would otherwise take every worker thread, and the requests that hold the connections
    could not get one to finish (measured: the pool timed out for everyone).
    """

    def __init__(
        self,
        transaction: Transaction,
        accounts: Callable[[Session], AccountService],
        throttle: LoginThrottle,
        passwords: PasswordWork,
        db_slots: int | None = None,
    ) -> None:
        self._transaction = transaction
        self._accounts = accounts
        self.throttle = throttle
        self.passwords = passwords
        self._db = anyio.CapacityLimiter(db_slots or os.cpu_count() or 1)

    async def password_grant(self, username: str, password: str, address: str) -> tuple[Credentials, TokenPair]:
        """A new token pair for the right password; Unauthorized (the same answer, after the same work,
        whether the name is unknown, malformed or disabled, or the password wrong) or TooManyRequests."""
        async with self.passwords.admission():  # before anything is counted or read
            attempt = await self._in_thread(self.throttle.attempt, username, address)
            found = await self._in_thread(self._read, username)
            ok = await self.passwords.verify(found.password_hash if found else None, password)
            if not ok or found is None or not found.is_active:
                raise Unauthorized("Wrong username or password.")  # the attempt stays counted as failed
            new_hash = await self.passwords.rehash(found.password_hash, password)
        tokens = await self._in_thread(self._signed_in, found, new_hash)
        await self._in_thread(self.throttle.succeeded, username, address, attempt)
        return found, tokens

    async def change_password(self, principal: Principal, current: str, new: str, address: str) -> Credentials:
        """Change the bearer's own password; every token issued before stops working. Wrong current passwords
        count as failed sign-ins, so a stolen access token cannot be used to guess the password."""
        async with self.passwords.admission():
            found = await self._in_thread(self._bearer, principal)
            attempt = await self._in_thread(self.throttle.attempt, found.username, address)
            if not await self.passwords.verify(found.password_hash, current):
                raise WrongPassword()  # the attempt stays counted as failed
            new_hash = await self.passwords.hash(new, admitted=True)
        await self._in_thread(self._store_password, found, new_hash)
        await self._in_thread(self.throttle.succeeded, found.username, address, attempt)
        return found

    async def _in_thread(self, fn: Callable[..., T], *args: object) -> T:
        """Database work off the event loop: a write may wait for SQLite's lock or a network round trip."""
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._db)

    def _read(self, username: str) -> Credentials | None:
        if not is_username(username):
            return None
        with self._transaction() as session:
            user = UserRepository(session).by_username(username)
            return Credentials.of(user) if user is not None else None

    def _signed_in(self, seen: Credentials, new_hash: str | None) -> TokenPair:
        with self._transaction() as session:
            values: dict[str, object] = {"last_login_at": datetime.now(UTC)}
            if new_hash:
                values["password_hash"] = new_hash
            if not UserRepository(session).update_if_unchanged(seen.id, seen.token_version, values):
                raise Unauthorized("Wrong username or password.")  # disabled or given a new password meanwhile
            return self._accounts(session).issue(seen.id, seen.token_version)

    def _bearer(self, principal: Principal) -> Credentials:
        with self._transaction() as session:
            user = check_account(UserRepository(session).get(principal.claims.subject), principal)
            return Credentials.of(user)

    def _store_password(self, seen: Credentials, new_hash: str) -> None:
        with self._transaction() as session:
            users = UserRepository(session)
            changes = {"password_hash": new_hash, "token_version": User.token_version + 1}
            if not users.update_if_unchanged(seen.id, seen.token_version, changes):
                raise Unauthorized("The token is no longer valid.")  # the password changed meanwhile
            RefreshTokenRepository(session).revoke_user(seen.id, datetime.now(UTC))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _keys(username: str, address: str) -> list[str]:
    """The throttle's keys of an attempt: its username (as typed, ignoring case), that username from that
    address, and the address. Hashed, so any length or character fits the column."""
    name = username.lower()
    return ["user:" + _digest(name), "pair:" + _digest(name, address), "addr:" + _digest(address)]
