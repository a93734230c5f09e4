"""The uploader's HTTP side: sign-in, which checksums the server has, one streamed upload; retried with back-off."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from dicom_api.uploader.sources import CHUNK, Item

LOOKUP_BATCH = 1000  # the server's bound on one lookup
BACKOFF_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)  # then the file counts as failed
RETRY_STATUSES = {502, 503, 504}


class SignInFailed(Exception):
    """The server refused the credentials or the token."""


class Stopped(Exception):
    """The run was interrupted while waiting to retry."""


@dataclass(frozen=True)
class Outcome:
    kind: str  # "stored" | "already" | "refused" | "failed"
    detail: str = ""  # the file id, the server's reason, or the network error


class Client:
    def __init__(
        self,
        url: str,
        token: str | None,
        stop: threading.Event,
        timeout: float = 300,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(
            base_url=url.rstrip("/"), timeout=httpx.Timeout(timeout, connect=10), transport=transport
        )
        self.stop = stop
        self._token = token
        self._refresh: str | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    def sign_in(self, username: str, password: str) -> None:
        response = self._retrying(
            lambda: self.http.post("/auth/token", data={"username": username, "password": password})
        )
        if response.status_code != 200:
            raise SignInFailed(_reason(response))
        self._take(response.json())

    def check(self) -> str:
        """The signed-in user's name, which also proves the token."""
        response = self._authorised(lambda headers: self.http.get("/users/me", headers=headers))
        if response.status_code != 200:
            raise SignInFailed(_reason(response))
        return str(response.json()["username"])

    def stored(self, checksums: list[str], *, retry: bool = True) -> set[str]:
        """Which of ``checksums`` the server has stored for us already, asked in bounded batches."""
        have: set[str] = set()
        for start in range(0, len(checksums), LOOKUP_BATCH):
            batch = checksums[start : start + LOOKUP_BATCH]

            def ask(headers: dict[str, str], batch: list[str] = batch) -> httpx.Response:
                return self.http.post("/files/lookup", json={"sha256": batch}, headers=headers)

            response = self._authorised(ask, retry=retry)
            if response.status_code != 200:
                raise httpx.HTTPStatusError(_reason(response), request=response.request, response=response)
            have.update(response.json()["stored"])
        return have

    def upload(self, item: Item, sha256: str) -> Outcome:
        """Send one file. A retry after a dropped connection first asks whether the last attempt got through."""
        attempts = 0
        arrived = False

        def send(headers: dict[str, str]) -> httpx.Response:
            nonlocal attempts, arrived
            attempts += 1
            if attempts > 1 and self.stored([sha256], retry=False):  # this attempt's back-off covers it
                arrived = True
                return httpx.Response(204)  # not sent again
            body = _Multipart(item)
            headers = {**headers, "Content-Type": body.content_type, "Content-Length": str(len(body))}
            return self.http.post("/upload/dicom", content=iter(body), headers=headers)

        try:
            response = self._authorised(send)
        except httpx.HTTPError as exc:  # the connection, or the lookup before a retry, failed for good
            return Outcome("failed", exc.__class__.__name__)
        if arrived:
            return Outcome("already")
        if response.status_code == 201:
            return Outcome("stored", str(response.json().get("file_id", "")))
        if response.status_code in RETRY_STATUSES or response.status_code == 401:
            return Outcome("failed", f"HTTP {response.status_code}: {_reason(response)}")
        return Outcome("refused", f"HTTP {response.status_code}: {_reason(response)}")

    def _authorised(self, call: Callable[[dict[str, str]], httpx.Response], *, retry: bool = True) -> httpx.Response:
        """``call`` with the bearer token (retried while the network fails, unless ``retry`` is false); once
        more with a refreshed token when the access token expired."""
        token = self._token
        again = self._retrying if retry else _once
        response = again(lambda: call({"Authorization": f"Bearer {token}"}))
        if response.status_code == 401 and self._refresh is not None and self._renew(token):
            token = self._token
            response = again(lambda: call({"Authorization": f"Bearer {token}"}))
        return response

    def _renew(self, expired: str | None) -> bool:
        with self._lock:
            if self._token != expired:  # another thread renewed it meanwhile
                return True
            response = self._retrying(lambda: self.http.post("/auth/refresh", json={"refresh_token": self._refresh}))
            if response.status_code != 200:
                return False
            self._take(response.json())
            return True

    def _take(self, tokens: dict[str, Any]) -> None:
        self._token = str(tokens["access_token"])
        self._refresh = tokens.get("refresh_token")

    def _retrying(self, call: Callable[[], httpx.Response]) -> httpx.Response:
        """``call``, again after a pause while the connection fails or the server answers 502/503/504."""
        for pause in (*BACKOFF_SECONDS, None):
            try:
                response = call()
                if response.status_code not in RETRY_STATUSES or pause is None:
                    return response
                pause = max(pause, min(_retry_after(response), 60.0))
            except httpx.TransportError:
                if pause is None:
                    raise
            if self.stop.wait(pause):
                raise Stopped()
        raise AssertionError("unreachable")  # pragma: no cover


def _once(call: Callable[[], httpx.Response]) -> httpx.Response:
    return call()


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else 0.0


def _reason(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        return response.reason_phrase or f"HTTP {response.status_code}"


class _Multipart:
    """A multipart/form-data body with one part, ``file``, read chunk by chunk as it is sent."""

    def __init__(self, item: Item) -> None:
        self.item = item
        self.boundary = uuid.uuid4().hex
        self.head = (
            f"--{self.boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="upload.dcm"\r\n'
            "Content-Type: application/dicom\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + self.item.size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        with self.item.open() as fp:
            while chunk := fp.read(CHUNK):
                yield chunk
        yield self.tail
