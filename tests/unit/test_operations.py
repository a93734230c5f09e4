"""Operator-facing output: JSON logs, and the command line's errors."""

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


def test_cli_reports_bad_settings_and_an_unreachable_database_without_a_traceback(monkeypatch, capsys) -> None:
    from dicom_api import cli

    monkeypatch.setenv("DICOM_API_MAX_UPLOAD_BYTES", "-3")
    assert cli.main(["migrate"]) == 2
    assert "DICOM_API_MAX_UPLOAD_BYTES" in capsys.readouterr().err
    monkeypatch.delenv("DICOM_API_MAX_UPLOAD_BYTES")
    monkeypatch.setenv("DICOM_API_DATABASE_URL", "postgresql://someone:pw-not-shown@127.0.0.1:9/none")
    monkeypatch.setenv("DICOM_API_JWT_SECRET", "x" * 40)
    assert cli.main(["migrate"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach the database" in err
    assert "pw-not-shown" not in err
    assert "Traceback" not in err
