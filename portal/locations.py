"""Practice locations and the prescribing location of a sign-in.

A provider prescribes from one location at a time: the one chosen with Change your prescribing
location, kept on the login session (a new sign-in starts at the main location, the practice's
first). EPCS permission is per location (epcs_access.py).
"""

from sqlalchemy import func, select

from . import audit
from .clock import now
from .extensions import db
from .models import Location, LoginSession, User
from .sessions import client_ip

NAME_TAKEN = "There is already a location with this name."


def all_locations() -> list[Location]:
    return list(db.session.scalars(select(Location).order_by(Location.id)))


def main() -> Location | None:
    return db.session.scalar(select(Location).order_by(Location.id).limit(1))


def get(location_id: int | None) -> Location | None:
    return db.session.get(Location, location_id) if location_id is not None else None


def current(ls: LoginSession | None) -> Location | None:
    """Where this sign-in prescribes from: its choice, else the main location (None: the practice
    has no locations yet)."""
    chosen = get(ls.location_id) if ls is not None else None
    return chosen or main()


def choose(user: User, ls: LoginSession, location: Location) -> None:
    """Prescribe from `location` for the rest of this sign-in (the caller commits)."""
    if ls.location_id == location.id:
        return
    ls.location_id = location.id
    audit.record(db.session, "location_changed", at=now(), actor_id=user.id, subject_id=user.id, ip=client_ip(),
                 detail=f"prescribing location: {location.name}")


def name_problem(name: str, except_id: int | None = None) -> str | None:
    if not name:
        return "Enter the location's name."
    if len(name) > 120:
        return "Use at most 120 characters."
    if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in name):
        return "Use letters, digits, spaces and punctuation only."
    query = select(Location.id).where(func.lower(Location.name) == name.lower())
    if except_id is not None:
        query = query.where(Location.id != except_id)
    if db.session.scalar(query.limit(1)) is not None:
        return NAME_TAKEN
    return None


def add(name: str, actor: User | None) -> Location:
    """A new location (name already checked); the caller commits."""
    location = Location(name=name, created_at=now())
    db.session.add(location)
    db.session.flush()
    audit.record(db.session, "location_added", at=now(), actor_id=actor.id if actor else None, ip=client_ip(),
                 detail=f"location {name!r}")
    return location


def rename(location: Location, name: str, actor: User) -> None:
    old = location.name
    location.name = name
    audit.record(db.session, "location_renamed", at=now(), actor_id=actor.id, ip=client_ip(),
                 detail=f"location {old!r} renamed to {name!r}")

