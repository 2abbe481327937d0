"""The yardstick: a bare Flask route, served by gunicorn exactly like the portal."""

from flask import Flask

app = Flask(__name__)


@app.route("/bare")
def bare():
    return "ok"
