"""`dicom-api users` and `dicom-api aes`: what an operator runs against the service's database."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from dicom_api import cli
from dicom_api.config import Settings
from tests.helpers import JWT_SECRET, add_user


@pytest.fixture
def operator_env(client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line reads its settings from the environment: those of the app the test client runs."""
    monkeypatch.setenv("DICOM_API_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DICOM_API_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DICOM_API_JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("DICOM_API_RENDER_WORKERS", "0")


@pytest.mark.usefixtures("operator_env")
def test_users_lists_and_disables_accounts(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    add_user(client, "reader")
    assert cli.main(["users", "disable", "reader"]) == 0
    assert "reader disabled" in capsys.readouterr().out
    assert cli.main(["users", "list"]) == 0
    listed = {line.split()[1]: line.split()[-1] for line in capsys.readouterr().out.splitlines()}
    assert listed["reader"] == "disabled"
    assert listed["admin"] == "active"


@pytest.mark.usefixtures("operator_env")
def test_users_on_an_unknown_account_says_so_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["users", "enable", "nobody-here"]) == 1
    assert capsys.readouterr().err.startswith("error: ")


@pytest.mark.usefixtures("operator_env")
def test_aes_adds_lists_and_removes(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    add_user(client, "ct-reader")
    assert cli.main(["aes", "add", "CT_1", "--user", "ct-reader"]) == 0
    assert cli.main(["aes", "list"]) == 0
    assert "CT_1" in capsys.readouterr().out
    assert cli.main(["aes", "remove", "CT_1"]) == 0
    assert cli.main(["aes", "remove", "CT_1"]) == 1  # NotFound: said on stderr, exit 1
    assert capsys.readouterr().err.startswith("error: ")
