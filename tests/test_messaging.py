"""Senders: the outbox, SMTP against a real local SMTP server (aiosmtpd), and the HTTP SMS/voice
backend against a local HTTP server. No code's digits ever reach a log line."""

import base64
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from portal import messaging
from portal.extensions import db
from portal.models import OutboundMessage


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


class Provider(BaseHTTPRequestHandler):
    """A provider's REST API in miniature: records each request, answers with `status`."""

    requests: list = []
    status = 201

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests.append({"path": self.path, "headers": dict(self.headers),
                                    "form": {k: v[0] for k, v in parse_qs(body.decode()).items()}})
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"sid": "SM123", "status": "queued"}).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def sms_provider():
    Provider.requests = []
    Provider.status = 201
    server = HTTPServer(("127.0.0.1", 0), Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/2010-04-01", Provider
    server.shutdown()
    thread.join()


def test_outbox_stores_the_message_and_logs_it_without_digits(app, caplog):
    caplog.set_level(logging.INFO, logger="portal.messaging")
    with app.app_context():
        messaging.send_text("+12015550801", "EPCS Portal: your code is 123456.", user_id=None)
        stored = db.session.scalars(select(OutboundMessage)).all()
    assert [(m.channel, m.recipient, m.body) for m in stored] == [
        ("sms", "+12015550801", "EPCS Portal: your code is 123456.")]
    assert "123456" not in caplog.text and "801" in caplog.text  # the masked number, not the code
    assert "your code is ******" in caplog.text


@pytest.fixture
def smtp_app(app, smtp_server):
    controller, inbox = smtp_server
    app.config.update(PORTAL_MAIL_BACKEND="smtp", PORTAL_SMTP_HOST="127.0.0.1", PORTAL_SMTP_PORT=controller.port,
                      PORTAL_MAIL_FROM="epcs-portal@clinic.example")
    return app, inbox


def test_smtp_delivers_to_a_real_smtp_server(smtp_app, caplog):
    app, inbox = smtp_app
    caplog.set_level(logging.INFO, logger="portal.messaging")
    with app.app_context():
        messaging.send_mail("ana.rivera@clinic.example", "Your sign-in link", "Open this link: https://x/y")
    assert "Your sign-in link" in caplog.text and "https://x/y" not in caplog.text
    assert "ana.rivera" not in caplog.text  # the address is shortened too
    with app.app_context():
        assert db.session.scalars(select(OutboundMessage)).all() == []  # not the outbox
    [envelope] = inbox.envelopes
    assert envelope.mail_from == "epcs-portal@clinic.example"
    assert envelope.rcpt_tos == ["ana.rivera@clinic.example"]
    text = envelope.content.decode()
    assert "Subject: Your sign-in link" in text and "Open this link: https://x/y" in text


def test_smtp_server_down_is_a_send_error(app):
    app.config.update(PORTAL_MAIL_BACKEND="smtp", PORTAL_SMTP_HOST="127.0.0.1", PORTAL_SMTP_PORT=free_port())
    with app.app_context(), pytest.raises(messaging.SendError):
        messaging.send_mail("ana.rivera@clinic.example", "Hello", "Body")


@pytest.fixture
def http_app(app, sms_provider):
    url, provider = sms_provider
    app.config.update(PORTAL_SMS_BACKEND="http", PORTAL_SMS_URL=url, PORTAL_SMS_ACCOUNT="AC0001",
                      PORTAL_SMS_TOKEN="tok-secret", PORTAL_SMS_FROM="+12015550100")
    return app, provider


def test_http_backend_posts_a_text_like_the_providers_rest_apis(http_app, caplog):
    app, provider = http_app
    caplog.set_level(logging.INFO, logger="portal.messaging")
    with app.app_context():
        messaging.send_text("+12015550801", "EPCS Portal: your code is 654321.")
        assert db.session.scalars(select(OutboundMessage)).all() == []
    [request] = provider.requests
    assert request["path"] == "/2010-04-01/Accounts/AC0001/Messages.json"
    assert request["form"] == {"To": "+12015550801", "From": "+12015550100",
                               "Body": "EPCS Portal: your code is 654321."}
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"AC0001:tok-secret").decode()
    assert "654321" not in caplog.text and "tok-secret" not in caplog.text


def test_http_backend_places_a_call_that_reads_the_message(http_app):
    app, provider = http_app
    with app.app_context():
        messaging.send_call("+12015550801", "Your code is 6, 5, 4 & more.")
    [request] = provider.requests
    assert request["path"] == "/2010-04-01/Accounts/AC0001/Calls.json"
    assert request["form"]["Twiml"] == "<Response><Say>Your code is 6, 5, 4 &amp; more.</Say></Response>"


@pytest.mark.parametrize("status", [400, 401, 500, 503])
def test_http_backend_refusal_is_a_send_error(http_app, status):
    app, provider = http_app
    provider.status = status
    with app.app_context(), pytest.raises(messaging.SendError, match=str(status)):
        messaging.send_text("+12015550801", "EPCS Portal: your code is 111111.")


def test_http_backend_unreachable_or_misconfigured_is_a_send_error(app):
    app.config.update(PORTAL_SMS_BACKEND="http", PORTAL_SMS_URL=f"http://127.0.0.1:{free_port()}/api")
    with app.app_context(), pytest.raises(messaging.SendError):
        messaging.send_text("+12015550801", "x")
    app.config.update(PORTAL_SMS_URL="file:///etc/passwd")
    with app.app_context(), pytest.raises(messaging.SendError):
        messaging.send_text("+12015550801", "x")


def test_unknown_backend_is_a_send_error(app):
    app.config.update(PORTAL_SMS_BACKEND="carrier-pigeon")
    with app.app_context(), pytest.raises(messaging.SendError):
        messaging.send_text("+12015550801", "x")
