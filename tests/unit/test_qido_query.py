"""QIDO-RS query parameters parsed into a typed query (PS3.18 8.3.4, PS3.4 C.2.2.2)."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from dicom_api.dicom.qido import (
    MAX_LIMIT,
    Between,
    DateTimeBetween,
    Equals,
    QidoQuery,
    Resource,
    Wildcard,
    parse_qido,
)
from dicom_api.dicom.qido_attributes import indexed_values
from dicom_api.errors import InvalidParameter


def parse(*params: tuple[str, str], resource: Resource = Resource.STUDIES) -> QidoQuery:
    return parse_qido(list(params), resource)


def conditions(query: QidoQuery) -> dict[str, object]:
    return {m.attribute.keyword: m.condition for m in query.matches}


def returned(query: QidoQuery) -> list[str]:
    return [a.keyword for a in query.returned]


def test_keys_are_keywords_or_tags_in_either_case() -> None:
    by_keyword = parse(("PatientID", "X1"))
    assert conditions(by_keyword) == {"PatientID": Equals(("X1",))}
    assert conditions(parse(("00100020", "X1"))) == conditions(by_keyword)
    assert conditions(parse(("0020000d", "1.2.3"))) == {"StudyInstanceUID": Equals(("1.2.3",))}


@pytest.mark.parametrize("name", ["PatientNam", "patientname", "0010001", "Limit", "Patient.Name", "x y"])
def test_a_key_that_is_no_attribute_is_invalid(name: str) -> None:
    with pytest.raises(InvalidParameter):
        parse((name, "x"))


def test_a_real_attribute_that_is_not_searched_is_ignored_and_reported() -> None:
    query = parse(
        ("PatientWeight", "70"),
        ("00091001", "x"),
        ("RequestAttributesSequence.ScheduledProcedureStepID", "1"),
        ("SOPInstanceUID", "1.2"),  # below the study level
        ("NumberOfStudyRelatedSeries", "2"),  # computed, not matched
    )
    assert query.matches == ()
    assert query.ignored == (
        "PatientWeight",
        "00091001",
        "RequestAttributesSequence.ScheduledProcedureStepID",
        "SOPInstanceUID",
        "NumberOfStudyRelatedSeries",
    )


def test_a_key_given_twice_is_invalid() -> None:
    with pytest.raises(InvalidParameter):
        parse(("PatientID", "a"), ("00100020", "b"))


def test_uid_lists_take_commas_and_backslashes() -> None:
    query = parse(("StudyInstanceUID", "1.2.3,1.2.4\\1.2.5"))
    assert conditions(query) == {"StudyInstanceUID": Equals(("1.2.3", "1.2.4", "1.2.5"))}
    with pytest.raises(InvalidParameter):
        parse(("StudyInstanceUID", "1.2.*"))
    with pytest.raises(InvalidParameter):
        parse(("StudyInstanceUID", ",".join(["1.2"] * 1001)))


def test_wildcards_on_string_vrs_only() -> None:
    query = parse(("PatientName", "*doe?"), ("StudyDescription", "CT*"), ("PatientID", "A*"))
    assert conditions(query) == {
        "PatientName": Wildcard("*doe?"),
        "StudyDescription": Wildcard("CT*"),
        "PatientID": Wildcard("A*"),
    }
    with pytest.raises(InvalidParameter):
        parse(("StudyDate", "2020*"))


def test_empty_and_lone_star_are_universal_returned_but_not_matched() -> None:
    query = parse(("StudyDescription", ""), ("AccessionNumber", "*"))
    assert query.matches == ()
    assert "StudyDescription" in returned(query)


def test_modalities_in_study_is_a_list_of_codes() -> None:
    assert conditions(parse(("ModalitiesInStudy", "CT\\MR"))) == {"ModalitiesInStudy": Equals(("CT", "MR"))}
    assert conditions(parse(("ModalitiesInStudy", "CT,MR"))) == {"ModalitiesInStudy": Equals(("CT", "MR"))}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20200101", Between("20200101", "20200101")),
        ("20200101-20201231", Between("20200101", "20201231")),
        ("-20201231", Between(None, "20201231")),
        ("20200101-", Between("20200101", None)),
    ],
)
def test_date_ranges(value: str, expected: Between) -> None:
    assert conditions(parse(("StudyDate", value))) == {"StudyDate": expected}


@pytest.mark.parametrize("value", ["2020", "20201301", "20200230", "2020-01-01", "-", "20200101-20200102-", "x"])
def test_a_date_that_is_not_a_date_is_invalid(value: str) -> None:
    with pytest.raises(InvalidParameter):
        parse(("StudyDate", value))


def test_a_date_range_that_ends_before_it_starts_is_invalid() -> None:
    with pytest.raises(InvalidParameter):
        parse(("PatientBirthDate", "20201231-20200101"))


@pytest.mark.parametrize("value", ["10", "1030", "103000", "103000.5", "103000.123456", "0900-1200", "-12", "23-"])
def test_times(value: str) -> None:
    assert isinstance(conditions(parse(("StudyTime", value)))["StudyTime"], Between)


@pytest.mark.parametrize("value", ["24", "1060", "1", "10:30", "103000.1234567", "ab"])
def test_a_time_that_is_not_a_time_is_invalid(value: str) -> None:
    with pytest.raises(InvalidParameter):
        parse(("StudyTime", value))


def test_study_date_and_time_combine_into_one_range() -> None:
    query = parse(("StudyDate", "20200101-20200131"), ("StudyTime", "1000-1200"))
    assert conditions(query) == {"StudyDate": DateTimeBetween(("20200101", "1000"), ("20200131", "1200"))}
    assert {"StudyDate", "StudyTime"} <= set(returned(query))
    open_low = parse(("StudyDate", "-20200131"), ("StudyTime", "1200"))
    assert conditions(open_low) == {"StudyDate": DateTimeBetween(None, ("20200131", "1200"))}
    alone = parse(("StudyDate", "20200101"), ("StudyTime", ""))
    assert conditions(alone) == {"StudyDate": Between("20200101", "20200101")}


def test_numbers_match_as_integers() -> None:
    query = parse(("SeriesNumber", "3"), resource=Resource.STUDY_SERIES)
    assert conditions(query) == {"SeriesNumber": Equals((3,))}
    with pytest.raises(InvalidParameter):
        parse(("InstanceNumber", "three"), resource=Resource.INSTANCES)


def test_study_defaults_and_includefield() -> None:
    default = returned(parse())
    assert "StudyDescription" not in default
    assert {"ModalitiesInStudy", "NumberOfStudyRelatedInstances", "PatientName", "StudyInstanceUID"} <= set(default)
    for params in (
        [("includefield", "StudyDescription")],
        [("includefield", "00081030")],
        [("includefield", "PatientAge,00081030")],
        [("includefield", "PatientSex"), ("includefield", "StudyDescription")],
        [("includefield", "all")],
    ):
        assert "StudyDescription" in returned(parse_qido(params, Resource.STUDIES))
    assert parse(("includefield", "PatientAge")).ignored == ("PatientAge",)
    with pytest.raises(InvalidParameter):
        parse(("includefield", "NoSuchThing"))


def test_all_at_the_instance_level_reaches_every_level() -> None:
    everything = returned(parse(("includefield", "all"), resource=Resource.SERIES_INSTANCES))
    assert {"StudyDescription", "SeriesDate", "BitsAllocated", "SOPInstanceUID"} <= set(everything)
    assert "NumberOfStudyRelatedSeries" not in everything  # counted only at the study level and added parents


def test_parent_levels_are_added_by_resource() -> None:
    assert "PatientName" in returned(parse(resource=Resource.SERIES))
    assert "PatientName" not in returned(parse(resource=Resource.STUDY_SERIES))
    assert "ModalitiesInStudy" in returned(parse(resource=Resource.SERIES))
    instances = returned(parse(resource=Resource.STUDY_INSTANCES))
    assert "Modality" in instances
    assert "PatientName" not in instances
    assert {"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"} <= set(instances)


def test_returned_attributes_are_in_tag_order() -> None:
    tags = [a.tag for a in parse(("includefield", "all"), resource=Resource.INSTANCES).returned]
    assert tags == sorted(tags)


def test_limit_offset_and_fuzzymatching() -> None:
    query = parse(("limit", "10"), ("offset", "20"), ("fuzzymatching", "true"))
    assert (query.limit, query.offset, query.fuzzy) == (10, 20, True)
    assert parse().limit == MAX_LIMIT
    assert parse(("limit", str(MAX_LIMIT * 10))).limit == MAX_LIMIT
    assert parse(("fuzzymatching", "false")).fuzzy is False


@pytest.mark.parametrize(
    ("name", "value"),
    [("limit", "abc"), ("limit", "0"), ("limit", "-1"), ("offset", "-1"), ("offset", "1e3"), ("fuzzymatching", "yes")],
)
def test_bad_paging_values_are_invalid(name: str, value: str) -> None:
    with pytest.raises(InvalidParameter):
        parse((name, value))


def test_skipped_parameters_are_left_alone() -> None:
    query = parse_qido([("access_token", "abc"), ("PatientID", "1")], Resource.STUDIES, skip={"access_token"})
    assert conditions(query) == {"PatientID": Equals(("1",))}


def test_error_messages_carry_no_value() -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse(("StudyDate", "SMITH"))
    assert "SMITH" not in caught.value.message


def test_indexed_values_read_cut_and_convert() -> None:
    ds = Dataset()
    ds.PatientName = "Doe^Jane"
    ds.StudyDescription = "x" * 100
    ds.SeriesNumber = "7"
    ds.InstanceNumber = "99999999999"  # past an index column's integers
    ds.StudyDate = "2001.02.03"  # an ACR-NEMA date
    ds.StudyTime = "10:30:00"
    values = indexed_values(ds)
    assert values[0x00100010] == "Doe^Jane"
    assert values[0x00081030] == "x" * 64
    assert values[0x00200011] == 7
    assert values[0x00200013] is None
    assert values[0x00080020] == "20010203"
    assert values[0x00080030] == "103000"
    assert values[0x00080050] is None
    assert 0x00080061 not in values  # computed


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20200101120000", ("20200101120000", "20200101120000")),
        ("2020-2021", ("2020", "2021")),
        ("20200101120000-0500-20200102", ("20200101120000-0500", "20200102")),
        ("-202001011200+0100", (None, "202001011200+0100")),
        ("2020-", ("2020", None)),
    ],
)
def test_date_time_ranges_split_at_the_hyphen_that_leaves_valid_ends(
    value: str, expected: tuple[str | None, str | None]
) -> None:
    from dicom_api.dicom.qido import _range
    from dicom_api.dicom.qido_attributes import Attribute, Level

    acquisition = Attribute(0x0008002A, "AcquisitionDateTime", "DT", Level.INSTANCE, 26)
    assert _range(acquisition, value) == Between(*expected)
    with pytest.raises(InvalidParameter):
        _range(acquisition, "2020-01-01")
