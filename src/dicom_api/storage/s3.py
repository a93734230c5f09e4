"""Blobs as objects of one S3 bucket (AWS or a compatible server), under an optional key prefix.

Uploads and reads stream: originals go up with boto3's managed transfer (multipart above one part size, so
a 2 GiB file never sits in memory) and are read back by ranged GETs, so a reader can seek to one frame of a
large file without downloading the rest.
"""

from __future__ import annotations

import contextlib
import io
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import urlparse

import boto3
from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from dicom_api.errors import StorageError
from dicom_api.storage.base import validate_key

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

    from dicom_api.config import Settings

log = logging.getLogger("dicom_api.storage")

MIB = 1024**2
MIN_PART_SIZE = 5 * MIB  # S3 refuses smaller parts (except the last one)
# A reader fetches at least this much per GET: pydicom's many small header reads become one request and
# sequential reads one request per 4 MiB, while what one open reader holds in memory stays bounded.
READ_AHEAD = 4 * MIB
_MISSING = {"404", "NoSuchKey", "NotFound"}
_STREAM_ATTEMPTS = 3
_STREAM_ERRORS = (IncompleteReadError, ReadTimeoutError, ResponseStreamingError)
_TOKEN = "upload-token"  # noqa: S105 - the object metadata naming which put_file call wrote it


