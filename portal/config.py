"""Defaults, overridden by PORTAL_* environment variables and DATABASE_URL.

Every limit is a setting so that a practice can tune it and a test can shorten it.
"""

import os
from datetime import UTC, datetime


def utcnow() -> datetime:
    """The portal's clock: naive UTC. Tests swap config["CLOCK"] for a fake one."""
    return datetime.now(UTC).replace(tzinfo=None)


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


# name -> (default, type); read from PORTAL_<name>
SETTINGS: dict[str, tuple[object, type]] = {
    "SECRET_KEY": ("", str),
    "VAULT_KEY": ("", str),
    "DEMO": (False, bool),
    "HTTPS": (False, bool),
    "PROXIES": (0, int),  # reverse proxies in front (nginx: 1) whose X-Forwarded-For/-Proto to trust
    "ISSUER": ("EPCS Portal", str),
    "OTP_WAIT_AFTER": (5, int),
    "OTP_WAIT_SECONDS": (30, int),
    "OTP_MAX_WAIT_SECONDS": (900, int),
    "OTP_LOCK_AFTER": (20, int),
    "PIN_LOCK_AFTER": (5, int),
    "PASSWORD_LOCK_AFTER": (10, int),
    "PASSWORD_LOCK_MINUTES": (15, int),
    "IDLE_MINUTES": (15, int),
    "SESSION_HOURS": (12, int),
    "STEP_UP_MINUTES": (5, int),
    "WIZARD_MINUTES": (30, int),
    "PUSH_SECONDS": (120, int),
    "SMS_CODE_MINUTES": (5, int),
    "PAIRING_MINUTES": (10, int),
    "RECOVERY_LINK_MINUTES": (30, int),
    "RECOVERY_LOCK_AFTER": (5, int),  # wrong identity answers before recovery locks
    "RECOVERY_LOCK_HOURS": (24, int),
    "PASSWORD_LINK_MINUTES": (60, int),  # the link an admin's Reset password (or a new account) e-mails
    "ARTICLES_PATH": ("", str),  # the support articles for the Guided tour; "" means ../shared/articles
    "MAIL_BACKEND": ("outbox", str),
    "SMTP_HOST": ("localhost", str),
    "SMTP_PORT": (25, int),
    "SMTP_USERNAME": ("", str),
    "SMTP_PASSWORD": ("", str),
    "SMTP_STARTTLS": (False, bool),
    "MAIL_FROM": ("epcs-portal@localhost", str),
    "SMS_BACKEND": ("outbox", str),
    "SMS_URL": ("", str),
    "SMS_ACCOUNT": ("", str),
    "SMS_TOKEN": ("", str),
    "SMS_FROM": ("", str),
    "EPCS_ALLOW_SMS": (False, bool),
    "BCRYPT_ROUNDS": (12, int),
}


def from_environment(environ: os._Environ | dict = os.environ) -> dict:
    """The PORTAL_* settings (prefixed keys: PORTAL_ISSUER, ...) with environment overrides."""
    config: dict = {}
    for name, (default, kind) in SETTINGS.items():
        raw = environ.get(f"PORTAL_{name}")
        if raw is None:
            value = default
        elif kind is bool:
            value = _flag(raw)
        elif kind is int:
            value = int(raw)
        else:
            value = raw
        config[f"PORTAL_{name}"] = value
    if environ.get("DATABASE_URL"):
        config["SQLALCHEMY_DATABASE_URI"] = database_url(environ["DATABASE_URL"])
    return config


def database_url(url: str) -> str:
    """postgres:// and postgresql:// mean PostgreSQL through psycopg 3, the driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
