"""The C-STORE receiver in process, against the app's own context: each instance goes through the read path's
account check, so an account disabled while its modality's association is open stores nothing more."""

from __future__ import annotations

from collections.abc import Iterator

import pydicom
import pytest
from fastapi.testclient import TestClient
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, _config
from pynetdicom.association import Association
from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

from dicom_api.services.dimse import NOT_AUTHORISED, SUCCESS, StoreSCP
from tests.helpers import ADMIN_PASSWORD, add_user, login, sample

HOST = "127.0.0.1"
CALLED = "DICOMAPI"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def scp(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[StoreSCP]:
    monkeypatch.setattr(_config, "STORE_RECV_CHUNKED_DATASET", _config.STORE_RECV_CHUNKED_DATASET)  # start() sets it
    receiver = StoreSCP(client.app.state.context, HOST, 0, CALLED)  # type: ignore[attr-defined]
    receiver.start()
    yield receiver
    receiver.close()


def _associate(port: int) -> Association:
    ae = AE(ae_title="CT_1")
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    assoc = ae.associate(HOST, port, ae_title=CALLED)
    assert assoc.is_established
    return assoc


def _store(assoc: Association, ds: pydicom.Dataset) -> int:
    return int(assoc.send_c_store(ds).Status)


def test_an_account_disabled_mid_association_stores_nothing_more(client: TestClient, scp: StoreSCP) -> None:
    dora = add_user(client, "dora")
    admin = _bearer(login(client, "admin", ADMIN_PASSWORD))
    assert client.post("/admin/aes", json={"ae_title": "CT_1", "username": "dora"}, headers=admin).status_code == 201
    dora_id = client.get("/users/me", headers=_bearer(dora)).json()["id"]
    ct = pydicom.dcmread(sample("CT_small.dcm"))
    other = pydicom.dcmread(sample("CT_small.dcm"))
    other.SOPInstanceUID = pydicom.uid.generate_uid()

    assoc = _associate(scp.port)
    try:
        assert _store(assoc, ct) == SUCCESS
        assert _store(assoc, ct) == SUCCESS  # sent again: stored already, not twice
        disabled = client.patch(f"/users/{dora_id}", json={"is_active": False}, headers=admin)
        assert disabled.status_code == 200, disabled.text
        assert _store(assoc, other) == NOT_AUTHORISED
        assert _store(assoc, ct) == NOT_AUTHORISED  # not even "stored already" for an account that is gone
    finally:
        assoc.release()

    assert client.patch(f"/users/{dora_id}", json={"is_active": True}, headers=admin).status_code == 200
    files = client.get("/files", headers=_bearer(login(client, "dora", "dora-password-123"))).json()
    assert files["total"] == 1
