"""Logging for every mediasync process: text or one JSON object per line (MEDIASYNC_LOG_FORMAT).

Records carry ids (`inbox_id`, a digest prefix) as extra fields; nothing logs a secret or a
notification body.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from workers.config import Settings

# attributes every LogRecord has; anything else on a record came from `extra=`
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)


def take_over_celery_logging(settings: Settings) -> None:
    """Make a Celery worker log like every other process (text or JSON, our level)."""
    from celery.signals import setup_logging

    def setup(**_: Any) -> None:
        configure_logging(settings)

    # connecting a receiver tells Celery not to configure logging itself
    setup_logging.connect(setup, weak=False)
