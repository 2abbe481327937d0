"""Development entry: flask --app app run (make run does this)."""

from portal import create_app

app = create_app()
