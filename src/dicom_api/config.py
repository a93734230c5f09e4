"""Settings from the environment (prefix DICOM_API_), with embedded defaults that need no other server."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

GIB = 1024**3


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DICOM_API_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Folder for the embedded database, blobs and spool.")
    database_url: str = Field(default="", description="SQLAlchemy URL; default sqlite:///<data_dir>/dicom-api.sqlite3")
    storage_url: str = Field(default="", description="Blob store URL; default file://<data_dir>/blobs")
    max_upload_bytes: int = Field(default=2 * GIB, gt=0, description="Largest accepted upload, in bytes.")
    render_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=0,
        description="Render processes; 0 renders in threads of the server process.",
    )
    header_cache_size: int = Field(default=512, ge=0, description="Parsed headers kept in memory per process.")
    auto_migrate: bool = Field(default=True, description="`serve` upgrades the database schema before starting.")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, gt=0, lt=65536)
    workers: int = Field(default=1, ge=1, description="uvicorn worker processes.")
    log_level: str = "info"

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.lower()
        if value not in {"critical", "error", "warning", "info", "debug"}:
            raise ValueError("log_level must be one of critical, error, warning, info, debug")
        return value

    @model_validator(mode="after")
    def _embedded_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'dicom-api.sqlite3').resolve().as_posix()}"
        if not self.storage_url:
            self.storage_url = (self.data_dir / "blobs").resolve().as_uri()
        if self.database_url.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
            self.database_url = "postgresql+psycopg://" + self.database_url.removeprefix("postgresql://")
        return self

    @property
    def spool_dir(self) -> Path:
        """Uploads are streamed here before they are validated and stored."""
        return self.data_dir / "spool"
