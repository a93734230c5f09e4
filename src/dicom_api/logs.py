"""Logging set-up shared by the command line and uvicorn: plain text, or one JSON object per line.

``withhold_file_values`` keeps pydicom's messages, which quote element values (a Patient's Name in an
over-long value, say), out of every log: each process that reads DICOM calls it once.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from pathlib import PurePath
from typing import Any, TextIO


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        http = getattr(record, "http", None)
        if isinstance(http, dict):
            entry.update(http)  # the access line's fields, for log pipelines to index
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def log_config(level: str, fmt: str) -> dict[str, Any]:
    """A logging.config.dictConfig for our loggers and uvicorn's."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter} if fmt == "json" else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    )
    handler = {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "alembic": {"level": "WARNING"},
        },
    }


def configure(level: str, fmt: str) -> dict[str, Any]:
    import logging.config

    config = log_config(level, fmt)
    logging.config.dictConfig(config)
    logging.Formatter.converter = __import__("time").gmtime  # timestamps in UTC, as the JSON "Z" says
    return config


# What a pydicom message is about, recognised from its wording; the text itself is never logged.
_KINDS = (
    ("exceeds the maximum length", "a value is longer than its VR allows"),
    ("invalid value", "a value is not valid for its VR"),
    ("value representation", "an element has an unknown or unexpected VR"),
    ("character set", "a text value cannot be decoded with the declared Specific Character Set"),
    ("encoding", "a text value cannot be decoded with the declared Specific Character Set"),
    ("decode", "a value cannot be decoded"),
)
_TAG = re.compile(r"\(([0-9A-Fa-f]{4}), ?([0-9A-Fa-f]{4})\)")
_VR = re.compile(r"\bVRs? '?([A-Z]{2})\b")


def structural_message(text: str) -> str:
    """What ``text`` (a pydicom message) says about structure: its kind, tag and VR, no value."""
    lowered = text.lower()
    kind = next((said for found, said in _KINDS if found in lowered), "a problem with an element")
    where = ""
    if tag := _TAG.search(text):
        where += f" in ({tag[1].upper()},{tag[2].upper()})"
    if vr := _VR.search(text):
        where += f", VR {vr[1]}"
    return f"pydicom: {kind}{where} (the message is withheld: it may quote a value from the file)"


_make_record = logging.getLogRecordFactory()  # the factory before ours: records of other loggers are its own
_shown_before = warnings.showwarning  # where warnings other than pydicom's still go


def _record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Records of the ``pydicom`` logger tree are made with a structural message: rewritten where they are
    born, no handler (a test harness's included) ever sees the original."""
    record = _make_record(*args, **kwargs)
    if record.name == "pydicom" or record.name.startswith("pydicom."):
        try:
            text = record.getMessage()
        except Exception:
            text = ""
        record.msg, record.args = structural_message(text), None
        record.exc_info = record.exc_text = None  # an exception's text may quote a value too
    return record


def _showwarning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    about_code = issubclass(category, DeprecationWarning | PendingDeprecationWarning | FutureWarning)
    if not about_code and ("pydicom" in PurePath(filename).parts or category.__module__.startswith("pydicom")):
        logging.getLogger("pydicom").warning("%s", message)  # rewritten by _record
    else:
        _shown_before(message, category, filename, lineno, file, line)


def withhold_file_values() -> None:
    """Replace pydicom's log records and warnings by structural messages in this process (idempotent)."""
    global _make_record, _shown_before
    if logging.getLogRecordFactory() is not _record:
        _make_record = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_record)
    if warnings.showwarning is not _showwarning:
        _shown_before, warnings.showwarning = warnings.showwarning, _showwarning
    # Shown each time rather than once per text: "once per text" keeps every text, values included, in the
    # warning module's registry for the life of the process.
    warnings.filterwarnings("always", category=UserWarning, module=r"pydicom(\.|$)")
