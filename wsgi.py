"""Production entry for gunicorn: gunicorn -w 4 wsgi:app"""

from portal import create_app, require_ready

app = require_ready(create_app())
