"""Reading the e-mails the portal sent (the outbox, the default sender in tests)."""

import re

from sqlalchemy import select

from portal.extensions import db
from portal.models import OutboundMessage


def mails(app, to: str | None = None, subject: str = "") -> list[OutboundMessage]:
    """The e-mails in the outbox, oldest first: to one address, with `subject` in their subject."""
    with app.app_context():
        query = select(OutboundMessage).where(OutboundMessage.channel == "email").order_by(OutboundMessage.id)
        if to is not None:
            query = query.where(OutboundMessage.recipient == to)
        rows = list(db.session.scalars(query))
        db.session.expunge_all()
        return [m for m in rows if subject in m.subject]


def link_in(body: str) -> str:
    """The path of the (first) link in an e-mail."""
    match = re.search(r"https?://[^/\s]+(/\S+)", body)
    assert match, body
    return match.group(1)
