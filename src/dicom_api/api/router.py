"""Every route of the API on one page: its path, verb, handler and documented answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from dicom_api.api import files
from dicom_api.api.schemas import ErrorOut, FileListOut, FileOut, HeaderAttributeOut, HealthOut, UploadOut


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "Invalid parameter or input",
        404: "Not found",
        413: "Upload larger than the limit",
        415: "Not multipart/form-data",
        422: "Pixel data that cannot be decoded",
    }
    return {code: {"model": ErrorOut, "description": described[code]} for code in codes}


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "A DICOM file (PS3.10)."}
                    },
                }
            }
        },
    }
}
_PNG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/png": {}}, "description": "The rendered frame"},
    304: {"description": "Not modified"},
}
_DICOM: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/dicom": {}}, "description": "The original file"}
}
_DICOM_JSON: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/dicom+json": {}}, "description": "DICOM JSON Model"}
}

router = APIRouter()
add = router.add_api_route
add(
    "/upload/dicom",
    files.upload_dicom,
    methods=["POST"],
    status_code=201,
    tags=["contract"],
    response_model=UploadOut,
    responses=_errors(400, 413, 415),
    openapi_extra=_UPLOAD_BODY,
)
add(
    "/download/png/{file_id}",
    files.download_png,
    methods=["GET"],
    tags=["contract"],
    response_class=Response,
    responses={**_PNG, **_errors(400, 404, 422)},
)
add(
    "/header_attribute",
    files.header_attribute,
    methods=["GET"],
    tags=["contract"],
    response_model=HeaderAttributeOut,
    response_model_exclude_unset=True,
    responses=_errors(400, 404),
)
add("/files", files.list_files, methods=["GET"], tags=["files"], response_model=FileListOut, responses=_errors(400))
add("/files/{file_id}", files.get_file, methods=["GET"], tags=["files"], response_model=FileOut, responses=_errors(404))
add(
    "/files/{file_id}/dicom",
    files.download_dicom,
    methods=["GET"],
    tags=["files"],
    responses={**_DICOM, **_errors(404)},
)
add(
    "/files/{file_id}/attributes",
    files.file_attributes,
    methods=["GET"],
    tags=["files"],
    responses={**_DICOM_JSON, **_errors(404)},
)
add("/files/{file_id}", files.delete_file, methods=["DELETE"], status_code=204, tags=["files"], responses=_errors(404))
add("/health", files.health, methods=["GET"], tags=["operations"], response_model=HealthOut)
