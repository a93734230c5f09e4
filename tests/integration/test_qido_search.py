"""QIDO-RS searches on files uploaded through the API, on SQLite and PostgreSQL: matching, paging, counts after
uploads and deletes, owners kept apart, the DICOM JSON of the results, and the reindex of older rows."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pydicom
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from dicom_api.config import Settings
from dicom_api.db.models import DicomFile, User
from dicom_api.dicom.qido import Resource, parse_qido
from dicom_api.errors import Unauthorized
from dicom_api.services.accounts import Principal
from dicom_api.services.context import AppContext
from dicom_api.services.qido import warnings
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


class Found(NamedTuple):
    items: list[dict[str, Any]]
    warnings: list[str]


@pytest.fixture
def context(client: TestClient) -> AppContext:
    return client.app.state.context  # type: ignore[attr-defined,no-any-return]


def principal(context: AppContext, authorization: str) -> Principal:
    """What the API makes of a bearer token (api/deps.py)."""
    return Principal(context.tokens.decode(authorization.removeprefix("Bearer ")))


@pytest.fixture
def alice(client: TestClient, context: AppContext) -> Principal:
    return principal(context, client.headers["Authorization"])


Find = Callable[..., Found]


@pytest.fixture
def find(context: AppContext, alice: Principal) -> Find:
    def _find(
        *params: tuple[str, str],
        resource: Resource = Resource.STUDIES,
        study: str | None = None,
        series: str | None = None,
        caller: Principal = alice,
    ) -> Found:
        return Found(*context.qido.search(caller, resource, list(params), BASE, study, series))

    return _find


def uids(result: Found, tag: str = "0020000D") -> list[str]:
    return [item[tag]["Value"][0] for item in result.items]


def value(item: dict[str, Any], tag: str) -> Any:
    return item[tag].get("Value")


@pytest.mark.usefixtures("stored")
def test_studies_with_their_counts_and_modalities(find: Find) -> None:
    result = find()
    assert uids(result) == [A, B, C]
    assert result.warnings == []
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
    remaining = "299 pacs.example: There are {} additional results that can be requested"
    assert [p.warnings for p in pages] == [[remaining.format(2)], [remaining.format(1)], [], []]
    assert uids(find(("limit", "2"), ("offset", "1"))) == [B, C]
    assert find(("limit", "1"), ("fuzzymatching", "true"), ("PatientWeight", "1")).warnings == [
        "299 pacs.example: The fuzzymatching parameter is not supported. Only literal matching has been performed.",
        "299 pacs.example: The following query parameters are not supported and were ignored: PatientWeight",
        remaining.format(2),
    ]
    query = parse_qido([("fuzzymatching", "false")], Resource.STUDIES)
    assert warnings(query, 0, "dicom-api") == []


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
    # Rows, Columns, Bits Allocated and Number of Frames: present when known (PS3.18 Table 10.6.3-5)
    assert [value(second, tag) for tag in ("00280010", "00280011", "00280100", "00280008")] == [[128], [128], [16], [1]]
    assert value(second, "00081190") == [f"{BASE}/studies/{A}/series/{A1}/instances/1.2.3.1.1.2"]
    in_study = find(("Modality", "MR"), resource=Resource.STUDY_INSTANCES, study=A)
    assert uids(in_study, "00080018") == ["1.2.3.1.2.1"]
    assert value(in_study.items[0], "00201209") == [1]  # its series' attributes come along
    assert "00100010" not in in_study.items[0]
    everywhere = find(("InstanceNumber", "2"), resource=Resource.INSTANCES)
    assert uids(everywhere, "00080018") == ["1.2.3.1.1.2"]
    assert value(everywhere.items[0], "00100020") == ["P1"]


def test_owners_see_only_their_own(
    client: TestClient, context: AppContext, find: Find, alice: Principal, stored: dict[str, str]
) -> None:
    bob_header = {"Authorization": f"Bearer {add_user(client, 'bob')}"}
    bob = principal(context, bob_header["Authorization"])
    same = variant("CT_small.dcm", **STUDY_A, SeriesInstanceUID=A1, SOPInstanceUID="1.2.3.1.1.1")
    response = client.post("/upload/dicom", files={"file": ("f.dcm", same, "application/dicom")}, headers=bob_header)
    assert response.status_code == 201
    bobs = response.json()["file_id"]
    assert uids(find(caller=bob)) == [A]
    assert value(find(caller=bob).items[0], "00201208") == [1]
    assert value(find().items[0], "00201208") == [3]
    assert [row.id for row in context.qido.instances(bob, A)] == [bobs]
    assert [row.id for row in context.qido.instances(alice, A, A1, "1.2.3.1.1.1")] == [stored["a1.1"]]
    assert [row.sop_instance_uid for row in context.qido.instances(alice, A)] == [
        "1.2.3.1.1.1",
        "1.2.3.1.1.2",
        "1.2.3.1.2.1",
    ]
    assert context.qido.instances(alice, A, A2, "1.2.3.1.1.1") == []
    assert find(resource=Resource.STUDY_SERIES, study=B, caller=bob).items == []


@pytest.mark.usefixtures("stored")
def test_a_refused_account_reads_nothing(context: AppContext, alice: Principal) -> None:
    stale = Principal(dataclasses.replace(alice.claims, version=alice.claims.version + 1))
    calls: list[Callable[[], object]] = [
        lambda: context.qido.search(stale, Resource.STUDIES, [], BASE),
        lambda: context.qido.search(stale, Resource.STUDIES, [("limit", "x")], BASE),  # 401 before 400
        lambda: context.qido.instances(stale, A),
        lambda: context.qido.stored_sha256(stale, "1.2.3.1.1.1"),
    ]
    for call in calls:
        with pytest.raises(Unauthorized):
            call()
    with context.transaction() as session:  # the account deactivated since the token was issued
        session.execute(update(User).where(User.id == alice.claims.subject).values(is_active=False))
    with pytest.raises(Unauthorized):
        context.qido.search(alice, Resource.STUDIES, [], BASE)


def test_a_sop_instance_stored_twice_is_one_instance_newest_first(
    upload: Callable[[Path | bytes], str], find: Find, context: AppContext, alice: Principal
) -> None:
    first = upload(variant("CT_small.dcm", **STUDY_B, SeriesInstanceUID=B1, SOPInstanceUID="1.2.3.2.1.1"))
    again = variant("CT_small.dcm", **STUDY_B, SeriesInstanceUID=B1, SOPInstanceUID="1.2.3.2.1.1", InstanceNumber=5)
    second = upload(again)
    assert value(find().items[0], "00201208") == [1]
    assert len(find(resource=Resource.INSTANCES).items) == 1
    assert [row.id for row in context.qido.instances(alice, B)] == [second]
    hashes = context.qido.stored_sha256(alice, "1.2.3.2.1.1")
    with context.transaction() as session:
        stored = dict(session.execute(select(DicomFile.id, DicomFile.sha256)).tuples().all())
    assert hashes == [stored[second], stored[first]]
    assert context.qido.stored_sha256(alice, "1.2.3.9") == []


def test_reindex_fills_rows_stored_before_the_index(context: AppContext, find: Find, stored: dict[str, str]) -> None:
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
    context: AppContext,
    find: Find,
    stored: dict[str, str],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from dicom_api import cli

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
