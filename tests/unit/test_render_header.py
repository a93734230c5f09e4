"""Rendering from the header parsed at upload gives the same PNG as rendering from the file alone."""

from __future__ import annotations

import pickle

import pytest

from dicom_api.dicom.inspect import inspect_dicom
from dicom_api.dicom.render import RenderHeader, render_header, render_png
from dicom_api.errors import AppError
from tests.corpus import CORPUS


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_same_png_with_the_upload_header(name: str) -> None:
    path = CORPUS[name]
    try:
        summary = inspect_dicom(path)
    except AppError:
        pytest.skip("refused at upload")
    if summary.header is None:
        pytest.skip("a large value was left unread: the header is parsed later")
    try:
        header: RenderHeader | None = render_header(summary.header, summary.header_length)
    except (AttributeError, pickle.PicklingError):
        # pydicom's converted LUT Descriptors do not pickle: such a header is not sent to a render process,
        # which parses the file itself (tests/integration/test_render_cache.py renders them in processes).
        header = None
    for frame in sorted({1, summary.number_of_frames or 1}):
        with path.open("rb") as fp:
            try:
                expected = render_png(fp, frame)
            except AppError as exc:
                with path.open("rb") as again, pytest.raises(type(exc)):
                    render_png(again, frame, header=header)
                continue
        with path.open("rb") as fp:
            assert render_png(fp, frame, header=header) == expected
