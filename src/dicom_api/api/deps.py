"""Annotated dependencies: a handler's signature says what it needs.

Dependencies that do no I/O are async: FastAPI runs sync ones in a worker thread each, a round trip that
cost more than their work on the hottest endpoints.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer

from dicom_api.api.credentials import PASSCODE_HEADER, presented, share_link
from dicom_api.auth.personal_tokens import is_personal_token
from dicom_api.errors import Forbidden
from dicom_api.services.accounts import Account, AccountService, Principal
from dicom_api.services.context import AppContext

# Bounded so that any value a database can bind is the only kind that reaches it (an offset past 2**63
# overflowed the driver: a 500); 2**53 is also the largest integer every JSON client reads exactly.
MAX_OFFSET = 2**53
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]


def utc_instant(value: datetime | None) -> datetime | None:
    """A query's time in UTC (naive means UTC). A time with an offset that puts it outside datetime's years
    1 to 9999 in UTC is refused here, as a 400, instead of overflowing in the database layer."""
    if value is None or value.tzinfo is None:
        return None if value is None else value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is outside years 1 to 9999 once converted to UTC") from None


async def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_accounts(context: ContextDep) -> Iterator[AccountService]:
    """Accounts in the request's transaction: committed when the handler returns, rolled back when it raises."""
    with context.accounts() as accounts:
        yield accounts


# scope="function": commit before the response is sent, so a 2xx means the change is durable.
AccountsDep = Annotated[AccountService, Depends(get_accounts, scope="function")]


class BearerPrincipal(OAuth2PasswordBearer):
    """The caller as a Principal, in one dependency (each level of dependencies cost a tenth of an attribute
    read): a session's JWT (`Bearer`), verified by its signature alone, or a personal access token, as `Bearer
    dapi_...` or as the password of `Basic` (api/credentials.py), looked up in the database. Whether a
    session's account still accepts its token is checked by the service the handler calls (``check_account``),
    with the request's first database read, which then names the caller for the audit trail. OpenAPI
    describes it as the OAuth2 password flow."""

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        authorization = request.headers.get("authorization") or ""
        scheme, _, token = authorization.partition(" ")
        context: AppContext = request.app.state.context
        if (link := share_link(scheme, token, request.headers.get(PASSCODE_HEADER))) is not None:
            return await _share_principal(request, context, *link)
        seen = partial(_seen, request)
        if token and scheme.lower() == "bearer" and not is_personal_token(token):  # a session: no lookup
            return Principal(context.tokens.decode(token), seen)
        secret, username = presented(scheme, token)  # a personal access token, or a 401
        principal = await context.run_blocking(context.personal_tokens.verify, secret, username, seen)
        request.state.token_id = principal.personal_token_id  # the audit entry names it
        return principal


async def _share_principal(request: Request, context: AppContext, secret: str, passcode: str | None) -> Principal:
    """A share link's principal, on the routes that serve what it shares (``app.state.shareable``: the images,
    the headers, the DICOMweb retrieval and search routes); every other route is refused, whatever it is, so a
    route added later is closed to share links until it is meant to be open."""

    def named(share_id: str) -> None:
        request.state.share_id = share_id  # the audit entry names the share, refused uses included

    address = request.client.host if request.client else "unknown"
    principal = await context.share_access.principal(secret, passcode, address, named)
    if request.scope.get("endpoint") not in request.app.state.shareable:
        raise Forbidden("A share link opens only the images, headers and DICOMweb retrieval of what it shares.")
    return principal


get_principal = BearerPrincipal(tokenUrl="/auth/token", auto_error=False)
PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def require_write(principal: PrincipalDep) -> Principal:
    """The principal of a caller that changes something: the one place a read-scoped personal token is refused."""
    if not principal.can_write:
        raise Forbidden("This personal access token has the read scope: it cannot store, delete or administer.")
    return principal


WriterPrincipal = Annotated[Principal, Depends(require_write)]


async def require_session(principal: PrincipalDep) -> Principal:
    """The principal of a signed-in session: a personal access token may not make more tokens or change the
    password, so a leaked one cannot outlive its revocation or lock its owner out."""
    if principal.personal_token_id is not None:
        raise Forbidden("This needs a signed-in session (POST /auth/token), not a personal access token.")
    return principal


SignedInPrincipal = Annotated[Principal, Depends(require_session)]


def _seen(request: Request, account: Account) -> None:
    identify(request, account.id, account.username)


def identify(request: Request, user_id: str, username: str) -> None:
    """Name the caller for the audit trail."""
    request.state.user_id, request.state.username = user_id, username


async def get_current_user(principal: PrincipalDep, context: ContextDep) -> Account:
    """The caller, from a valid bearer token of an active account whose tokens were not revoked."""
    return await context.run_blocking(context.files.account, principal)


CurrentUser = Annotated[Account, Depends(get_current_user)]


async def get_admin(user: CurrentUser, _writer: WriterPrincipal) -> Account:
    if user.role != "admin":
        raise Forbidden("This needs an admin account.")
    return user


AdminUser = Annotated[Account, Depends(get_admin)]
