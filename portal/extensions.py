"""Extensions made at module level, initialised in create_app."""

from flask import g, has_request_context
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def begin_write() -> None:
    """Call before a GET request writes. On SQLite a GET reads in a deferred transaction, and such
    a transaction cannot become a writer once another worker has written; so end it here, and the
    next statement opens a transaction that takes the write lock first (ORM objects reload in it).
    A no-op on PostgreSQL and outside GET requests, whose transactions already may write."""
    if has_request_context() and not g.get("sqlite_write") and db.engine.dialect.name == "sqlite":
        db.session.commit()
        g.sqlite_write = True
