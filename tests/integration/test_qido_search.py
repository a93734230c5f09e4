"""QIDO-RS searches on files uploaded through the API, on SQLite and PostgreSQL: matching, paging, counts after
uploads and deletes, owners kept apart, the DICOM JSON of the results, and the reindex of older rows."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dicom_api.config import Settings
from dicom_api.db import qido as db
from dicom_api.db.models import DicomFile, User
from dicom_api.dicom.qido import Resource, parse_qido
from dicom_api.services.qido import QidoResult, search, warnings
from dicom_api.services.reindex import reindex
from tests import databases
from tests.helpers import JWT_SECRET, add_user, sample, settings_for

BASE = "https://pacs.example/dicomweb"
A, B = "1.2.3.1", "1.2.3.2"
C = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"  # CT_small.dcm as it is
A1, A2, B1 = "1.2.3.1.1", "1.2.3.1.2", "1.2.3.2.1"
STUDY_A = {"StudyInstanceUID": A, "PatientName": "Doe^Jane", "PatientID": "P1", "StudyDate": "20200105"}
STUDY_A |= {"StudyTime": "101500", "AccessionNumber": "ACC_1%", "StudyDescription": "Chest CT"}
STUDY_B = {"StudyInstanceUID": B, "PatientName": "Smith^John", "PatientID": "P2", "StudyDate": "20210310"}
STUDY_B |= {"StudyTime": "0900", "AccessionNumber": "ACCX2"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        if databases.BACKEND != "sqlite":
            pytest.skip("the SQLite pass runs it")
        return settings_for(tmp_path / "data")
    return settings_for(tmp_path / "data", database_url=request.getfixturevalue("fresh_postgres_url"))


def variant(base: str, **values: object) -> bytes:
    """A pydicom test file with attributes replaced."""
    ds = pydicom.dcmread(sample(base))
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    if "SOPInstanceUID" in values:
        ds.file_meta.MediaStorageSOPInstanceUID = values["SOPInstanceUID"]
    buffer = io.BytesIO()
    ds.save_as(buffer)
    return buffer.getvalue()


@pytest.fixture
def stored(upload: Callable[[Path | bytes], str]) -> dict[str, str]:
    """Study A: series A1 (CT, two instances) and A2 (MR, one); study B: one CT; study C: CT_small.dcm."""
    return {
        "a1.1": upload(variant("CT_small.dcm", **STUDY_A, SeriesInstanceUID=A1, SOPInstanceUID="1.2.3.1.1.1")),
        "a1.2": upload(
            variant("CT_small.dcm", **STUDY_A, SeriesInstanceUID=A1, SOPInstanceUID="1.2.3.1.1.2", InstanceNumber=2)
        ),
        "a2.1": upload(variant("MR_small.dcm", **STUDY_A, SeriesInstanceUID=A2, SOPInstanceUID="1.2.3.1.2.1")),
        "b1.1": upload(variant("CT_small.dcm", **STUDY_B, SeriesInstanceUID=B1, SOPInstanceUID="1.2.3.2.1.1")),
        "c": upload(sample("CT_small.dcm")),
    }


@pytest.fixture
def session(client: TestClient) -> Iterator[Session]:
    with client.app.state.context.sessions() as session:  # type: ignore[attr-defined]
        yield session


def owner(session: Session, username: str) -> str:
    return str(session.scalar(select(User.id).where(User.username == username)))


Find = Callable[..., QidoResult]


@pytest.fixture
def find(session: Session) -> Find:
    def _find(
        *params: tuple[str, str],
        resource: Resource = Resource.STUDIES,
        study: str | None = None,
        series: str | None = None,
        user: str = "alice",
    ) -> QidoResult:
        session.rollback()  # a fresh snapshot: what the API committed since
        query = parse_qido(list(params), resource)
        return search(session, owner(session, user), query, BASE, study_uid=study, series_uid=series)

    return _find


def uids(result: QidoResult, tag: str = "0020000D") -> list[str]:
    return [item[tag]["Value"][0] for item in result.items]


def value(item: dict[str, Any], tag: str) -> Any:
    return item[tag].get("Value")


@pytest.mark.usefixtures("stored")
def test_studies_with_their_counts_and_modalities(find: Find) -> None:
    result = find()
    assert uids(result) == [A, B, C]
    assert result.remaining == 0
    study = result.items[0]
    assert value(study, "00080061") == ["CT", "MR"]
    assert value(study, "00201206") == [2]
    assert value(study, "00201208") == [3]
    assert value(study, "00100010") == [{"Alphabetic": "Doe^Jane"}]
    assert value(study, "00081190") == [f"{BASE}/studies/{A}"]
    assert study["00080090"] == {"vr": "PN"}  # required, empty: present without a value
    assert "00081030" not in study  # not asked for
    assert list(study) == sorted(study)
    assert value(study, "00080005") == ["ISO_IR 192"]


@pytest.mark.usefixtures("stored")
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([("PatientName", "*doe*")], [A]),
        ([("PatientName", "DOE^JANE")], [A]),
        ([("PatientName", "d?e^*")], [A]),
        ([("PatientName", "*^j*")], [A, B]),
        ([("PatientName", "doe")], []),
        ([("PatientID", "p1")], []),  # only names ignore case
        ([("AccessionNumber", "ACC_*")], [A]),  # _ and % are no wildcards
        ([("AccessionNumber", "ACC?1%")], [A]),
        ([("AccessionNumber", "ACC%")], []),
        ([("StudyDate", "20200105")], [A]),
        ([("StudyDate", "20200101-20201231")], [A]),
        ([("StudyDate", "-20200105")], [A, C]),
        ([("StudyDate", "20200106-")], [B]),
        ([("StudyDate", "20200105-20210310"), ("StudyTime", "1000-0900")], [A, B]),
        ([("StudyDate", "20200105-20210310"), ("StudyTime", "1100-0800")], []),
        ([("StudyTime", "0900-1015")], [A, B]),
        ([("StudyInstanceUID", f"{A},{C}")], [A, C]),
        ([("StudyInstanceUID", f"{B}\\{C}")], [B, C]),
        ([("ModalitiesInStudy", "MR")], [A]),
        ([("ModalitiesInStudy", "MR\\CT")], [A, B, C]),
        ([("StudyDescription", "Chest*")], [A]),
        ([("StudyDescription", "chest*")], []),
    ],
)
def test_study_matching(find: Find, params: list[tuple[str, str]], expected: list[str]) -> None:
    assert uids(find(*params)) == expected


def test_a_study_matched_by_one_modality_counts_all(find: Find, stored: dict[str, str]) -> None:
    (study,) = find(("ModalitiesInStudy", "MR")).items
    assert value(study, "00080061") == ["CT", "MR"]
    assert value(study, "00201208") == [3]
    assert stored


@pytest.mark.usefixtures("stored")
def test_includefield(find: Find) -> None:
    for params in ([("includefield", "StudyDescription")], [("includefield", "PatientAge,00081030")]):
        assert value(find(*params).items[0], "00081030") == ["Chest CT"]
    everything = find(("includefield", "all")).items[0]
    assert value(everything, "00081030") == ["Chest CT"]
    assert "00080060" not in everything  # a series attribute


@pytest.mark.usefixtures("stored")
def test_pages_are_stable_and_say_what_remains(find: Find) -> None:
    pages = [find(("limit", "1"), ("offset", str(offset))) for offset in range(4)]
    assert [uids(p) for p in pages] == [[A], [B], [C], []]
    assert [p.remaining for p in pages] == [2, 1, 0, 0]
    assert uids(find(("limit", "2"), ("offset", "1"))) == [B, C]
    query = parse_qido([("limit", "1"), ("fuzzymatching", "true"), ("PatientWeight", "1")], Resource.STUDIES)
    assert warnings(query, pages[0].remaining, "dicom-api") == [
        "299 dicom-api: The fuzzymatching parameter is not supported. Only literal matching has been performed.",
        "299 dicom-api: The following query parameters are not supported and were ignored: PatientWeight",
        "299 dicom-api: There are 2 additional results that can be requested",
    ]


def test_counts_follow_deletes(client: TestClient, find: Find, stored: dict[str, str]) -> None:
    assert client.delete(f"/files/{stored['a2.1']}").status_code == 204
    study = find(("StudyInstanceUID", A)).items[0]
    assert (value(study, "00080061"), value(study, "00201206"), value(study, "00201208")) == (["CT"], [1], [2])
    for name in ("a1.1", "a1.2"):
        assert client.delete(f"/files/{stored[name]}").status_code == 204
    assert uids(find()) == [B, C]


@pytest.mark.usefixtures("stored")
def test_series(find: Find) -> None:
    result = find(resource=Resource.STUDY_SERIES, study=A)
    assert uids(result, "0020000E") == [A1, A2]
    first = result.items[0]
    assert value(first, "00080060") == ["CT"]
    assert value(first, "00201209") == [2]
    assert value(first, "00200011") == [1]
    assert value(first, "00081190") == [f"{BASE}/studies/{A}/series/{A1}"]
    assert "00100010" not in first  # no study attributes under a study
    everywhere = find(("Modality", "MR"), resource=Resource.SERIES)
    assert uids(everywhere, "0020000E") == [A2]
    assert value(everywhere.items[0], "00100010") == [{"Alphabetic": "Doe^Jane"}]  # /series adds the study's
    assert value(everywhere.items[0], "00201208") == [3]
    assert find(resource=Resource.STUDY_SERIES, study="9.9").items == []


@pytest.mark.usefixtures("stored")
def test_instances(find: Find) -> None:
    result = find(resource=Resource.SERIES_INSTANCES, study=A, series=A1)
    assert uids(result, "00080018") == ["1.2.3.1.1.1", "1.2.3.1.1.2"]
    second = result.items[1]
    assert value(second, "00200013") == [2]
    assert value(second, "00080016") == ["1.2.840.10008.5.1.4.1.1.2"]
    assert value(second, "00280010") == [128]
    assert value(second, "00081190") == [f"{BASE}/studies/{A}/series/{A1}/instances/1.2.3.1.1.2"]
    in_study = find(("Modality", "MR"), resource=Resource.STUDY_INSTANCES, study=A)
    assert uids(in_study, "00080018") == ["1.2.3.1.2.1"]
    assert value(in_study.items[0], "00201209") == [1]  # its series' attributes come along
    assert "00100010" not in in_study.items[0]
    everywhere = find(("InstanceNumber", "2"), resource=Resource.INSTANCES)
    assert uids(everywhere, "00080018") == ["1.2.3.1.1.2"]
    assert value(everywhere.items[0], "00100020") == ["P1"]


def test_owners_see_only_their_own(client: TestClient, find: Find, session: Session, stored: dict[str, str]) -> None:
    bob = {"Authorization": f"Bearer {add_user(client, 'bob')}"}
    same = variant("CT_small.dcm", **STUDY_A, SeriesInstanceUID=A1, SOPInstanceUID="1.2.3.1.1.1")
    response = client.post("/upload/dicom", files={"file": ("f.dcm", same, "application/dicom")}, headers=bob)
    assert response.status_code == 201
    bobs = response.json()["file_id"]
    assert uids(find(user="bob")) == [A]
    assert value(find(user="bob").items[0], "00201208") == [1]
    assert value(find().items[0], "00201208") == [3]
    assert db.file_ids(session, owner(session, "bob"), A) == [bobs]
    assert db.file_ids(session, owner(session, "alice"), A, A1, "1.2.3.1.1.1") == [stored["a1.1"]]
    assert find(resource=Resource.STUDY_SERIES, study=B, user="bob").items == []


def test_a_sop_instance_stored_twice_is_one_instance_newest_first(
    upload: Callable[[Path | bytes], str], find: Find, session: Session
) -> None:
    first = upload(variant("CT_small.dcm", **STUDY_B, SeriesInstanceUID=B1, SOPInstanceUID="1.2.3.2.1.1"))
    again = variant("CT_small.dcm", **STUDY_B, SeriesInstanceUID=B1, SOPInstanceUID="1.2.3.2.1.1", InstanceNumber=5)
    second = upload(again)
    alice = owner(session, "alice")
    assert value(find().items[0], "00201208") == [1]
    assert len(find(resource=Resource.INSTANCES).items) == 1
    assert db.file_ids(session, alice, B) == [second]
    hashes = db.stored_sha256(session, alice, "1.2.3.2.1.1")
    assert len(hashes) == 2
    assert hashes[0] == session.scalar(select(DicomFile.sha256).where(DicomFile.id == second))
    assert hashes[1] == session.scalar(select(DicomFile.sha256).where(DicomFile.id == first))
    assert db.stored_sha256(session, alice, "1.2.3.9") == []


def test_reindex_fills_rows_stored_before_the_index(client: TestClient, find: Find, stored: dict[str, str]) -> None:
    context = client.app.state.context  # type: ignore[attr-defined]
    with context.transaction() as session:  # as an earlier version left them
        session.execute(
            update(DicomFile).values(
                index_version=0, study_time=None, accession_number=None, patient_name_upper=None, series_number=None
            )
        )
    assert find(("PatientName", "*doe*")).items == []
    assert reindex(context.sessions, context.store, context.headers.limits) == len(stored)
    assert uids(find(("PatientName", "*doe*"))) == [A]
    assert value(find(("StudyInstanceUID", B)).items[0], "00080030") == ["0900"]
    assert reindex(context.sessions, context.store, context.headers.limits) == 0


def test_the_reindex_command_marks_a_file_it_cannot_read(
    client: TestClient,
    find: Find,
    stored: dict[str, str],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from dicom_api import cli

    context = client.app.state.context  # type: ignore[attr-defined]
    with context.transaction() as session:
        session.execute(update(DicomFile).values(index_version=0, patient_name_upper=None))
    context.store.delete(stored["b1.1"])  # its blob lost: the row keeps what its upload indexed
    monkeypatch.setenv("DICOM_API_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DICOM_API_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DICOM_API_JWT_SECRET", JWT_SECRET)
    assert cli.main(["reindex"]) == 0
    assert f"{len(stored)} file(s) reindexed" in capsys.readouterr().out
    assert uids(find(("PatientName", "*doe*"))) == [A]
    assert uids(find(("PatientName", "*smith*"))) == []
    assert uids(find(("PatientID", "P2"))) == [B]
    assert cli.main(["reindex"]) == 0
    assert "0 file(s) reindexed" in capsys.readouterr().out
