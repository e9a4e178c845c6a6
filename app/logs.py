"""Structured logs: one JSON object per line on standard error, ready for a log collector."""

from __future__ import annotations

import json
import logging
import sys
import time

from litestar.types import ASGIApp, Message, Receive, Scope, Send

_STANDARD = set(vars(logging.makeLogRecord({})))


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _ToriHandler(logging.StreamHandler):
    """Marks the handler Tori installs, so a second app in one process replaces it, not others."""


def configure_logging(level: str) -> None:
    handler = _ToriHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, _ToriHandler)] + [handler]
    root.setLevel(level)
    # The access log below replaces uvicorn's, which would print query strings.
    logging.getLogger("uvicorn.access").disabled = True


access_log = logging.getLogger("tori.access")


def access_log_middleware(app: ASGIApp) -> ASGIApp:
    """Method, path (never the query string, which may carry codes), status and duration."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        except Exception as error:
            # A refusal raised before any handler ran (the CSRF check, a body too large) is
            # answered by Litestar's outermost handler with its own status, outside this
            # wrapper: log that status, not a 500 the client never saw.
            status = getattr(error, "status_code", 500)
            raise
        finally:
            if access_log.isEnabledFor(logging.INFO) and not scope["path"].startswith("/static/"):
                access_log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"][:200],
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )

    return middleware
