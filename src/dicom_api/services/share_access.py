"""A request made with a share link: the token looked up, the passcode checked, guessing throttled.

Guessing tokens is throttled like sign-in (services/signin.py LoginThrottle), per address: a token that is no
share's counts as a failed attempt. A wrong passcode counts against that share, from that address and from
all together. A passcode is argon2-hashed; a right one is remembered by this process (an HMAC of it and of
the share's stored hash, under a key of the process's own), so a viewer fetching hundreds of frames does not
pay argon2 each time; the share itself is still checked in the database on every request, so a revocation or
an expiry holds at once.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable

from dicom_api.auth.share_tokens import is_share_token
from dicom_api.errors import Unauthorized
from dicom_api.services.accounts import Principal
from dicom_api.services.blocking import RunBlocking
from dicom_api.services.shares import Shares
from dicom_api.services.signin import LoginThrottle, PasswordWork

GUESSES = "share-link"  # the throttle's name for attempts with tokens that are no share's
REMEMBERED = 4096  # right passcodes remembered by this process


class ShareAccess:
    def __init__(self, shares: Shares, throttle: LoginThrottle, passwords: PasswordWork, run: RunBlocking) -> None:
        self._shares = shares
        self._throttle = throttle
        self._passwords = passwords
        self._run = run
        self._right: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._key = secrets.token_bytes(32)  # this process's own: what it remembers is no passcode's plain hash
        self._lock = threading.Lock()

    async def principal(
        self, secret: str, passcode: str | None, address: str, named: Callable[[str], None]
    ) -> Principal:
        """The principal of a share link; Unauthorized (401) for a token that is no share's or a passcode
        missing or wrong, Gone (410) revoked or expired, TooManyRequests (429) while throttled."""
        if not is_share_token(secret):
            raise Unauthorized("The share link is not valid.")
        await self._run(self._throttle.check, GUESSES, address)
        grant = await self._run(self._shares.open, secret, named)
        if grant is None:
            await self._run(self._throttle.failed, GUESSES, address)
            raise Unauthorized("The share link is not valid.")
        if grant.passcode_hash is not None:
            assert grant.principal.share is not None  # noqa: S101 - a share's principal
            await self._passcode(grant.principal.share.share_id, grant.passcode_hash, passcode, address)
        return grant.principal

    async def _passcode(self, share_id: str, stored: str, passcode: str | None, address: str) -> None:
        if not passcode:
            raise Unauthorized("This share link needs its passcode: send it as the X-Share-Passcode header.")
        remembered = (share_id, hmac.new(self._key, f"{stored}\0{passcode}".encode(), "sha256").hexdigest())
        with self._lock:
            if remembered in self._right:
                self._right.move_to_end(remembered)
                return
        name = f"share:{share_id}"
        await self._run(self._throttle.check, name, address)
        async with self._passwords.admission():
            right = await self._passwords.verify(stored, passcode)
        if not right:
            await self._run(self._throttle.failed, name, address)
            raise Unauthorized("The passcode is wrong.")
        with self._lock:
            self._right[remembered] = None
            while len(self._right) > REMEMBERED:
                self._right.popitem(last=False)
