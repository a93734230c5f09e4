"""Annotated dependencies: a handler's signature says what it needs.

Dependencies that do no I/O are async: FastAPI runs sync ones in a worker thread each, a round trip that
cost more than their work on the hottest endpoints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from dicom_api.api.credentials import BasicScheme, presented
from dicom_api.auth.tokens import Claims
from dicom_api.db.lookups import AccountState
from dicom_api.db.models import User
from dicom_api.errors import Forbidden
from dicom_api.services.accounts import AccountService, check_account
from dicom_api.services.context import AppContext
from dicom_api.services.files import FileService
from dicom_api.services.personal_tokens import verify_personal_token

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


# auto_error=False: a missing token is our own 401 {"error"}, not FastAPI's. Both document the schemes;
# api/credentials.py reads the header.
bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
basic = BasicScheme(auto_error=False, description="Your username, and a personal access token as the password.")


async def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_session(context: ContextDep) -> Iterator[Session]:
    """The request's transaction: committed when the handler returns, rolled back when it raises."""
    with context.transaction() as session:
        yield session


# scope="function": commit before the response is sent, so a 201 means the row is durable.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_accounts(session: SessionDep, context: ContextDep) -> AccountService:
    return AccountService(session, context.tokens, context.settings.refresh_token_ttl_seconds)


AccountsDep = Annotated[AccountService, Depends(get_accounts)]


async def get_claims(
    request: Request,
    context: ContextDep,
    _bearer: Annotated[str | None, Depends(bearer)],
    _basic: Annotated[None, Depends(basic)],
) -> Claims:
    """The caller's verified claims: a session's JWT, or a personal access token (Bearer, or HTTP Basic with
    the username). Whether its account still accepts it is checked next, with the request's first database read.
    A personal token's id goes into the request's audit entry."""
    credentials = presented(request.headers.get("authorization"))
    if not credentials.personal:
        return context.tokens.decode(credentials.secret)
    claims = await context.offload(verify_personal_token, context.transaction, credentials.secret, credentials.username)
    request.state.token_id = claims.personal_token_id
    return claims


def claims_from_header(request: Request, context: AppContext) -> Claims | None:
    """get_claims for a request bound without dependencies; None for a personal access token, whose lookup is
    database I/O: that request goes through its declared route instead."""
    credentials = presented(request.headers.get("authorization"))
    return None if credentials.personal else context.tokens.decode(credentials.secret)


ClaimsDep = Annotated[Claims, Depends(get_claims)]


def require_write(claims: Claims) -> Claims:
    if not claims.can_write:
        raise Forbidden("This personal access token has the read scope: it cannot store, delete or administer.")
    return claims


async def get_writer(claims: ClaimsDep) -> Claims:
    """The claims of a caller that changes something: the one place a read-scoped personal token is refused."""
    return require_write(claims)


WriterClaims = Annotated[Claims, Depends(get_writer)]


async def get_signed_in(claims: ClaimsDep) -> Claims:
    """The claims of a signed-in session: a personal access token may not make more tokens or change the
    password, so a leaked one cannot outlive its revocation or lock its owner out."""
    if claims.personal_token_id is not None:
        raise Forbidden("This needs a signed-in session (POST /auth/token), not a personal access token.")
    return claims


SignedInClaims = Annotated[Claims, Depends(get_signed_in)]


def get_current_user(request: Request, claims: ClaimsDep, accounts: AccountsDep) -> User:
    """The caller, from a valid bearer token of an active account whose tokens were not revoked."""
    user = accounts.user_for(claims)
    identify(request, user.id, user.username)
    return user


def identify(request: Request, user_id: str, username: str) -> None:
    """Name the caller for the audit trail."""
    request.state.user_id, request.state.username = user_id, username


def caller(request: Request) -> Callable[[AccountState], None]:
    """For services that check the account themselves: names the caller once it is known."""
    return lambda account: identify(request, account.id, account.username)


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_admin(user: CurrentUser, claims: ClaimsDep) -> User:
    require_write(claims)
    if user.role != "admin":
        raise Forbidden("This needs an admin account.")
    return user


AdminUser = Annotated[User, Depends(get_admin)]


async def get_admin_account(request: Request, claims: ClaimsDep, context: ContextDep) -> AccountState:
    """get_admin without the request's session: the account is read on a pooled connection given back at
    once, for handlers that hash a password before their transaction begins."""
    found, _ = await context.offload(context.reader.lookups.account_and_file, claims.subject, None)
    account = check_account(found, claims)
    identify(request, account.id, account.username)
    require_write(claims)
    if account.role != "admin":
        raise Forbidden("This needs an admin account.")
    return account


AdminAccount = Annotated[AccountState, Depends(get_admin_account)]


async def get_file_service(session: SessionDep, context: ContextDep, user: CurrentUser) -> FileService:
    return FileService(session, context.store, context.headers, owner_id=user.id)


FileServiceDep = Annotated[FileService, Depends(get_file_service)]