@dataclass(frozen=True)
class S3Options:
    """Where and as whom to reach S3; unset values come from boto3's default chain (AWS_* variables,
    shared config files, instance roles). Plain data, so render worker processes can be sent it."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    part_size: int = 16 * MIB  # larger objects are uploaded in parts of this size

    def __post_init__(self) -> None:
        if bool(self.access_key_id) != bool(self.secret_access_key):
            raise ValueError("S3 access key id and secret access key must be set together")
        if self.part_size < MIN_PART_SIZE:
            raise ValueError(f"S3 part size must be at least {MIN_PART_SIZE} bytes")

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Options:
        secret = settings.s3_secret_access_key
        return cls(
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region or None,
            access_key_id=settings.s3_access_key_id or None,
            secret_access_key=secret.get_secret_value() if secret else None,
        )


class S3BlobStore:
    def __init__(self, url: str, options: S3Options | None = None) -> None:
        """``url`` is ``s3://bucket`` or ``s3://bucket/key/prefix``."""
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc or parsed.query or parsed.fragment:
            raise ValueError("S3 storage URL must look like s3://bucket or s3://bucket/prefix")
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        options = options or S3Options()
        session = boto3.session.Session(
            aws_access_key_id=options.access_key_id,
            aws_secret_access_key=options.secret_access_key,
            region_name=options.region,
        )
        self._s3 = _client(session, options)
        # A second client whose object writes carry If-None-Match: "*", so S3 itself refuses to replace an
        # existing object; put_bytes (derived data, replaced on purpose) goes through the plain client.
        self._s3_create = _client(session, options)
        for operation in ("PutObject", "CompleteMultipartUpload"):
            self._s3_create.meta.events.register(f"before-call.s3.{operation}", _if_none_match)
        # "classic": the CRT transfer client would bypass the event handler above.
        self._transfer = TransferConfig(
            multipart_threshold=options.part_size,
            multipart_chunksize=options.part_size,
            preferred_transfer_client="classic",
        )

    def _name(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_file(self, key: str, source: Path) -> None:
        """Upload, complete or nothing (an interrupted multipart upload is aborted), then remove the source.

        Never overwrites: a HEAD refuses an existing key before any byte is sent, and the write itself is
        conditional (If-None-Match: "*"), which closes the gap between the two on AWS S3 and on servers
        that honour conditional writes. A server that ignores the header leaves that gap open; keys are
        fresh UUIDs, so only a bug could make two uploads race for one.
        """
        name = self._name(key)
        if self._head(name) is not None:
            raise FileExistsError("blob already exists")
        # Tags this upload, so a conditional write refused because an earlier attempt of the same request
        # (retried after its response was lost) already landed is recognised as our own success.
        token = uuid.uuid4().hex
        if not self._create(name, source, token) and self._token(name) != token:
            raise FileExistsError("blob already exists")
        source.unlink(missing_ok=True)

    def _create(self, name: str, source: Path, token: str) -> bool:
        """Upload ``source`` as a new object; False when the object already exists."""
        with _s3_errors("put"):
            try:
                # The manager behind client.upload_file, used directly so S3 errors keep their code.
                with create_transfer_manager(self._s3_create, self._transfer) as transfer:
                    transfer.upload(str(source), self.bucket, name, extra_args={"Metadata": {_TOKEN: token}}).result()
            except ClientError as exc:
                if _error_code(exc) != "PreconditionFailed":
                    raise
                return False
        return True

    def _token(self, name: str) -> str | None:
        head = self._head(name)
        return None if head is None else head.get("Metadata", {}).get(_TOKEN)

    def put_bytes(self, key: str, data: bytes) -> None:
        name = self._name(key)
        with _s3_errors("put"):
            self._s3.put_object(Bucket=self.bucket, Key=name, Body=data)

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        name = self._name(key)
        head = self._head(name)
        if head is None:
            raise FileNotFoundError("blob not found")
        with _RangeReader(self._s3, self.bucket, name, int(head["ContentLength"]), str(head["ETag"])) as fp:
            yield cast(BinaryIO, fp)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        name = self._name(key)
        if start < 0 or length < 0:
            raise ValueError("negative range")
        if length == 0:
            return b""
        with _s3_errors("get"):
            try:
                response = self._s3.get_object(Bucket=self.bucket, Key=name, Range=_range(start, length))
            except ClientError as exc:
                if _error_code(exc) != "InvalidRange":
                    raise
                return b""  # start at or past the end
            with contextlib.closing(response["Body"]) as body:
                return bytes(body.read())

    def delete(self, key: str) -> None:
        name = self._name(key)
        with _s3_errors("delete"):
            self._s3.delete_object(Bucket=self.bucket, Key=name)  # absent: S3 answers 204 as well

    def delete_prefix(self, prefix: str) -> None:
        with _s3_errors("delete"):
            for page in self._pages(self._name(prefix) + "/"):
                # A page lists at most 1000 keys: as many as one DeleteObjects request accepts.
                objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if not objects:
                    continue
                response = self._s3.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})
                if response.get("Errors"):
                    raise StorageError(f"{len(response['Errors'])} objects could not be deleted")

    def exists(self, key: str) -> bool:
        return self._head(self._name(key)) is not None

    def keys(self) -> Iterator[str]:
        strip = len(self.prefix) + 1 if self.prefix else 0
        with _s3_errors("list"):
            for page in self._pages(f"{self.prefix}/" if self.prefix else ""):
                for item in page.get("Contents", []):
                    yield str(item["Key"])[strip:]

    def _pages(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self._s3.get_paginator("list_objects_v2")
        yield from paginator.paginate(Bucket=self.bucket, Prefix=prefix)

    def _head(self, name: str) -> dict[str, Any] | None:
        """The object's metadata, or None when it is absent. A HEAD answer has no body, so S3's 404 for a
        missing bucket looks the same; without s3:ListBucket permission an absent key is a 403, which is
        reported as a storage failure."""
        try:
            with _s3_errors("head"):
                return dict(self._s3.head_object(Bucket=self.bucket, Key=name))
        except FileNotFoundError:
            return None


class _RangeReader(io.RawIOBase):
    """A read-only, seekable view of one object, each read a ranged GET.

    pydicom seeks: it reads the header, then jumps to the Pixel Data or to one frame of it. Downloading
    the whole object first would cost a full transfer (and its size in memory or on disk) per render;
    ranged reads fetch only what is read. Small reads are served from one read-ahead block. (Not an
    io.BufferedReader: pydicom takes one for a file opened by name and may reopen it by that name.)
    Every GET names the ETag seen when the object was opened, so a replaced object fails instead of
    mixing two versions.
    """

    def __init__(self, client: Any, bucket: str, name: str, size: int, etag: str) -> None:
        super().__init__()
        self._client, self._bucket, self._name = client, bucket, name
        self._size, self._etag, self._pos = size, etag, 0
        self._block, self._block_start = bytearray(), 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}.get(whence)
        if base is None:
            raise ValueError(f"invalid whence {whence}")
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: WriteableBuffer) -> int:
        """Fills ``buffer`` up to the end of the object: callers such as pydicom take a short read for a
        truncated file."""
        view = memoryview(buffer).cast("B")[: max(self._size - self._pos, 0)]
        done = 0
        while done < len(view):
            at, rest = self._pos + done, view[done:]
            offset = at - self._block_start
            if 0 <= offset < len(self._block):
                n = min(len(rest), len(self._block) - offset)
                rest[:n] = self._block[offset : offset + n]
            elif len(rest) >= READ_AHEAD:  # a large read goes straight into the caller's buffer
                n = self._get_into(rest, at)
            else:
                self._block, self._block_start = bytearray(min(READ_AHEAD, self._size - at)), at
                self._get_into(memoryview(self._block), at)
                continue
            done += n
        self._pos += done
        return done

    def readall(self) -> bytes:
        """The rest in one request (RawIOBase's default would make one request per 8 KiB)."""
        data = bytearray(max(self._size - self._pos, 0))
        return bytes(data[: self.readinto(data)])

    def _get_into(self, view: memoryview, start: int) -> int:
        """Fill ``view`` with the object's bytes from ``start``."""
        done = failures = 0
        while done < len(view):
            try:
                for chunk in self._chunks(start + done, len(view) - done):
                    view[done : done + len(chunk)] = chunk
                    done += len(chunk)
            except StorageError as exc:
                # botocore retries failed requests, not a body cut off mid-stream: resume where it stopped.
                failures += 1
                if failures == _STREAM_ATTEMPTS or not isinstance(exc.__cause__, _STREAM_ERRORS):
                    raise
        return done

    def _chunks(self, start: int, length: int) -> Iterator[bytes]:
        with _s3_errors("get"):
            response = self._client.get_object(
                Bucket=self._bucket, Key=self._name, Range=_range(start, length), IfMatch=self._etag
            )
            if int(response["ContentLength"]) != length:
                raise StorageError("The file store ignored a ranged read.")
            with contextlib.closing(response["Body"]) as body:
                yield from body.iter_chunks(MIB)


