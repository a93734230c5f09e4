"""What a request presents in its Authorization header: a session's JWT, or a personal access token as a
bearer token (told apart by its prefix) or as the password of HTTP Basic (RFC 7617) with the username, the way
tools such as dcm4che (`-u user:token`) and Orthanc (`Username`/`Password`) send it."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.security import HTTPBasic
from fastapi.security.utils import get_authorization_scheme_param

from dicom_api.auth.personal_tokens import basic_credentials, is_personal_token
from dicom_api.errors import Unauthorized


@dataclass(frozen=True)
class Presented:
    secret: str
    personal: bool  # a personal access token (looked up in the database), else a JWT (verified by its signature)
    username: str | None = None  # the one HTTP Basic named


def presented(authorization: str | None) -> Presented:
    scheme, value = get_authorization_scheme_param(authorization)
    if scheme.lower() == "bearer" and value:
        return Presented(value, is_personal_token(value))
    if scheme.lower() == "basic" and value:
        username, token = basic_credentials(value)
        return Presented(token, True, username)
    raise Unauthorized("A bearer token is required: POST /auth/token to get one.")


class BasicScheme(HTTPBasic):
    """Declares HTTP Basic in the OpenAPI description; `presented` reads it (FastAPI's own would answer a
    malformed header with its 401 instead of ours)."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]  # noqa: ARG002
        return None
