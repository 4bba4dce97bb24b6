"""gunicorn and `flask` entry point: `gunicorn wsgi:app`."""

import sys

from dotenv import load_dotenv

from app import create_app
from app.config import ConfigError

load_dotenv()
try:
    app = create_app()
except ConfigError as error:
    sys.exit(f"Frontdesk cannot start: {error}")