def _client(session: boto3.session.Session, options: S3Options) -> Any:
    config = Config(
        connect_timeout=5,
        read_timeout=60,  # per socket read, not per request: large transfers are not cut short
        retries={"mode": "standard", "max_attempts": 5},  # backoff with jitter on throttling and 5xx
        max_pool_connections=32,  # the transfer manager alone runs 10 threads
    )
    return session.client("s3", endpoint_url=options.endpoint_url, config=config)


def _if_none_match(params: dict[str, Any], **_kwargs: Any) -> None:
    params["headers"]["If-None-Match"] = "*"


def _range(start: int, length: int) -> str:
    return f"bytes={start}-{start + length - 1}"


def _error_code(exc: BaseException | None) -> str:
    return str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) else ""


@contextlib.contextmanager
def _s3_errors(operation: str) -> Iterator[None]:
    """S3 and connection failures as StorageError (the cause kept); an absent key as FileNotFoundError."""
    try:
        yield
    except ClientError as exc:
        code = _error_code(exc)
        if code in _MISSING:
            raise FileNotFoundError("blob not found") from None
        log.warning("S3 %s failed: %s", operation, code or exc)
        raise StorageError() from exc
    except BotoCoreError as exc:
        log.warning("S3 %s failed: %s", operation, type(exc).__name__)
        raise StorageError() from exc
