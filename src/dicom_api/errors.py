"""The one error family. Each error carries its HTTP status; the API renders every one as {"error": message}.

Messages are written for a person and never carry patient data.
"""

from __future__ import annotations


class AppError(Exception):
    status_code = 500
    default_message = "Internal server error."

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        self.message = message or self.default_message
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(AppError):
    status_code = 400
    default_message = "The request is not valid."


class InvalidDicom(BadRequest):
    default_message = "The file is not a valid DICOM file."


class InvalidParameter(BadRequest):
    default_message = "A parameter is not valid."


class WrongPassword(InvalidParameter):
    default_message = "The current password is wrong."


class Unauthorized(AppError):
    status_code = 401
    default_message = "Authentication is required."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(AppError):
    status_code = 403
    default_message = "This action is not allowed for your account."


class NotFound(AppError):
    status_code = 404
    default_message = "Not found."


class FileNotFound(NotFound):
    default_message = "No DICOM file with this id."


class AttributeNotFound(NotFound):
    default_message = "The file has no such attribute."


class NoImage(NotFound):
    default_message = "The DICOM file has no image (no Pixel Data)."


class NotAcceptable(AppError):
    """No representation the server can make matches the request's Accept header (PS3.18 8.7.5)."""

    status_code = 406
    default_message = "None of the media types the request accepts can be sent for this resource."


class FrameNotFound(NotFound):
    default_message = "The instance has no such frame."


class CannotTranscode(NotAcceptable):
    """The instance cannot be converted to the transfer syntax asked for (no codec, or over a limit)."""

    default_message = "The instance cannot be sent in the transfer syntax asked for."


class Conflict(AppError):
    status_code = 409
    default_message = "The request conflicts with the current state."


class Gone(AppError):
    """What the request names existed and no longer may be used (a revoked or expired share link)."""

    status_code = 410
    default_message = "This resource is no longer available."


class PayloadTooLarge(AppError):
    status_code = 413
    default_message = "The upload is larger than the configured limit."

    def __init__(self, message: str | None = None) -> None:
        # Close the connection: otherwise the server drains the rest of the body and the client, which
        # reads the answer only after sending, uploads all of it anyway.
        super().__init__(message, headers={"Connection": "close"})


class UnsupportedMediaType(AppError):
    status_code = 415
    default_message = "The request body must be multipart/form-data."


class UndecodableImage(AppError):
    status_code = 422
    default_message = "The pixel data cannot be decoded."


class BurnedInAnnotation(AppError):
    """De-identification refused: the pixels may show identity, which removing attributes cannot clean."""

    status_code = 422
    default_message = "The image may show patient identity in its pixels."


class RenderLimitExceeded(AppError):
    """A render went over its memory or time limit: the same image would again, so it is not worth retrying."""

    status_code = 422
    default_message = "The image needs more resources than a render may use."


class TooManyRequests(AppError):
    status_code = 429
    default_message = "Too many attempts; try again later."

    def __init__(self, message: str | None = None, *, retry_after: int = 60) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))})


class ServiceUnavailable(AppError):
    status_code = 503
    default_message = "A backing service is unreachable; try again shortly."

    def __init__(self, message: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class NotConfigured(AppError):
    """A feature that needs a setting this deployment lacks: the operator's to fix, not the client's."""

    status_code = 503
    default_message = "This feature is not configured on this server."


class StorageError(AppError):
    """The blob store did not answer or refused: the request may succeed later."""

    status_code = 503
    default_message = "The file store is unreachable; try again shortly."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": "5"})
