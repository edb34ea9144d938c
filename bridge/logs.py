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


class MalformedHTTPFilter(logging.Filter):
    """aiohttp's parser refusals as one line each, not a traceback.

    aiohttp logs every request it cannot parse (a bad request line, a duplicated
    ``Content-Length``, bad chunking) with the parser's traceback at error level, so any
    stranger could fill the log with them. The client got its ``400``; the log keeps one
    line with the reason and the address.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and type(error).__module__ == "aiohttp.http_exceptions":
            status = getattr(error, "code", 400)
            record.client = (
                record.args[0] if isinstance(record.args, tuple) and record.args else None
            )
            record.msg = "malformed HTTP request refused: %s"
            record.args = (type(error).__name__,)
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.reason = "malformed_http"
            record.status = status
        return True


def configure_logging(log_format: LogFormat, level: int = logging.INFO) -> None:
    """Log to stderr; like ``basicConfig``, a no-op when a host (pytest) already set handlers."""
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedHTTPFilter) for f in server_log.filters):
        server_log.addFilter(MalformedHTTPFilter())
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JSONLineFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
