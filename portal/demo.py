"""The demo clinic: what `flask demo` seeds, and the trainer's Reset demo, which wipes every table
and seeds it again, so the database is back as `flask demo` made it (with one audit event that
records the reset itself)."""

from sqlalchemy import select, text

from . import audit, locations
from .accounts import create_user
from .clock import now
from .extensions import db
from .models import Location, User

DEMO_USERS = (
    # username, role, name, email, has admin rights, DEA number, date of birth, SSN last four
    ("admin", "admin", "Morgan Lee", "morgan.lee@demo-clinic.example", False, None, None, None),
    ("dr.rivera", "provider", "Ana Rivera", "ana.rivera@demo-clinic.example", True, "BR1234563", "1978-04-12", "4821"),
    ("dr.chen", "provider", "Wei Chen", "wei.chen@demo-clinic.example", False, "BC7654329", "1985-09-30", "1397"),
    ("frontdesk", "staff", "Sam Ortiz", "sam.ortiz@demo-clinic.example", False, None, None, None),
    ("trainer", "trainer", "Jordan Blake", "jordan.blake@demo-clinic.example", False, None, None, None),
)
DEMO_LOCATIONS = ("Main Street Clinic", "Riverside Office")


def demo_password(username: str) -> str:
    return f"{username}-demo-pass"


def seed() -> None:
    """The demo clinic's locations and users, each made once (the caller commits)."""
    if db.session.scalar(select(Location.id).limit(1)) is None:
        for name in DEMO_LOCATIONS:
            locations.add(name, None)
    for username, role, name, email, rights, dea, dob, ssn in DEMO_USERS:
        if db.session.scalar(select(User.id).where(User.username == username)) is None:
            create_user(username, role, name, email, demo_password(username), dob=dob, ssn_last4=ssn,
                        dea=dea, admin_rights=rights)


def reset(trainer: User) -> None:
    """Every table emptied (ids start again), then seed() and one audit event for the reset; commits."""
    name = trainer.username
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    else:  # SQLite numbers rows from the largest id left: from 1 again in an empty table
        for table in tables:
            db.session.execute(table.delete())
    db.session.expunge_all()
    seed()
    audit.record(db.session, "demo_reset", at=now(), detail=f"demo clinic reset by the trainer {name}")
    db.session.commit()
