"""Every route a stored file can be read through, called the way a client would, with what each answer must be.

Works on any httpx client: the in-process app (whose test client re-raises what the app left unhandled: that
is reported with its traceback's last lines) or a real server over loopback.
"""

from __future__ import annotations

import json
import re
import traceback
from typing import Any

import httpx

from tests.mutants import layout

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Asked of every file whatever its elements: how it is read (transfer syntax, character set) and shown.
ALWAYS_ASKED = (0x00020010, 0x00080005, 0x00280002, 0x00280008, 0x00280010, 0x00280011, 0x00280100, 0x7FE00010)


class Probe:
    """Calls routes and collects every answer that breaks the API's promises, one line each."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.problems: list[str] = []

    def call(self, method: str, url: str, ok: set[int], **kwargs: Any) -> httpx.Response | None:
        """The answer, after checking it: never a 5xx, a success or redirect only when in ``ok``, and every 4xx
        (in ``ok`` or not: a client error is always allowed) of the documented shape."""
        shown = f"{method} {url}" + (f" {kwargs['params']}" if "params" in kwargs else "")
        try:
            response = self.client.request(method, url, **kwargs)
        except Exception as exc:  # the in-process app's unhandled error, re-raised by its test client
            self.problems.append(f"{shown}: unhandled {_traceback_tail(exc)}")
            return None
        status = response.status_code
        if status >= 500:
            self.problems.append(f"{shown}: {status} {response.text[:300]}")
        elif status >= 400:
            if (message := error_message(response)) is None:
                self.problems.append(f"{shown}: {status} with a body not of the form {{'error': '...'}}: "
                                     f"{response.text[:300]}")  # fmt: skip
            elif "Traceback" in message:
                self.problems.append(f"{shown}: {status} whose message holds a traceback")
        elif status not in ok:
            self.problems.append(f"{shown}: unexpected {status} (expected {sorted(ok)} or a 4xx)")
        return response

    def upload(self, data: bytes) -> str | None:
        """Upload ``data``; its id when it was accepted."""
        response = self.call("POST", "/upload/dicom", {201}, files={"file": ("mutant.dcm", data, "application/dicom")})
        if response is None or response.status_code != 201:
            return None
        return str(response.json()["file_id"])

    def read_everything(self, file_id: str, data: bytes, *, every_attribute: bool = True) -> None:
        """Every read route of a stored file, then its deletion. ``every_attribute``: ask /header_attribute
        for each top-level element of the file, not only for ALWAYS_ASKED."""
        self.call("GET", f"/files/{file_id}", {200})
        original = self.call("GET", f"/files/{file_id}/dicom", {200})
        if original is not None and original.status_code == 200 and original.content != data:
            self.problems.append(
                f"GET /files/{file_id}/dicom: {len(original.content)} bytes differing from the {len(data)} uploaded"
            )
        png = self.call("GET", f"/download/png/{file_id}", {200})
        if png is not None and png.status_code == 200 and not png.content.startswith(PNG_SIGNATURE):
            self.problems.append(f"GET /download/png/{file_id}: 200 whose body is no PNG")
        tags = set(ALWAYS_ASKED) | self._header_tags(file_id)
        if every_attribute:
            tags |= {e.tag for e in layout(data)}
        else:
            tags &= set(ALWAYS_ASKED)
        for tag in sorted(tags):
            params = {"file_id": file_id, "tag_group": f"{tag >> 16:04X}", "tag_element": f"{tag & 0xFFFF:04X}"}
            self.call("GET", "/header_attribute", {200, 404}, params=params)
        self.call("DELETE", f"/files/{file_id}", {204})
        self.call("GET", f"/files/{file_id}", {404})

    def _header_tags(self, file_id: str) -> set[int]:
        """The top-level tags of the whole header, as the DICOM JSON Model answer names them."""
        response = self.call("GET", f"/files/{file_id}/attributes", {200})
        if response is None or response.status_code != 200:
            return set()
        try:
            header = response.json()
        except ValueError:
            self.problems.append(f"GET /files/{file_id}/attributes: 200 whose body is not JSON")
            return set()
        if not isinstance(header, dict):
            self.problems.append(f"GET /files/{file_id}/attributes: 200 whose body is no JSON object")
            return set()
        return {int(key, 16) for key in header if len(key) == 8 and _is_hex(key)}


def error_message(response: httpx.Response) -> str | None:
    """The message of an error body {"error": "<non-empty>"}, or None when the body is not of that form."""
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        return None
    if isinstance(body, dict) and set(body) == {"error"} and isinstance(body["error"], str) and body["error"].strip():
        return str(body["error"])
    return None


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


def _traceback_tail(exc: BaseException, frames: int = 3) -> str:
    """The exception, the last frames that raised it and the deepest frame of the service's own code (which
    names the part of the service to look at), on one line."""
    stack = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in stack if "dicom_api" in f.filename.replace("\\", "/")]
    shown = stack[-frames:] + ([ours[-1]] if ours and ours[-1] not in stack[-frames:] else [])
    where = " <- ".join(_frame(f) for f in reversed(shown))
    message = str(exc) if len(str(exc)) <= 160 else str(exc)[:160] + "..."
    return f"{type(exc).__name__}: {message} at {where}{_remote_origin(exc)}"


def _remote_origin(exc: BaseException) -> str:
    """Where an error raised in a worker process came from: concurrent.futures chains the worker's traceback, as
    text, to the error it re-raises."""
    remote = getattr(exc.__cause__, "tb", None)
    if not isinstance(remote, str):
        return ""
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', remote)
    ours = [f for f in frames if "dicom_api" in f[0].replace("\\", "/")]
    shown = [frames[-1]] + ([ours[-1]] if ours and ours[-1] != frames[-1] else []) if frames else []
    return "; in the worker: " + " <- ".join(f"{_short_path(path)}:{line} {name}" for path, line, name in shown)


def _frame(frame: traceback.FrameSummary) -> str:
    return f"{_short_path(frame.filename)}:{frame.lineno} {frame.name}"


def _short_path(filename: str) -> str:
    path = filename.replace("\\", "/")
    return path.split("dicom_api/", 1)[1] if "dicom_api/" in path else path.rsplit("/", 1)[-1]
