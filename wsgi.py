"""Production entry for gunicorn: gunicorn -w 4 wsgi:app"""

import sys

from portal import NotInitialised, create_app, require_ready

try:
    app = require_ready(create_app())
except NotInitialised as exc:
    sys.exit(f"EPCS Portal cannot start: {exc}")
