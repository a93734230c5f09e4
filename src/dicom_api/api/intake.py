"""Handlers for getting data in: which files the caller has already (the uploader's lookup), and the remote AEs
that may push to the C-STORE receiver (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Response
from pydantic import BaseModel, Field, StringConstraints

from dicom_api.api.deps import AdminUser, ContextDep, PrincipalDep
from dicom_api.services.context import AppContext
from dicom_api.services.intake import MAX_LOOKUP, stored_checksums
from dicom_api.services.remote_aes import RemoteAEView, remote_aes

Sha256 = Annotated[str, StringConstraints(pattern="^[0-9a-f]{64}$")]


class LookupIn(BaseModel):
    sha256: list[Sha256] = Field(max_length=MAX_LOOKUP, description="SHA-256 checksums of files, lower-case hex.")


class LookupOut(BaseModel):
    stored: list[str] = Field(description="Those of the checksums asked for that one of your files has.")


class RemoteAEIn(BaseModel):
    ae_title: str = Field(min_length=1, max_length=16, examples=["CT_SCANNER_1"])
    username: str = Field(min_length=1, max_length=64, description="The account whose store receives its images.")
    host: str | None = Field(default=None, max_length=255, description="Accept it only from this address.")


class RemoteAEOut(BaseModel):
    ae_title: str
    username: str
    host: str | None
    created_at: datetime


class RemoteAEListOut(BaseModel):
    items: list[RemoteAEOut]


AETitle = Annotated[str, Path(max_length=16, description="The calling AE title.")]


async def lookup_files(body: LookupIn, principal: PrincipalDep, context: ContextDep) -> LookupOut:
    """Which of these checksums you have stored already (up to 1000 a call): the uploader sends only the others."""
    return LookupOut(stored=await context.run_blocking(stored_checksums, context, principal, body.sha256))


async def list_aes(_admin: AdminUser, context: ContextDep) -> RemoteAEListOut:
    """The remote AEs that may push to the C-STORE receiver (admin)."""
    return RemoteAEListOut(items=[_out(ae) for ae in await context.run_blocking(_list, context)])


async def add_ae(body: RemoteAEIn, _admin: AdminUser, context: ContextDep) -> RemoteAEOut:
    """Register a calling AE title and the account whose store receives what it sends (admin)."""
    return _out(await context.run_blocking(_add, context, body))


async def remove_ae(ae_title: AETitle, _admin: AdminUser, context: ContextDep) -> Response:
    """Forget a remote AE: its next association is rejected (admin)."""
    await context.run_blocking(_remove, context, ae_title)
    return Response(status_code=204)


def _list(context: AppContext) -> list[RemoteAEView]:
    with remote_aes(context.transaction) as aes:
        return aes.list()


def _add(context: AppContext, body: RemoteAEIn) -> RemoteAEView:
    with remote_aes(context.transaction) as aes:
        return aes.add(body.ae_title, body.username, body.host)


def _remove(context: AppContext, ae_title: str) -> None:
    with remote_aes(context.transaction) as aes:
        aes.remove(ae_title)


def _out(view: RemoteAEView) -> RemoteAEOut:
    return RemoteAEOut(ae_title=view.ae_title, username=view.username, host=view.host, created_at=view.created_at)
