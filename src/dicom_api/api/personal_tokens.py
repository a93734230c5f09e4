"""Handlers of personal access tokens: made, listed and revoked by their owner in a signed-in session."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request, Response
from fastapi.responses import JSONResponse

from dicom_api.api.deps import ContextDep, SignedInPrincipal
from dicom_api.api.schemas import PersonalTokenCreatedOut, PersonalTokenIn, PersonalTokenListOut, PersonalTokenOut
from dicom_api.services.personal_tokens import StoredToken, is_token_id

TokenId = Annotated[str, Path(description="The token's id (32 hexadecimal digits), not its secret.")]


async def create_token(
    request: Request, body: PersonalTokenIn, principal: SignedInPrincipal, context: ContextDep
) -> JSONResponse:
    """A personal access token for tools that cannot sign in with a password; its secret is shown this once."""
    tokens = context.personal_tokens
    secret, row = await context.run_blocking(tokens.create, principal, body.name, body.scope, body.expires_in_days)
    request.state.token_id = row.id  # the audit entry names the token made
    created = PersonalTokenCreatedOut(token=secret, **_out(row).model_dump())
    # RFC 6749 5.1's rule for tokens: never cached.
    return JSONResponse(
        created.model_dump(mode="json"), status_code=201, headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
    )


async def list_tokens(principal: SignedInPrincipal, context: ContextDep) -> PersonalTokenListOut:
    """Your personal access tokens that were not revoked (expired ones included), without their secrets."""
    rows = await context.run_blocking(context.personal_tokens.list, principal)
    return PersonalTokenListOut(items=[_out(row) for row in rows])


async def revoke_token(
    request: Request, token_id: TokenId, principal: SignedInPrincipal, context: ContextDep
) -> Response:
    """Revoke one of your personal access tokens: it stops working at once."""
    request.state.token_id = token_id if is_token_id(token_id) else None  # the audit entry names the token revoked
    await context.run_blocking(context.personal_tokens.revoke, principal, token_id)
    return Response(status_code=204)


def _out(row: StoredToken) -> PersonalTokenOut:
    return PersonalTokenOut(
        id=row.id,
        name=row.name,
        scope=row.scope,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
    )
