"""`app` for any WSGI server: `gunicorn webhook_receiver.wsgi:app` (the CLI runs the same)."""

import os

from webhook_receiver.app import create_app
from webhook_receiver.logs import configure_logging
from workers.config import Settings

settings = Settings.from_env(os.environ)
configure_logging(settings)
app = create_app(settings)
