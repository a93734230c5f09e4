"""docker-compose.yml runs the image as the container tests do (its registry images cannot be pulled here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.containers.engine import scaled_environment

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def _services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def test_the_api_service_gets_the_tested_variables() -> None:
    tested = scaled_environment("postgresql+psycopg://u@h/d", "http://127.0.0.1:1", "test-bucket")
    assert set(_services()["api"]["environment"]) == set(tested)


def test_the_api_service_keeps_the_image_health_check_and_starts_after_its_dependencies() -> None:
    services = _services()
    api = services["api"]
    assert "healthcheck" not in api  # the image's own, which the container tests run
    assert api["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert api["depends_on"]["bucket"]["condition"] == "service_completed_successfully"
    assert "healthcheck" in services["postgres"]
    assert services["bucket"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert "command" not in api  # the image's: migrations once, then the workers
    assert any(volume.endswith(":/data") for volume in api["volumes"])
