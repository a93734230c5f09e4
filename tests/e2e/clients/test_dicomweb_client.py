"""dicomweb-client (the Python DICOMweb client) against the server: STOW-RS, QIDO-RS, WADO-RS (PS3.18 10.4-10.6)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from pydicom import Dataset, dcmread
from pydicom.encaps import generate_frames
from pydicom.uid import generate_uid

from tests.e2e.clients.studies import Original, bearer_token
from tests.e2e.clients.tools import need_module
from tests.e2e.live import LiveServer

pytestmark = [pytest.mark.clients, pytest.mark.slow]

EXPLICIT_LE = "1.2.840.10008.1.2.1"
UID = {"study": "0020000D", "series": "0020000E", "sop": "00080018"}


def values(results: list[dict[str, Any]], tag: str) -> list[str]:
    return [result[tag]["Value"][0] for result in results]


@pytest.fixture(scope="module")
def dicomweb(dicomweb_server: LiveServer) -> Any:
    web = need_module("dicomweb_client.api")
    client = web.DICOMwebClient(
        url=f"{dicomweb_server.url}/dicomweb",
        headers={"Authorization": f"Bearer {bearer_token(dicomweb_server.headers)}"},
        timeout=60,
    )
    client.set_http_retry_params(retry=False)
    return client


@pytest.fixture(scope="module")
def stored(dicomweb: Any, instances: dict[str, Original]) -> Dataset:
    """The STOW-RS answer to storing every instance in one request."""
    return dicomweb.store_instances(datasets=[dcmread(i.path) for i in instances.values()])


def test_store_answers_every_instance_as_stored(stored: Dataset, instances: dict[str, Original]) -> None:
    referenced = {item.ReferencedSOPInstanceUID for item in stored.ReferencedSOPSequence}  # PS3.18 Annex I
    assert referenced == {i.sop for i in instances.values()}
    assert not stored.get("FailedSOPSequence")


def test_studies_search_pages_with_limit_offset_and_get_remaining(
    dicomweb: Any, stored: Dataset, instances: dict[str, Original]
) -> None:
    studies = {i.study for i in instances.values()}
    assert set(values(dicomweb.search_for_studies(), UID["study"])) == studies
    first = values(dicomweb.search_for_studies(limit=2, offset=0), UID["study"])
    second = values(dicomweb.search_for_studies(limit=2, offset=2), UID["study"])
    assert len(first) == 2
    assert set(first) | set(second) == studies
    assert not set(first) & set(second)
    assert set(values(dicomweb.search_for_studies(limit=1, get_remaining=True), UID["study"])) == studies


def test_study_search_answers_the_counts_and_filters(
    dicomweb: Any, stored: Dataset, instances: dict[str, Original]
) -> None:
    jpeg, ct = instances["jpeg"], instances["ct"]
    [study] = dicomweb.search_for_studies(search_filters={"StudyInstanceUID": jpeg.study})
    assert study["00201208"]["Value"] == [2]  # NumberOfStudyRelatedInstances: the JPEG and RLE images
    assert study["00080061"]["Value"] == ["OT"]  # ModalitiesInStudy
    found = dicomweb.search_for_series(search_filters={"Modality": "CT"})
    assert values(found, UID["series"]) == [ct.series]


def test_series_and_instances_search_at_every_level(
    dicomweb: Any, stored: Dataset, instances: dict[str, Original]
) -> None:
    jpeg = instances["jpeg"]
    assert set(values(dicomweb.search_for_series(), UID["series"])) == {i.series for i in instances.values()}
    assert values(dicomweb.search_for_series(jpeg.study), UID["series"]) == [jpeg.series]
    in_series = dicomweb.search_for_instances(jpeg.study, jpeg.series)
    assert set(values(in_series, UID["sop"])) == {jpeg.sop, instances["rle"].sop}
    everything = dicomweb.search_for_instances(limit=2, get_remaining=True)
    assert set(values(everything, UID["sop"])) == {i.sop for i in instances.values()}
    assert len(dicomweb.search_for_instances(limit=2, offset=0)) == 2


def test_metadata_at_the_three_levels(dicomweb: Any, stored: Dataset, instances: dict[str, Original]) -> None:
    jpeg, multiframe = instances["jpeg"], instances["multiframe"]
    study = dicomweb.retrieve_study_metadata(jpeg.study)
    assert set(values(study, UID["sop"])) == {jpeg.sop, instances["rle"].sop}
    series = dicomweb.retrieve_series_metadata(multiframe.study, multiframe.series)
    assert values(series, UID["sop"]) == [multiframe.sop]
    metadata = dicomweb.retrieve_instance_metadata(multiframe.study, multiframe.series, multiframe.sop)
    assert metadata["00280010"]["Value"] == [multiframe.dataset.Rows]
    assert int(metadata["00280008"]["Value"][0]) == multiframe.frames
    if "7FE00010" in metadata:  # metadata replaces bulk data by its BulkDataURI (PS3.18 10.4.1.1.2)
        assert set(metadata["7FE00010"]) == {"vr", "BulkDataURI"}


@pytest.mark.parametrize("name", ["ct", "mr", "multiframe", "jpeg", "rle"])
def test_retrieved_instance_has_the_original_pixels(
    dicomweb: Any, stored: Dataset, instances: dict[str, Original], name: str
) -> None:
    original = instances[name]
    retrieved = dicomweb.retrieve_instance(original.study, original.series, original.sop)
    assert retrieved.SOPInstanceUID == original.sop
    assert np.array_equal(retrieved.pixel_array, original.dataset.pixel_array)


def test_uncompressed_frames_are_the_original_bytes(
    dicomweb: Any, stored: Dataset, instances: dict[str, Original]
) -> None:
    ct, multiframe = instances["ct"], instances["multiframe"]
    [frame] = dicomweb.retrieve_instance_frames(ct.study, ct.series, ct.sop, frame_numbers=[1])
    assert frame == ct.dataset.PixelData
    size = len(multiframe.dataset.PixelData) // multiframe.frames
    frames = dicomweb.retrieve_instance_frames(
        multiframe.study,
        multiframe.series,
        multiframe.sop,
        frame_numbers=[2, 5],
        media_types=(("application/octet-stream", EXPLICIT_LE),),
    )
    assert frames == [multiframe.dataset.PixelData[(n - 1) * size : n * size] for n in (2, 5)]


@pytest.mark.parametrize(("name", "media_type"), [("jpeg", "image/jpeg"), ("rle", "image/dicom-rle")])
def test_compressed_frames_are_the_stored_fragments(
    dicomweb: Any, stored: Dataset, instances: dict[str, Original], name: str, media_type: str
) -> None:
    original = instances[name]
    wanted = list(generate_frames(original.dataset.PixelData, number_of_frames=original.frames))
    numbers = list(range(1, original.frames + 1))
    frames = dicomweb.retrieve_instance_frames(
        original.study,
        original.series,
        original.sop,
        frame_numbers=numbers,
        media_types=((media_type, original.transfer_syntax),),
    )
    assert frames == wanted


def test_rendered_instance_and_frame_decode(dicomweb: Any, stored: Dataset, instances: dict[str, Original]) -> None:
    image = need_module("PIL.Image")
    ct, multiframe = instances["ct"], instances["multiframe"]
    png = dicomweb.retrieve_instance_rendered(ct.study, ct.series, ct.sop, media_types=("image/png",))
    with image.open(io.BytesIO(png)) as picture:
        assert (picture.format, picture.size) == ("PNG", (ct.dataset.Columns, ct.dataset.Rows))
    jpeg = dicomweb.retrieve_instance_frames_rendered(
        multiframe.study, multiframe.series, multiframe.sop, frame_numbers=[3]
    )
    with image.open(io.BytesIO(jpeg)) as picture:
        assert (picture.format, picture.size) == ("JPEG", (multiframe.dataset.Columns, multiframe.dataset.Rows))


@pytest.fixture
def copy_of_ct(dicomweb: Any, instances: dict[str, Original]) -> Dataset:
    """A CT instance of a study of its own, stored for the test to delete."""
    dataset = dcmread(instances["ct"].path)
    dataset.StudyInstanceUID, dataset.SeriesInstanceUID = generate_uid(), generate_uid()
    dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    answer = dicomweb.store_instances(datasets=[dataset])
    assert len(answer.ReferencedSOPSequence) == 1
    return dataset


def test_deleted_study_is_gone(dicomweb: Any, copy_of_ct: Dataset) -> None:
    requests = need_module("requests")
    study = copy_of_ct.StudyInstanceUID
    assert dicomweb.search_for_studies(search_filters={"StudyInstanceUID": study})
    dicomweb.delete_study(study)
    assert dicomweb.search_for_studies(search_filters={"StudyInstanceUID": study}) == []
    with pytest.raises(requests.HTTPError) as raised:
        dicomweb.retrieve_study_metadata(study)
    assert raised.value.response.status_code == 404
