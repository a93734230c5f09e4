"""Settings from the environment (prefix DICOM_API_), with embedded defaults that need no other server."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

GIB = 1024**3
_HOST = r"([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?"  # a name or an IPv4 or [IPv6] address, a port
_ORIGIN = re.compile(r"https?://" + _HOST)
_PUBLIC_URL = re.compile(r"https?://" + _HOST + r"(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DICOM_API_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Folder for the embedded database, blobs and spool.")
    database_url: str = Field(default="", description="SQLAlchemy URL; default sqlite:///<data_dir>/dicom-api.sqlite3")
    storage_url: str = Field(default="", description="Blob store URL; default file://<data_dir>/blobs")
    s3_endpoint_url: str | None = Field(
        default=None, description="S3 endpoint of s3:// storage (a compatible server); default: AWS's, from boto3."
    )
    s3_region: str | None = Field(default=None, description="S3 region; default: boto3's (AWS_REGION, config file).")
    s3_access_key_id: str | None = Field(default=None, description="S3 access key id; default: boto3's chain.")
    s3_secret_access_key: SecretStr | None = Field(
        default=None, description="S3 secret access key, set together with s3_access_key_id."
    )
    max_upload_bytes: int = Field(
        default=2 * GIB, gt=0, description="Largest accepted upload, in bytes; also each part of a STOW-RS request."
    )
    max_stow_bytes: int = Field(
        default=8 * GIB, gt=0, description="Largest STOW-RS request body (every part and its framing), in bytes."
    )
    stow_duplicates: Literal["reject", "replace"] = Field(
        default="reject",
        description="A STOW-RS instance whose SOP Instance UID the account stored already with other bytes: "
        "'reject' it (failure reason 0xB00E) or 'replace' the stored one. Identical bytes always succeed.",
    )
    render_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=0,
        description="Render processes; 0 renders in threads of the server process.",
    )
    max_inflated_bytes: int = Field(
        default=512 * 1024**2,
        gt=0,
        description="Largest size a deflated data set (Deflated Explicit VR Little Endian) may inflate to, in bytes.",
    )
    max_inflation_ratio: int = Field(
        default=100,
        ge=1,
        description="Largest inflated/deflated size ratio of a deflated data set (beyond its first 16 MiB).",
    )
    max_frame_bytes: int = Field(
        default=64 * 1024**2,
        gt=0,
        description="Largest decoded frame a render may ask a decoder for (Rows x Columns x samples x bytes), "
        "in bytes; a render's peak memory stays under about 10 times this.",
    )
    header_cache_mib: int = Field(default=32, ge=0, description="Parsed headers kept in memory per process, in MiB.")
    metadata_cache_mib: int = Field(
        default=64, ge=0, description="WADO-RS metadata (DICOM JSON per instance) kept in memory per process, in MiB."
    )
    render_cache_mib: int = Field(default=64, ge=0, description="Recent renders kept in memory per process, in MiB.")
    render_memory_mib: int = Field(
        default=512,
        ge=0,
        description="Memory one render may use beyond its process's own, in MiB (Linux; 0: unlimited); "
        "over it the render answers 422.",
    )
    render_timeout_seconds: float = Field(
        default=30, gt=0, description="Time one render may take; over it its process is replaced and it answers 422."
    )
    auto_migrate: bool = Field(default=True, description="`serve` upgrades the database schema before starting.")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, gt=0, lt=65536)
    workers: int = Field(default=1, ge=1, description="uvicorn worker processes.")
    dimse_port: int | None = Field(
        default=None, gt=0, lt=65536, description="Port of the DICOM C-STORE receiver (on `host`); unset: none runs."
    )
    dimse_ae_title: str = Field(
        default="DICOMAPI", pattern=r"^[\x20-\x5b\x5d-\x7e]{1,16}$", description="The receiver's own AE title."
    )
    log_level: str = "info"
    log_format: str = Field(default="text", pattern="^(text|json)$", description="text, or json: one object per line.")

    # De-identification (see README "De-identification")
    deidentify_secret: str = Field(
        default="",
        description="Secret from which each user's de-identification keys are derived, at least 32 bytes; on the "
        "embedded default generated when unset and kept in <data_dir>/deidentify-secret, elsewhere needed for "
        "de-identification (the same on every host).",
    )

    # Authentication (see README "Users and tokens")
    jwt_secret: str = Field(
        default="",
        description="HS256 signing key, at least 32 bytes; generated on the "
        "embedded default when unset and kept in <data_dir>/jwt-secret.",
    )
    jwt_previous_secrets: list[str] = Field(
        default_factory=list,
        description="Old HS256 keys still accepted for verification during a rotation (JSON list).",
    )
    jwt_algorithm: str = Field(default="HS256", description="HS256, RS256 or ES256.")
    jwt_private_key_file: Path | None = Field(default=None, description="PEM private key for RS256/ES256.")
    jwt_public_key_file: Path | None = Field(default=None, description="PEM public key for RS256/ES256.")
    jwt_issuer: str = "dicom-api"
    jwt_audience: str = "dicom-api"
    access_token_ttl_seconds: int = Field(default=15 * 60, ge=60, le=24 * 3600)
    refresh_token_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=300)
    admin_password: str = Field(
        default="", description="Password of the first 'admin' account; generated and printed once when unset."
    )
    open_registration: bool = Field(default=False, description="Allow POST /auth/register.")
    login_window_seconds: int = Field(default=15 * 60, ge=1)
    login_max_failures_per_user: int = Field(default=10, ge=1)
    login_max_failures_per_address: int = Field(default=30, ge=1)
    personal_token_max_days: int = Field(
        default=365, ge=1, le=3650, description="Longest lifetime a personal access token may be given, in days."
    )
    cors_origins: str = Field(
        default="",
        description="Comma-separated origins (scheme://host[:port]) whose pages may call the API from a "
        "browser, or '*' for any; empty: CORS is off.",
    )
    public_url: str = Field(
        default="",
        description="The service's public base URL (e.g. https://pacs.example.org), for the absolute URLs it "
        "answers with; empty: from a trusted proxy's X-Forwarded-Host, else the server's own address.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated IPs or CIDR networks of the reverse proxies whose X-Forwarded-For is "
        "believed; empty: the header is ignored and the peer's address is the client's.",
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.lower()
        if value not in {"critical", "error", "warning", "info", "debug"}:
            raise ValueError("log_level must be one of critical, error, warning, info, debug")
        return value

    @field_validator("jwt_algorithm")
    @classmethod
    def _known_algorithm(cls, value: str) -> str:
        if value not in {"HS256", "RS256", "ES256"}:
            raise ValueError("jwt_algorithm must be HS256, RS256 or ES256")
        return value

    @field_validator("jwt_secret", "deidentify_secret")
    @classmethod
    def _strong_secret(cls, value: str) -> str:
        if value and len(value.encode()) < 32:
            raise ValueError("the secret must be at least 32 bytes; leave it unset to generate one")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for item in filter(None, (part.strip() for part in value.split(","))):
            try:  # refused here rather than silently never matching (and "*" would believe anyone)
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"trusted_proxies: {item!r} is not an IP address or CIDR network") from None
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        origins = [part.strip() for part in value.split(",") if part.strip()]
        if "*" in origins and len(origins) > 1:
            raise ValueError("cors_origins: '*' stands alone")
        for origin in origins:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(f"cors_origins: {origin!r} is not an origin (scheme://host[:port], no path)")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not _PUBLIC_URL.fullmatch(value):
            raise ValueError("public_url must be http(s)://host[:port][/path], with no query or fragment")
        return value

    @property
    def cors_origin_list(self) -> list[str]:
        return [part.strip() for part in self.cors_origins.split(",") if part.strip()]

    @property
    def trusted_proxy_networks(self) -> list[str]:
        return [part.strip() for part in self.trusted_proxies.split(",") if part.strip()]

    @property
    def embedded(self) -> bool:
        """Running on the embedded defaults (SQLite), where the service may keep its own key file."""
        return self.database_url.startswith("sqlite")

    @model_validator(mode="after")
    def _embedded_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'dicom-api.sqlite3').resolve().as_posix()}"
        if not self.storage_url:
            self.storage_url = (self.data_dir / "blobs").resolve().as_uri()
        if self.database_url.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
            self.database_url = "postgresql+psycopg://" + self.database_url.removeprefix("postgresql://")
        if self.jwt_algorithm != "HS256" and not (self.jwt_private_key_file and self.jwt_public_key_file):
            raise ValueError(f"{self.jwt_algorithm} needs jwt_private_key_file and jwt_public_key_file")
        if self.jwt_algorithm == "HS256" and not self.jwt_secret and not self.embedded:
            raise ValueError("DICOM_API_JWT_SECRET must be set (32 bytes or more) outside the embedded set-up")
        return self

    @property
    def spool_dir(self) -> Path:
        """Uploads are streamed here before they are validated and stored."""
        return self.data_dir / "spool"
