"""JSON logs: one object per line, the access line's fields included, exceptions kept."""

from __future__ import annotations

import json
import logging

from dicom_api.logs import JsonFormatter, log_config


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord("dicom_api.access", logging.INFO, __file__, 1, "GET %s %d", ("/files", 200), None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_line_has_message_and_access_fields() -> None:
    fields = {"method": "GET", "path": "/files", "status": 200, "duration_ms": 1.5, "request_id": "abc"}
    entry = json.loads(JsonFormatter().format(_record(http=fields)))
    assert entry["message"] == "GET /files 200"
    assert entry["level"] == "info"
    assert entry["logger"] == "dicom_api.access"
    assert {k: entry[k] for k in fields} == fields
    assert entry["time"].endswith("Z")


def test_exceptions_are_kept_in_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exception"]


def test_config_selects_the_formatter() -> None:
    assert log_config("info", "json")["formatters"]["default"] == {"()": JsonFormatter}
    assert "format" in log_config("debug", "text")["formatters"]["default"]
    assert log_config("debug", "text")["root"]["level"] == "DEBUG"
