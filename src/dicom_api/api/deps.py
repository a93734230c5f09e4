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
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.orm import Session

from dicom_api.auth.tokens import Claims
from dicom_api.db.lookups import AccountState
from dicom_api.db.models import User
from dicom_api.errors import Forbidden, Unauthorized
from dicom_api.services.accounts import AccountService, check_account
from dicom_api.services.context import AppContext
from dicom_api.services.files import FileService

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


# auto_error=False: a missing token is our own 401 {"error"}, not FastAPI's.
bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


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


async def get_claims(token: Annotated[str | None, Depends(bearer)], context: ContextDep) -> Claims:
    """A bearer token's verified claims; whether its account still accepts it is checked next, with the
    request's first database read."""
    return _claims(token, context)


def claims_from_header(request: Request, context: AppContext) -> Claims:
    """get_claims for a request bound without dependencies: the Authorization header read as `bearer` reads it."""
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    return _claims(token if scheme.lower() == "bearer" else None, context)


def _claims(token: str | None, context: AppContext) -> Claims:
    if not token:
        raise Unauthorized("A bearer token is required: POST /auth/token to get one.")
    return context.tokens.decode(token)


ClaimsDep = Annotated[Claims, Depends(get_claims)]


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


async def get_admin(user: CurrentUser) -> User:
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
    if account.role != "admin":
        raise Forbidden("This needs an admin account.")
    return account


AdminAccount = Annotated[AccountState, Depends(get_admin_account)]


async def get_file_service(session: SessionDep, context: ContextDep, user: CurrentUser) -> FileService:
    return FileService(session, context.store, context.headers, owner_id=user.id)


FileServiceDep = Annotated[FileService, Depends(get_file_service)]
