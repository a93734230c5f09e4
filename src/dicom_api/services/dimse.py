"""The DICOM C-STORE receiver: Verification and the Storage service class as an SCP (PS3.4 A and B, PS3.7 9.1).

Runs in the `serve` process, in pynetdicom's threads: one listening thread, one per association. Only the
calling AE titles an admin registered are accepted (PS3.8 7.1.1.3: rejected at association, reason "calling AE
title not recognised"); each one's instances go to its user's store. pynetdicom writes each instance as it
arrives to a temporary Part 10 file (preamble and file meta from the command and the accepted transfer syntax,
the data set as it came, compressed or not); the handler moves that file into the spool and ingests it as an
upload, through the same validation, index and audit trail as POST /upload/dicom. A transfer cut off halfway
never reaches the handler: its temporary file is removed when the connection closes.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import Any

from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, _config, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer

from dicom_api.auth.tokens import Claims
from dicom_api.errors import AppError, BadRequest, Forbidden, PayloadTooLarge, Unauthorized
from dicom_api.services.accounts import Principal
from dicom_api.services.audit import AuditEntry
from dicom_api.services.context import AppContext
from dicom_api.services.intake import stored_checksums
from dicom_api.services.remote_aes import Receiver, RemoteAEService

log = logging.getLogger("dicom_api.dimse")

# C-STORE statuses (PS3.4 B.2.3, PS3.7 C)
SUCCESS = 0x0000
NOT_AUTHORISED = 0x0124  # Refused: Not Authorised
OUT_OF_RESOURCES = 0xA700  # Refused: Out of Resources (try again later)
CANNOT_UNDERSTAND = 0xC000  # Error: Cannot Understand
# A-ASSOCIATE-RJ: rejected-permanent, by the service user, calling AE title not recognised (PS3.8 9.3.4)
REJECT_CALLING_AE = (0x01, 0x01, 0x03)
REJECT_TRANSIENT = (0x02, 0x01, 0x01)  # rejected-transient, by the service user, no reason given
# The largest PDU a peer may send: pynetdicom reads each whole before writing it out, so this bounds an
# association's memory (the default 16 KiB costs more per byte in Python; "no limit" would let one PDU fill memory).
MAX_PDU = 256 * 1024
DRAIN_SECONDS = 5.0  # how long associations in flight get to finish at shutdown (containers get 10 s in all)
_CHUNK = 1024 * 1024


class StoreSCP:
    """The receiver on ``host``:``port`` as ``ae_title``; ``start`` it, then ``close`` it (which waits for
    associations in flight, up to DRAIN_SECONDS, then aborts the rest)."""

    def __init__(self, context: AppContext, host: str, port: int, ae_title: str) -> None:
        self.context = context
        self.address = (host, port)
        self.ae = AE(ae_title=ae_title)
        self.ae.require_called_aet = True  # a modality configured for another node is told so at once
        self.ae.maximum_pdu_size = MAX_PDU
        for cx in AllStoragePresentationContexts:  # every storage SOP class, every transfer syntax as it comes
            self.ae.add_supported_context(str(cx.abstract_syntax), ALL_TRANSFER_SYNTAXES)
        self.ae.add_supported_context(Verification)
        self._receivers: weakref.WeakKeyDictionary[Association, Receiver] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._server: ThreadedAssociationServer | None = None

    def start(self) -> None:
        _config.STORE_RECV_CHUNKED_DATASET = True  # to a file as it arrives, never the whole data set in memory
        logging.getLogger("pynetdicom").setLevel(logging.WARNING)  # its INFO lines name the instances received
        handlers: list[Any] = [
            (evt.EVT_REQUESTED, self._on_requested),
            (evt.EVT_C_STORE, self._on_store),
            (evt.EVT_CONN_CLOSE, _drop_partial),
        ]
        self._server = self.ae.start_server(self.address, block=False, evt_handlers=handlers)
        log.info("DICOM receiver %s on %s:%d", self.ae.ae_title, *self.address)

    @property
    def port(self) -> int:
        """The port listened on (the one asked for, or the system's pick for 0)."""
        assert self._server is not None  # noqa: S101
        return int(self._server.server_address[1])

    def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        associations = server.active_associations
        server.shutdown()  # no new association; those in flight finish their transfer, up to a limit
        deadline = time.monotonic() + DRAIN_SECONDS
        for assoc in associations:
            assoc.join(max(deadline - time.monotonic(), 0.0))
        for assoc in server.active_associations:
            assoc.abort()
            assoc.join(5)
        log.info("DICOM receiver stopped")

    def _on_requested(self, event: evt.Event) -> None:
        requestor = event.assoc.requestor
        calling = str(requestor.primitive.calling_ae_title).strip() if requestor.primitive else ""
        try:
            with self.context.transaction() as session:
                receiver = RemoteAEService(session).receiver_for(calling, str(requestor.address))
        except Exception as exc:  # the database is down: "try again later" rather than a store that refuses all
            log.error("could not check a calling AE title: %s", type(exc).__name__)
            event.assoc.acse.send_reject(*REJECT_TRANSIENT)
            event.assoc.kill()
            return
        if receiver is None:
            log.warning("rejected an association from %s: calling AE title not registered for it", requestor.address)
            event.assoc.acse.send_reject(*REJECT_CALLING_AE)
            event.assoc.kill()  # waits until the rejection is sent: closing the socket at once would drop it
            return
        with self._lock:
            self._receivers[event.assoc] = receiver

    def _on_store(self, event: evt.Event) -> int:
        with self._lock:
            receiver = self._receivers.get(event.assoc)
        if receiver is None:
            return NOT_AUTHORISED
        client = str(event.assoc.requestor.address)[:64]
        try:
            file_id = self._ingest(receiver, Path(event.dataset_path), client)
        except AppError as exc:
            log.warning("refused an instance from AE %s: %s", receiver.ae_title, exc.message)
            return _status(exc)
        except Exception as exc:  # the database or store failed: the sender may try again later
            log.error("could not store an instance from AE %s: %s", receiver.ae_title, type(exc).__name__)
            return OUT_OF_RESOURCES
        if file_id is None:
            log.info("an instance from AE %s was stored already", receiver.ae_title)
        else:
            log.info("stored %s from AE %s", file_id, receiver.ae_title)
        return SUCCESS

    def _ingest(self, receiver: Receiver, received: Path, client: str) -> str | None:
        """Store the received file for the receiver's user: its new file id, or None when the same bytes are
        stored already (an instance sent again, as a sender does that did not hear the answer)."""
        size, sha256 = _measure(received)
        if size > self.context.settings.max_upload_bytes:
            raise PayloadTooLarge(
                f"The instance is larger than the limit of {self.context.settings.max_upload_bytes} bytes."
            )
        # The account as read at association time: a password change or disable since fails check_account.
        claims = Claims(subject=receiver.user_id, version=receiver.token_version, token_id="", expires_at=0)
        principal = Principal(claims)  # the audit entry names the receiver's user itself
        if stored_checksums(self.context, principal, [sha256]):
            return None
        staged = self.context.spool.folder / uuid.uuid4().hex
        shutil.move(received, staged)  # a rename on the same file system

        def entry(file_id: str) -> AuditEntry:
            return AuditEntry(
                action="c_store",
                outcome="success",
                status=201,
                user_id=receiver.user_id,
                username=receiver.username,
                file_id=file_id,
                client=client,
                request_id=f"ae:{receiver.ae_title}",  # which modality sent it
            )

        return self.context.files.ingest(principal, staged, size, sha256, entry).id


def start_receiver(context: AppContext, host: str) -> StoreSCP | None:
    """The receiver the settings ask for (DICOM_API_DIMSE_PORT) on ``host``, started; None when none is asked for."""
    settings = context.settings
    if settings.dimse_port is None:
        return None
    scp = StoreSCP(context, host, settings.dimse_port, settings.dimse_ae_title)
    scp.start()
    return scp


def _status(exc: AppError) -> int:
    if isinstance(exc, Unauthorized | Forbidden):
        return NOT_AUTHORISED
    if isinstance(exc, BadRequest):
        return CANNOT_UNDERSTAND
    if isinstance(exc, PayloadTooLarge):
        return OUT_OF_RESOURCES
    return OUT_OF_RESOURCES if exc.status_code >= 500 else CANNOT_UNDERSTAND


def _measure(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fp:
        while chunk := fp.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _drop_partial(event: evt.Event) -> None:
    """Remove the temporary file of a C-STORE cut off by an abort or a dropped connection (pynetdicom removes
    only those that reached the handler)."""
    message = getattr(event.assoc.dimse, "message", None)
    partial = getattr(message, "_data_set_file", None)
    if partial is None:
        return
    with contextlib.suppress(OSError):
        partial.close()
        os.unlink(partial.name)
