"""Log set-up: readable lines for people, JSON lines for log collectors (``--log-format json``)."""

from __future__ import annotations

from datetime import UTC, datetime
import json
import logging

from bridge.config import LogFormat

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JSONLineFormatter(logging.Formatter):
    """One JSON object per line, with ``extra=`` fields as top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((key, value) for key, value in record.__dict__.items() if key not in _STANDARD)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(log_format: LogFormat, level: int = logging.INFO) -> None:
    """Log to stderr; like ``basicConfig``, a no-op when a host (pytest) already set handlers."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JSONLineFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
