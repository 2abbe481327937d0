"""One step shared by every page that asks for a second factor outside sign-in — the PIN wizard's
Validate Passcode, Transmit's Sign and Send, EPCS Device Management's Authenticate: for the device
the user chose, whatever its kind,

- a code generator or hardware token: the page asks for the code the device shows;
- a text/call phone: Text me / Call me sends a code (Send it again after 30 seconds), then the
  page asks for it;
- push: Send push notification, the phone approves (the page polls, or Check again), and the
  approval is used once.

Everything is bound to this sign-in session, this device and one purpose ("pin_reset",
"signing", ...): a code sent or an approval given for anything else is refused here. Codes go
through second_factor.check_code (counted as everywhere); sending and approving are challenges.py's.
The page draws the step with `templates/_factor_prompt.html` and keeps its own code field and button.
"""

from dataclasses import dataclass

from flask import flash, request
from flask_login import current_user

from .challenges import (
    Refused,
    code_state,
    consume_approval,
    latest_code,
    latest_push,
    next_send_in,
    push_lifetime,
    push_state,
    send_code,
    session_push_request,
    start_push,
)
from .clock import now
from .extensions import db
from .forms import EmptyForm
from .models import Challenge, Device, LoginSession, User
from .phone_number import mask
from .second_factor import LOCKED, TEXT_KINDS, Outcome, check_code, gate

NOT_APPROVED = {
    "pending": "Your phone has not approved the request yet. Answer it on your phone first.",
    "denied": "The request was denied on your phone. Send a new request if you meant to approve it.",
    "expired": "The request expired before it was approved. Send a new request.",
    "used": "That approval is used up. Send a new request.",
    "approved": "That approval is too old to use now. Send a new request.",
    None: "Send a push notification to your phone and approve it first.",
}
NEW_CODE_SENT = "We sent you a new code. Only the newest code works."


def way_of(device: Device) -> str:
    """How the device gives its factor: "code" (shown on it), "text" (sent to it) or "push"."""
    if device.kind == "push":
        return "push"
    return "text" if device.kind in TEXT_KINDS else "code"


@dataclass(frozen=True)
class PromptView:
    """What `_factor_prompt.html` draws. `challenge` is the code sent or the push request shown;
    `ready` says whether the page's own submit applies now (a code device; a text code sent and
    not used; an approved push request)."""

    way: str
    device: Device
    form: EmptyForm
    challenge: Challenge | None
    state: str | None
    masked: str | None
    wait: int
    ready: bool
    approved_then: str | None


@dataclass(frozen=True)
class Prompt:
    user: User
    ls: LoginSession
    purpose: str
    device: Device

    @classmethod
    def here(cls, purpose: str, device: Device) -> "Prompt":
        """For the signed-in user's own sign-in session."""
        return cls(current_user, current_user.login_session, purpose, device)

    @property
    def way(self) -> str:
        return way_of(self.device)

    # ---- the step's own buttons ----

    def act(self) -> bool:
        """Handle the step's own buttons when one was posted: Text me / Call me / Send it again
        (`send` = sms, voice, again) or Send push notification / Send a new request (`new`). A
        refusal (a limit, a failing sender, a lock) is flashed. True when one was posted: the page
        then redirects to itself."""
        if self.way == "text" and request.form.get("send") in ("sms", "voice", "again"):
            error = self.send(request.form["send"])
            if error:
                flash(error, "error")
            elif request.form["send"] == "again":
                flash(NEW_CODE_SENT, "success")
            return True
        if self.way == "push" and request.form.get("new") is not None:
            _, error = self.push()
            if error:
                flash(error, "error")
            return True
        return False

    def send(self, how: str) -> str | None:
        """Text or call a code to the device ("again": the way the last one went); why not, or None."""
        latest = self.code_sent()
        channel = latest.channel if how == "again" and latest is not None else how
        try:
            send_code(self.user, channel, self.device.phone, self.purpose, self.ls, device=self.device)
        except Refused as exc:
            return exc.message
        return None

    def push(self) -> tuple[Challenge | None, str | None]:
        """Send a push request to the device (a pending one of this step is reused): (request, None)
        or (None, why not)."""
        try:
            return start_push(self.user, self.purpose, self.ls, device=self.device), None
        except Refused as exc:
            return None, exc.message

    # ---- what was sent ----

    def code_sent(self) -> Challenge | None:
        return latest_code(self.ls, purpose=self.purpose, device_ids=[self.device.id])

    def push_request(self) -> Challenge | None:
        return latest_push(self.ls, purpose=self.purpose, device_ids=[self.device.id])

    def posted_request(self) -> Challenge | None:
        """The push request whose id the page posted, when it is this step's; None for anything else."""
        challenge = session_push_request(request.form.get("challenge"), self.ls)
        if challenge is None or challenge.purpose != self.purpose or challenge.device_id != self.device.id:
            return None
        return challenge

    # ---- the check ----

    def verify(self, code: str | None = None) -> Outcome:
        """Check the factor once and use it up: the posted push approval (one conditional UPDATE;
        not counted when missing, since nothing was guessed), or the code (check_code: counted)."""
        if self.way != "push":
            return check_code(self.user, self.device, code or "", self.purpose)
        if gate(self.user).state == "locked":
            db.session.rollback()
            return Outcome(False, LOCKED)
        challenge = self.posted_request()
        if challenge is not None and consume_approval(challenge, self.ls, purpose=self.purpose):
            return Outcome(True)
        return Outcome(False, NOT_APPROVED[push_state(challenge) if challenge is not None else None])

    def repeated(self) -> bool:
        """Was the posted push request already used — a second click of Check again, or the
        page's polling racing the click? The page then shows where the first one went."""
        challenge = self.posted_request()
        return challenge is not None and push_state(challenge) == "used"

    def view(self, *, approved_then: str | None = None) -> PromptView:
        """For the template. A push request is shown while it is live, or when the page comes back
        from Check again (?result=1) to say how it ended; otherwise the Send button. `approved_then`
        replaces the push page's Continue with what to do next (Transmit: the PIN and Sign and Send)."""
        challenge = state = None
        ready = self.way == "code"
        if self.way == "text":
            challenge = self.code_sent()
            state = code_state(challenge) if challenge is not None else None
            if state == "used":
                challenge = state = None
            ready = challenge is not None
        elif self.way == "push":
            challenge = self.push_request()
            state = push_state(challenge) if challenge is not None else None
            stale = state == "approved" and challenge.expires_at <= now() - push_lifetime()  # too old to use
            if stale or (state not in ("pending", "approved") and not request.args.get("result")):
                challenge = state = None
            ready = state == "approved"
        return PromptView(self.way, self.device, EmptyForm(), challenge, state,
                          mask(self.device.phone) if self.way == "text" else None,
                          next_send_in(self.ls) if self.way == "text" else 0, ready, approved_then)
