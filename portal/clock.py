"""The portal's clock, read from config so that tests can move time instead of sleeping."""

from datetime import datetime

from flask import current_app


def now() -> datetime:
    return current_app.config["CLOCK"]()
