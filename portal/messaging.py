"""Senders for texts, calls and e-mail.

Texts and calls go through PORTAL_SMS_BACKEND, e-mail through PORTAL_MAIL_BACKEND:
- `outbox` (the default for both): the message is stored in outbound_message — the demo's
  training phone and the trainer's Message outbox read it there;
- `smtp` (mail): real SMTP through smtplib (PORTAL_SMTP_HOST, _PORT, _USERNAME, _PASSWORD,
  _STARTTLS, PORTAL_MAIL_FROM);
- `http` (texts and calls): a REST API in the style of the common providers: a form POST to
  <PORTAL_SMS_URL>/Accounts/<PORTAL_SMS_ACCOUNT>/Messages.json (To, From, Body) or .../Calls.json
  (To, From, Twiml), with HTTP basic auth (account, PORTAL_SMS_TOKEN), From = PORTAL_SMS_FROM.

Every send is logged — a text or call with every digit of its body masked, an e-mail by its subject
only — so a code or a link's token never reaches a log line.
A sender that cannot deliver raises SendError; the caller tells the user and keeps nothing half-done.
"""

import base64
import logging
import re
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from xml.sax.saxutils import escape

from flask import current_app

from .clock import now
from .extensions import db
from .models import OutboundMessage
from .phone_number import mask

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10
DIGIT = re.compile(r"[0-9]")


class SendError(Exception):
    """The message could not be handed over for delivery."""


@dataclass(frozen=True)
class Message:
    channel: str  # sms, voice, email
    recipient: str  # E.164 for sms/voice, an address for email
    body: str
    subject: str = ""
    user_id: int | None = None


def send_text(to: str, body: str, user_id: int | None = None) -> None:
    _send(Message("sms", to, body, user_id=user_id))


def send_call(to: str, body: str, user_id: int | None = None) -> None:
    """A voice call that reads `body` aloud."""
    _send(Message("voice", to, body, user_id=user_id))


def send_mail(to: str, subject: str, body: str, user_id: int | None = None) -> None:
    _send(Message("email", to, body, subject=subject, user_id=user_id))


def _send(message: Message) -> None:
    config = current_app.config
    setting = "PORTAL_MAIL_BACKEND" if message.channel == "email" else "PORTAL_SMS_BACKEND"
    backend = BACKENDS.get((message.channel == "email", config[setting]))
    if backend is None:
        log.error("%s=%r is not a sender for %s messages", setting, config[setting], message.channel)
        raise SendError(f"{setting} is not set to a sender for {message.channel} messages")
    backend(message)
    # an e-mail may carry a link with a token: only its subject is logged
    summary = f"subject {message.subject!r}" if message.channel == "email" else DIGIT.sub("*", message.body)
    log.info("%s to %s via %s: %s", message.channel, _recipient_for_log(message), config[setting], summary)


def _recipient_for_log(message: Message) -> str:
    if message.channel == "email":
        local, _, domain = message.recipient.partition("@")
        return f"{local[:1]}***@{domain}"
    return mask(message.recipient)


def outbox(message: Message) -> None:
    db.session.add(OutboundMessage(channel=message.channel, recipient=message.recipient, subject=message.subject,
                                   body=message.body, user_id=message.user_id, created_at=now()))
    db.session.commit()


def smtp(message: Message) -> None:
    c = current_app.config
    mail = EmailMessage()
    mail["From"] = c["PORTAL_MAIL_FROM"]
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail.set_content(message.body)
    try:
        with smtplib.SMTP(c["PORTAL_SMTP_HOST"], c["PORTAL_SMTP_PORT"], timeout=TIMEOUT_SECONDS) as server:
            if c["PORTAL_SMTP_STARTTLS"]:
                server.starttls(context=ssl.create_default_context())
            if c["PORTAL_SMTP_USERNAME"]:
                server.login(c["PORTAL_SMTP_USERNAME"], c["PORTAL_SMTP_PASSWORD"])
            server.send_message(mail)
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("e-mail to %s not sent: %s", _recipient_for_log(message), type(exc).__name__)
        raise SendError("the mail server did not take the message") from exc


def http(message: Message) -> None:
    c = current_app.config
    account = c["PORTAL_SMS_ACCOUNT"]
    base = c["PORTAL_SMS_URL"].rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise SendError("PORTAL_SMS_URL must be an http(s) URL")
    fields = {"To": message.recipient, "From": c["PORTAL_SMS_FROM"]}
    if message.channel == "voice":
        resource = "Calls.json"
        fields["Twiml"] = f'<Response><Say>{escape(message.body)}</Say></Response>'
    else:
        resource = "Messages.json"
        fields["Body"] = message.body
    url = f"{base}/Accounts/{urllib.parse.quote(account, safe='')}/{resource}"
    credentials = base64.b64encode(f"{account}:{c['PORTAL_SMS_TOKEN']}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 — the operator's own http(s) URL
        url, data=urllib.parse.urlencode(fields).encode(), method="POST",
        headers={"Authorization": f"Basic {credentials}", "Content-Type": "application/x-www-form-urlencoded",
                 "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            response.read()
    except urllib.error.HTTPError as exc:
        log.warning("%s to %s refused by the provider: HTTP %s", message.channel, mask(message.recipient), exc.code)
        raise SendError(f"the provider answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        log.warning("%s to %s not sent: %s", message.channel, mask(message.recipient), type(exc).__name__)
        raise SendError("the provider could not be reached") from exc


# (is e-mail, backend name) -> sender
BACKENDS = {(True, "outbox"): outbox, (True, "smtp"): smtp, (False, "outbox"): outbox, (False, "http"): http}
