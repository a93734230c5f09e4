"""A personal access token as a request presents it in its Authorization header: as a bearer token (told
apart from a session's JWT by its prefix) or as the password of HTTP Basic (RFC 7617) with the username, the
way tools such as dcm4che (`-u user:token`) and Orthanc (`Username`/`Password`) send it."""

from __future__ import annotations

from dicom_api.auth.personal_tokens import basic_credentials, decode_basic
from dicom_api.auth.share_tokens import PREFIX as SHARE_PREFIX
from dicom_api.errors import Unauthorized

PASSCODE_HEADER = "x-share-passcode"


def share_link(scheme: str, value: str, passcode: str | None) -> tuple[str, str | None] | None:
    """A share link's token and passcode, when the request presents one: as a bearer token (the passcode in
    X-Share-Passcode), or as the username of HTTP Basic with the passcode as its password (what a viewer
    that knows only Basic can send). None when it presents something else."""
    if value and scheme.lower() == "bearer" and value.startswith(SHARE_PREFIX):
        return value, passcode
    if value and scheme.lower() == "basic":
        username, password = decode_basic(value)
        if username.startswith(SHARE_PREFIX):
            return username, password or passcode
    return None


def presented(scheme: str, value: str) -> tuple[str, str | None]:
    """The personal token and the username HTTP Basic named (None for a bearer token); 401 for anything else."""
    if value and scheme.lower() == "bearer":
        return value, None
    if value and scheme.lower() == "basic":
        username, token = basic_credentials(value)
        return token, username
    raise Unauthorized("A bearer token is required: POST /auth/token to get one.")
