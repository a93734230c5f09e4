"""Handlers of sign-in, accounts and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import AfterValidator

from dicom_api.api.deps import (
    AccountsDep,
    AdminUser,
    ContextDep,
    CurrentUser,
    Limit,
    Offset,
    SignedInPrincipal,
    identify,
    utc_instant,
)
from dicom_api.api.schemas import (
    AuditEventOut,
    AuditListOut,
    PasswordChangeIn,
    RefreshIn,
    RegisterIn,
    TokenOut,
    UserCreateIn,
    UserListOut,
    UserOut,
    UserPatchIn,
)
from dicom_api.errors import Forbidden
from dicom_api.services.accounts import Account, TokenPair, check_username
from dicom_api.services.context import AppContext

UserId = Annotated[str, Path(description="The user's id (32 hexadecimal digits).")]


async def sign_in(
    request: Request,
    response: Response,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    context: ContextDep,
) -> TokenOut:
    """OAuth2 password flow: form fields `username` and `password`."""
    request.state.audit_username = form.username[:64]
    account, tokens = await context.signin.password_grant(form.username, form.password, _address(request))
    identify(request, account.id, account.username)
    return _tokens(tokens, response)


def refresh(body: RefreshIn, response: Response, accounts: AccountsDep) -> TokenOut:
    """A new token pair for a refresh token, which is spent."""
    return _tokens(accounts.refresh(body.refresh_token), response)


def sign_out(body: RefreshIn, accounts: AccountsDep) -> Response:
    """Revoke the refresh token (and those rotated from the same sign-in)."""
    accounts.logout(body.refresh_token)
    return Response(status_code=204)


async def register(body: RegisterIn, context: ContextDep) -> UserOut:
    """Create your own account, when the service allows self-registration."""
    if not context.settings.open_registration:
        raise Forbidden("Self-registration is disabled: ask an administrator for an account.")
    check_username(body.username)  # before the hash: a refused name costs nothing
    password_hash = await context.signin.passwords.hash(body.password)  # no connection held meanwhile
    return await context.run_blocking(_create, context, body.username, password_hash)


def me(user: CurrentUser) -> UserOut:
    """Your own account."""
    return _user(user)


async def change_my_password(
    request: Request, body: PasswordChangeIn, principal: SignedInPrincipal, context: ContextDep
) -> Response:
    """Change your password; every token issued before stops working. Wrong current passwords are
    throttled like failed sign-ins, so a stolen token cannot be used to guess the password."""
    await context.signin.change_password(principal, body.current_password, body.new_password, _address(request))
    return Response(status_code=204)


async def create_user(body: UserCreateIn, _admin: AdminUser, context: ContextDep) -> UserOut:
    """Create an account (admin)."""
    check_username(body.username)
    password_hash = await context.signin.passwords.hash(body.password)  # no connection held meanwhile
    return await context.run_blocking(_create, context, body.username, password_hash, body.role)


def _create(context: AppContext, username: str, password_hash: str, role: str = "user") -> UserOut:
    with context.accounts() as accounts:
        return _user(accounts.create(username, role=role, password_hash=password_hash))


def list_users(
    _admin: AdminUser,
    accounts: AccountsDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> UserListOut:
    """Every account (admin)."""
    users, total = accounts.list(limit=limit, offset=offset)
    return UserListOut(items=[_user(u) for u in users], total=total, limit=limit, offset=offset)


async def update_user(user_id: UserId, body: UserPatchIn, _admin: AdminUser, context: ContextDep) -> UserOut:
    """Disable or enable an account, change its role or reset its password (admin)."""
    password_hash = await context.signin.passwords.hash(body.password) if body.password is not None else None
    return await context.run_blocking(_update, context, user_id, body, password_hash)


def _update(context: AppContext, user_id: str, body: UserPatchIn, password_hash: str | None) -> UserOut:
    with context.accounts() as accounts:
        user = accounts.update(
            accounts.get(user_id), is_active=body.is_active, role=body.role, password_hash=password_hash
        )
        return _user(user)


def delete_user(user_id: UserId, _admin: AdminUser, accounts: AccountsDep) -> Response:
    """Delete an account that owns no files (admin); disable it otherwise."""
    accounts.delete(accounts.get(user_id))
    return Response(status_code=204)


def read_audit(
    _admin: AdminUser,
    context: ContextDep,
    user_id: Annotated[str | None, Query(pattern="^[0-9a-f]{32}$")] = None,
    file_id: Annotated[str | None, Query(pattern="^[0-9a-f]{32}$")] = None,
    action: Annotated[str | None, Query(pattern="^[a-z_-]{1,32}$", examples=["download_png"])] = None,
    share_id: Annotated[str | None, Query(pattern="^[0-9a-f]{32}$", description="Uses of one share link.")] = None,
    since: Annotated[datetime | None, AfterValidator(utc_instant), Query(description="ISO 8601, inclusive")] = None,
    until: Annotated[datetime | None, AfterValidator(utc_instant), Query(description="ISO 8601, exclusive")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> AuditListOut:
    """The audit trail, newest first (admin). It cannot be changed through the API."""
    events, total = context.audit.search(
        user_id=user_id,
        file_id=file_id,
        action=action,
        share_id=share_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    items = [AuditEventOut.model_validate(e, from_attributes=True) for e in events]
    return AuditListOut(items=items, total=total, limit=limit, offset=offset)


def _address(request: Request) -> str:
    """The client's address: the peer's, or the one a trusted proxy forwarded (main.py, TRUSTED_PROXIES)."""
    return request.client.host if request.client else "unknown"


def _tokens(pair: TokenPair, response: Response) -> TokenOut:
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 5.1: tokens must not be cached
    response.headers["Pragma"] = "no-cache"
    return TokenOut(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)


def _user(user: Account) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        role=user.role,
        is_active=user.is_active,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )
