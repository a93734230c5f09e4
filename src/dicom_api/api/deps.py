"""Annotated dependencies: a handler's signature says what it needs.

Dependencies that do no I/O are async: FastAPI runs sync ones in a worker thread each, a round trip that
cost more than their work on the hottest endpoints.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer

from dicom_api.errors import Forbidden, Unauthorized
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
    """The bearer token's verified claims as a Principal, in one dependency (each level of dependencies cost
    a tenth of an attribute read). Whether the account still accepts the token is checked by the service the
    handler calls (``check_account``), with the request's first database read, which then names the caller
    for the audit trail. OpenAPI describes it as the OAuth2 password flow."""

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        token = await super().__call__(request)
        if not token:  # auto_error=False: a missing token is our own 401 {"error"}, not FastAPI's
            raise Unauthorized("A bearer token is required: POST /auth/token to get one.")
        context: AppContext = request.app.state.context
        return Principal(context.tokens.decode(token), lambda account: identify(request, account.id, account.username))


get_principal = BearerPrincipal(tokenUrl="/auth/token", auto_error=False)
PrincipalDep = Annotated[Principal, Depends(get_principal)]


def identify(request: Request, user_id: str, username: str) -> None:
    """Name the caller for the audit trail."""
    request.state.user_id, request.state.username = user_id, username


async def get_current_user(principal: PrincipalDep, context: ContextDep) -> Account:
    """The caller, from a valid bearer token of an active account whose tokens were not revoked."""
    return await context.run_blocking(context.files.account, principal)


CurrentUser = Annotated[Account, Depends(get_current_user)]


async def get_admin(user: CurrentUser) -> Account:
    if user.role != "admin":
        raise Forbidden("This needs an admin account.")
    return user


AdminUser = Annotated[Account, Depends(get_admin)]
