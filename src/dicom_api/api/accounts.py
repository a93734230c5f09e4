"""Handlers of sign-in, accounts and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from dicom_api.api.deps import AccountsDep, AdminUser, ContextDep, CurrentUser, Limit, Offset
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
from dicom_api.db.models import User
from dicom_api.errors import Forbidden, Unauthorized, WrongPassword
from dicom_api.services.accounts import TokenPair

UserId = Annotated[str, Path(description="The user's id (32 hexadecimal digits).")]


def sign_in(
    request: Request,
    response: Response,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    accounts: AccountsDep,
    context: ContextDep,
) -> TokenOut:
    """OAuth2 password flow: form fields `username` and `password`."""
    address = request.client.host if request.client else "unknown"
    request.state.audit_username = form.username[:64]
    context.throttle.check(form.username, address)
    user = accounts.authenticate(form.username, form.password)
    if user is None:
        context.throttle.failed(form.username, address)
        raise Unauthorized("Wrong username or password.")
    context.throttle.succeeded(form.username)
    request.state.user_id, request.state.username = user.id, user.username
    return _tokens(accounts.issue(user), response)


def refresh(body: RefreshIn, response: Response, accounts: AccountsDep) -> TokenOut:
    """A new token pair for a refresh token, which is spent."""
    return _tokens(accounts.refresh(body.refresh_token), response)


def sign_out(body: RefreshIn, accounts: AccountsDep) -> Response:
    """Revoke the refresh token (and those rotated from the same sign-in)."""
    accounts.logout(body.refresh_token)
    return Response(status_code=204)


def register(body: RegisterIn, accounts: AccountsDep, context: ContextDep) -> UserOut:
    """Create your own account, when the service allows self-registration."""
    if not context.settings.open_registration:
        raise Forbidden("Self-registration is disabled: ask an administrator for an account.")
    return _user(accounts.create(body.username, body.password))


def me(user: CurrentUser) -> UserOut:
    """Your own account."""
    return _user(user)


def change_my_password(
    request: Request, body: PasswordChangeIn, user: CurrentUser, accounts: AccountsDep, context: ContextDep
) -> Response:
    """Change your password; every token issued before stops working. Wrong current passwords are
    throttled like failed sign-ins, so a stolen token cannot be used to guess the password."""
    address = request.client.host if request.client else "unknown"
    context.throttle.check(user.username, address)
    try:
        accounts.change_own_password(user, body.current_password, body.new_password)
    except WrongPassword:
        context.throttle.failed(user.username, address)
        raise
    return Response(status_code=204)


def create_user(body: UserCreateIn, _admin: AdminUser, accounts: AccountsDep) -> UserOut:
    """Create an account (admin)."""
    return _user(accounts.create(body.username, body.password, body.role))


def list_users(
    _admin: AdminUser,
    accounts: AccountsDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> UserListOut:
    """Every account (admin)."""
    users, total = accounts.list(limit=limit, offset=offset)
    return UserListOut(items=[_user(u) for u in users], total=total, limit=limit, offset=offset)


def update_user(user_id: UserId, body: UserPatchIn, _admin: AdminUser, accounts: AccountsDep) -> UserOut:
    """Disable or enable an account, change its role or reset its password (admin)."""
    user = accounts.get(user_id)
    return _user(accounts.update(user, is_active=body.is_active, role=body.role, password=body.password))


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
    since: Annotated[datetime | None, Query(description="ISO 8601, inclusive")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601, exclusive")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> AuditListOut:
    """The audit trail, newest first (admin). It cannot be changed through the API."""
    events, total = context.audit.search(
        user_id=user_id, file_id=file_id, action=action, since=since, until=until, limit=limit, offset=offset
    )
    items = [AuditEventOut.model_validate(e, from_attributes=True) for e in events]
    return AuditListOut(items=items, total=total, limit=limit, offset=offset)


def _tokens(pair: TokenPair, response: Response) -> TokenOut:
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 5.1: tokens must not be cached
    response.headers["Pragma"] = "no-cache"
    return TokenOut(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)


def _user(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        role=user.role,
        is_active=user.is_active,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )
