"""Annotated dependencies: a handler's signature says what it needs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from dicom_api.services.context import AppContext
from dicom_api.services.files import FileService


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_session(context: ContextDep) -> Iterator[Session]:
    """The transaction boundary: commit when the handler returns, roll back when it raises."""
    with context.sessions() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# scope="function": commit before the response is sent, so a 201 means the row is durable.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_file_service(session: SessionDep, context: ContextDep) -> FileService:
    return FileService(session, context.store, context.headers)


FileServiceDep = Annotated[FileService, Depends(get_file_service)]
