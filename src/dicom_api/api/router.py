"""Every route of the API on one page: its path, verb, handler and documented answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Response

from dicom_api.api import accounts, deidentify, dicomweb, dicomweb_retrieve, files, intake, personal_tokens
from dicom_api.api.metrics import metrics_endpoint
from dicom_api.api.schemas import (
    AuditListOut,
    ErrorOut,
    FileListOut,
    FileOut,
    HeaderAttributeOut,
    HealthOut,
    PersonalTokenCreatedOut,
    PersonalTokenListOut,
    TokenOut,
    UploadOut,
    UserListOut,
    UserOut,
)

_DESCRIBED = {
    400: "Invalid parameter or input", 401: "Missing, invalid or expired bearer token",
    403: "Not allowed for this account", 404: "Not found", 409: "Conflicts with the current state",
    413: "Upload larger than the limit", 415: "Not multipart/form-data",
    422: "Pixel data that cannot be decoded, or pixels that may show identity", 429: "Too many failed sign-in attempts",
    503: "Database or blob store unreachable, or a feature this server is not configured for",
}  # fmt: skip


def _errors(*codes: int, extra: dict[int | str, dict[str, Any]] | None = None) -> dict[int | str, dict[str, Any]]:
    described: dict[int | str, dict[str, Any]] = dict(extra or {})
    described.update({code: {"model": ErrorOut, "description": _DESCRIBED[code]} for code in codes})
    return described


_FILE_FIELD = {"type": "string", "format": "binary", "description": "A DICOM file (PS3.10)."}
_UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": _FILE_FIELD}}}}}}  # fmt: skip
_PNG = {200: {"content": {"image/png": {}}, "description": "The rendered frame"}, 304: {"description": "Not modified"}}
_DICOM = {200: {"content": {"application/dicom": {}}, "description": "The original file, byte for byte"}}
_DEIDENTIFIED = {200: {"content": {"application/dicom": {}}, "description": "The file de-identified, not stored"}}
_DICOM_JSON = {200: {"content": {"application/dicom+json": {}}, "description": "The header, DICOM JSON Model"}}

router = APIRouter()
add = router.add_api_route

# fmt: off
# The contract
add("/upload/dicom", files.upload_dicom, methods=["POST"], status_code=201, tags=["contract"],
    response_model=UploadOut, responses=_errors(400, 401, 413, 415), openapi_extra=_UPLOAD_BODY)
add("/download/png/{file_id}", files.download_png, methods=["GET"], tags=["contract"], response_class=Response,
    responses=_errors(400, 401, 404, 422, extra=_PNG))  # type: ignore[arg-type]
add("/header_attribute", files.header_attribute, methods=["GET"], tags=["contract"], response_model=HeaderAttributeOut,
    response_model_exclude_unset=True, responses=_errors(400, 401, 404, 422))

# Files
add("/files", files.list_files, methods=["GET"], tags=["files"], response_model=FileListOut,
    responses=_errors(400, 401))
add("/files/lookup", intake.lookup_files, methods=["POST"], tags=["files"], response_model=intake.LookupOut,
    responses=_errors(400, 401))
add("/files/{file_id}", files.get_file, methods=["GET"], tags=["files"], response_model=FileOut,
    responses=_errors(401, 404))
add("/files/{file_id}/dicom", files.download_dicom, methods=["GET"], tags=["files"],
    responses=_errors(401, 404, extra=_DICOM))  # type: ignore[arg-type]
add("/files/{file_id}/attributes", files.file_attributes, methods=["GET"], tags=["files"],
    responses=_errors(401, 404, 422, extra=_DICOM_JSON))  # type: ignore[arg-type]
add("/files/{file_id}", files.delete_file, methods=["DELETE"], status_code=204, tags=["files"],
    responses=_errors(401, 404))

# De-identification (PS3.15 Annex E)
add("/files/{file_id}/deidentify", deidentify.deidentify, methods=["POST"], status_code=201, tags=["deidentify"],
    response_model=UploadOut, responses=_errors(400, 401, 403, 404, 422, 503))
add("/files/{file_id}/deidentified", deidentify.download_deidentified, methods=["GET"], tags=["deidentify"],
    responses=_errors(400, 401, 404, 422, 503, extra=_DEIDENTIFIED))  # type: ignore[arg-type]

# Sign-in
add("/auth/token", accounts.sign_in, methods=["POST"], tags=["auth"], response_model=TokenOut,
    responses=_errors(400, 401, 429))
add("/auth/refresh", accounts.refresh, methods=["POST"], tags=["auth"], response_model=TokenOut,
    responses=_errors(400, 401))
add("/auth/logout", accounts.sign_out, methods=["POST"], status_code=204, tags=["auth"], responses=_errors(400))
add("/auth/register", accounts.register, methods=["POST"], status_code=201, tags=["auth"], response_model=UserOut,
    responses=_errors(400, 403, 409))

# Accounts
add("/users/me", accounts.me, methods=["GET"], tags=["users"], response_model=UserOut, responses=_errors(401))
add("/users/me/password", accounts.change_my_password, methods=["POST"], status_code=204, tags=["users"],
    responses=_errors(400, 401))
add("/users/me/tokens", personal_tokens.create_token, methods=["POST"], status_code=201, tags=["users"],
    response_model=PersonalTokenCreatedOut, responses=_errors(400, 401, 403, 409))
add("/users/me/tokens", personal_tokens.list_tokens, methods=["GET"], tags=["users"],
    response_model=PersonalTokenListOut, responses=_errors(401, 403))
add("/users/me/tokens/{token_id}", personal_tokens.revoke_token, methods=["DELETE"], status_code=204, tags=["users"],
    responses=_errors(401, 403, 404))
add("/users", accounts.create_user, methods=["POST"], status_code=201, tags=["users"], response_model=UserOut,
    responses=_errors(400, 401, 403, 409))
add("/users", accounts.list_users, methods=["GET"], tags=["users"], response_model=UserListOut,
    responses=_errors(400, 401, 403))
add("/users/{user_id}", accounts.update_user, methods=["PATCH"], tags=["users"], response_model=UserOut,
    responses=_errors(400, 401, 403, 404, 409))
add("/users/{user_id}", accounts.delete_user, methods=["DELETE"], status_code=204, tags=["users"],
    responses=_errors(401, 403, 404, 409))

# Remote AEs that may push to the C-STORE receiver
add("/admin/aes", intake.list_aes, methods=["GET"], tags=["admin"], response_model=intake.RemoteAEListOut,
    responses=_errors(401, 403))
add("/admin/aes", intake.add_ae, methods=["POST"], status_code=201, tags=["admin"], response_model=intake.RemoteAEOut,
    responses=_errors(400, 401, 403, 404, 409))
add("/admin/aes/{ae_title}", intake.remove_ae, methods=["DELETE"], status_code=204, tags=["admin"],
    responses=_errors(400, 401, 403, 404))

# Operations
add("/audit", accounts.read_audit, methods=["GET"], tags=["audit"], response_model=AuditListOut,
    responses=_errors(400, 401, 403))
add("/health/live", files.live, methods=["GET"], tags=["operations"], response_model=HealthOut)
add("/health/ready", files.ready, methods=["GET"], tags=["operations"], response_model=HealthOut,
    responses=_errors(503))
add("/health", files.ready, methods=["GET"], tags=["operations"], response_model=HealthOut, responses=_errors(503))
add("/metrics", metrics_endpoint, methods=["GET"], tags=["operations"], response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}})
# fmt: on

# DICOMweb (PS3.18): QIDO-RS, STOW-RS and DELETE; WADO-RS
router.include_router(dicomweb.router)
router.include_router(dicomweb_retrieve.router)

# What the audit trail records: every access to patient data, every sign-in, every personal token made or revoked.
AUDITED: dict[Callable[..., Any], str] = {
    files.upload_dicom: "upload",
    files.download_png: "download_png",
    files.header_attribute: "read_attribute",
    files.list_files: "list",
    files.get_file: "read_file",
    files.download_dicom: "download_original",
    files.file_attributes: "read_attributes",
    files.delete_file: "delete",
    deidentify.deidentify: "deidentify",
    deidentify.download_deidentified: "download_deidentified",
    accounts.sign_in: "login",
    personal_tokens.create_token: "token_create",
    personal_tokens.revoke_token: "token_revoke",
    **dicomweb.AUDITED,
    **dicomweb_retrieve.AUDITED,
}
