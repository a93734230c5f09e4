"""The remote AEs an admin registered: who may push to the C-STORE receiver, and whose store receives."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dicom_api.db.models import RemoteAE
from dicom_api.db.remote_aes import RemoteAERepository
from dicom_api.db.repository import UserRepository
from dicom_api.errors import Conflict, InvalidParameter, NotFound
from dicom_api.services.accounts import is_username

# PS3.5 6.2, VR AE: up to 16 characters of the default repertoire, no backslash, no control characters;
# leading and trailing spaces are not significant.
_AE_TITLE = re.compile(r"[\x20-\x5b\x5d-\x7e]{1,16}")
_HOST = re.compile(r"[A-Za-z0-9.:\-]{1,255}")


@dataclass(frozen=True)
class RemoteAEView:
    ae_title: str
    username: str
    host: str | None
    created_at: datetime


@dataclass(frozen=True)
class Receiver:
    """Whose store receives what a calling AE sends, as read when its association began."""

    ae_title: str
    user_id: str
    username: str
    token_version: int  # a password change or disable since then refuses the association's next instances


def ae_title(value: str) -> str:
    """The AE title as compared: without its insignificant spaces; InvalidParameter unless it is one."""
    title = value.strip(" ")
    if not _AE_TITLE.fullmatch(title):
        raise InvalidParameter("An AE title is 1 to 16 printable ASCII characters, without a backslash.")
    return title


@contextmanager
def remote_aes(transaction: Callable[[], AbstractContextManager[Session]]) -> Iterator[RemoteAEService]:
    """The remote AEs in a transaction of their own: committed when the block ends, rolled back when it raises."""
    with transaction() as session:
        yield RemoteAEService(session)


class RemoteAEService:
    def __init__(self, session: Session) -> None:
        self.aes = RemoteAERepository(session)
        self.users = UserRepository(session)

    def add(self, title: str, username: str, host: str | None) -> RemoteAEView:
        title = ae_title(title)
        if host is not None and not _HOST.fullmatch(host):
            raise InvalidParameter("The host is an IP address or a DNS name.")
        user = self.users.by_username(username) if is_username(username) else None
        if user is None:
            raise NotFound("No user with this name.")
        if self.aes.get(title) is not None:
            raise Conflict("This AE title is registered already.")
        row = RemoteAE(ae_title=title, user_id=user.id, host=host, created_at=datetime.now(UTC))
        try:
            self.aes.add(row)
        except IntegrityError:  # registered meanwhile by another admin
            raise Conflict("This AE title is registered already.") from None
        return RemoteAEView(row.ae_title, user.username, row.host, row.created_at)

    def list(self) -> list[RemoteAEView]:
        return [RemoteAEView(ae.ae_title, name, ae.host, ae.created_at) for ae, name in self.aes.list()]

    def remove(self, title: str) -> None:
        if not self.aes.delete(ae_title(title)):
            raise NotFound("No remote AE with this title.")

    def receiver_for(self, title: str, address: str) -> Receiver | None:
        """The user whose store receives what the calling AE ``title`` sends from ``address``; None when it is
        not registered, registered with another host, or its user is disabled."""
        try:
            row = self.aes.get(ae_title(title))
        except InvalidParameter:
            return None
        if row is None or (row.host is not None and address not in _addresses(row.host)):
            return None
        user = self.users.get(row.user_id)
        if user is None or not user.is_active:
            return None
        return Receiver(row.ae_title, user.id, user.username, user.token_version)


def _addresses(host: str) -> set[str]:
    """The host's addresses: itself when it is one, else what the resolver answers now (DHCP moves modalities)."""
    try:
        return {str(ipaddress.ip_address(host))}
    except ValueError:
        pass
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError:
        return set()
