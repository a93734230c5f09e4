"""What the uploader and the C-STORE receiver need of the store: which files a caller has, and the ingest.
Both go through the read path (services/files.py): the account is checked by ``check_account`` first."""

from __future__ import annotations

from collections.abc import Sequence

from dicom_api.db.repository import FileRepository
from dicom_api.services.accounts import Principal
from dicom_api.services.context import AppContext

MAX_LOOKUP = 1000  # checksums per lookup: one bounded IN query


def stored_checksums(context: AppContext, principal: Principal, checksums: Sequence[str]) -> list[str]:
    """Those of ``checksums`` (SHA-256, lower-case hex) that a file of the principal's account has, in the
    order asked, each once. Blocking: call it through ``RunBlocking``."""
    account = context.files.account(principal)
    asked = list(dict.fromkeys(checksums))
    with context.transaction() as session:
        found = FileRepository(session, account.id).stored(asked)
    return [c for c in asked if c in found]
