"""`app` for any WSGI server: `gunicorn webhook_receiver.wsgi:app` (the CLI runs the same)."""

import os

from webhook_receiver.app import create_app
from workers.config import Settings
from workers.logs import configure_logging

settings = Settings.from_env(os.environ)
configure_logging(settings)
app = create_app(settings)
