"""Server-side wizard state and the step list the stepper macro draws. One helper for every wizard.

A wizard's state is one wizard_state row per sign-in session and wizard: the step reached and a
sealed payload (a pending seed never leaves the server). Each step asks `at(step)` for the state;
a step that is not reachable yet, an expired or missing state, or a sealed step already passed all
go through one place, `WizardDetour`, which flashes and redirects to where the user is.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import delete, select, update

from .clock import now
from .extensions import begin_write, db
from .models import WizardState


@dataclass(frozen=True)
class Step:
    endpoint: str
    title: str
    sealed: bool = False  # once passed, the page shows nothing again (the QR / secret key step)
    optional: str | None = None  # payload flag: the step exists only when payload[flag] is true


class WizardDetour(Exception):
    def __init__(self, url: str, message: str):
        super().__init__(message)
        self.url = url
        self.message = message


@dataclass
class State:
    wizard: "Wizard"
    row: WizardState
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def steps(self) -> list[Step]:
        return self.wizard.steps_for(self.data)

    def index(self, endpoint: str) -> int:
        return [s.endpoint for s in self.steps].index(endpoint)

    def done(self, endpoint: str, **values: Any) -> str:
        """Record this step as passed (with its values) and return the next step's URL."""
        i = self.index(endpoint)
        self.data.setdefault("steps", {})[endpoint] = values
        self.row.step = max(self.row.step, i + 1)
        self.save()
        return url_for(self.steps[i + 1].endpoint)

    def value(self, endpoint: str, key: str, default: Any = None) -> Any:
        return self.data.get("steps", {}).get(endpoint, {}).get(key, default)

    def save(self) -> None:
        self.row.payload = current_app.extensions["vault"].seal_json(self.data)
        db.session.commit()

    def progress(self, endpoint: str) -> dict:
        steps = self.steps
        i = [s.endpoint for s in steps].index(endpoint)
        return {"number": i + 1, "total": len(steps), "title": steps[i].title,
                "titles": [s.title for s in steps]}


class Wizard:
    def __init__(self, name: str, steps: list[Step], *, start_over: str,
                 not_started: str = "That set-up has expired or was not started. Please start again."):
        self.name = name
        self._steps = steps
        self.start_over = start_over  # endpoint of step 1, where a lost or expired wizard restarts
        self.not_started = not_started  # the message on the way back there

    def steps_for(self, data: dict) -> list[Step]:
        return [s for s in self._steps if s.optional is None or data.get(s.optional)]

    def preview(self, endpoint: str, **flags: Any) -> dict:
        """The stepper for a step before any state exists (the first page)."""
        steps = self.steps_for(flags)
        i = [s.endpoint for s in steps].index(endpoint)
        return {"number": i + 1, "total": len(steps), "title": steps[i].title,
                "titles": [s.title for s in steps]}

    def _row(self) -> WizardState | None:
        return db.session.scalar(select(WizardState).where(
            WizardState.login_session_id == current_user.login_session.id, WizardState.wizard == self.name))

    def begin(self, **data: Any) -> State:
        """Start afresh (a previous run of this wizard in this session is discarded); step 1 is passed."""
        self.discard()
        row = WizardState(login_session_id=current_user.login_session.id, user_id=current_user.id,
                          wizard=self.name, step=1, payload="",
                          expires_at=now() + timedelta(minutes=current_app.config["PORTAL_WIZARD_MINUTES"]))
        db.session.add(row)
        state = State(self, row, dict(data))
        state.save()
        return state

    def current(self) -> State | None:
        row = self._row()
        if row is None:
            return None
        if row.expires_at < now():
            begin_write()
            self.discard()
            return None
        return State(self, row, current_app.extensions["vault"].open_json(row.payload))

    def at(self, endpoint: str) -> State:
        """The state for a visit to `endpoint`, or a detour. A GET of an earlier step goes back
        to it and wipes what later steps recorded."""
        state = self.current()
        if state is None:
            raise WizardDetour(url_for(self.start_over), self.not_started)
        if "finished" in state.data:
            raise WizardDetour(state.data["finished"], "This is already done.")
        steps = state.steps
        names = [s.endpoint for s in steps]
        if endpoint not in names:
            raise WizardDetour(url_for(names[min(state.row.step, len(names) - 1)]), "That step does not apply here.")
        i = names.index(endpoint)
        reached = min(state.row.step, len(steps) - 1)
        if i > reached:
            raise WizardDetour(url_for(names[reached]), "Please finish this step first.")
        if i < reached:
            if steps[i].sealed:
                raise WizardDetour(url_for(names[reached]),
                                   "For your security the secret key is no longer shown. To scan again, start over.")
            if request.method == "GET":
                begin_write()
                later = {s.endpoint for s in steps[i + 1:]}
                state.data["steps"] = {k: v for k, v in state.data.get("steps", {}).items() if k not in later}
                state.row.step = i
                state.save()
        return state

    def claim(self, state: State) -> bool:
        """Take the last step's submit for this request alone. One conditional UPDATE moves the
        step past the last one, so of two clicks (or two workers) exactly one goes on; the other
        gets False and must not act. The winner calls `finish` or, when its checks fail, `release`."""
        past_last = len(state.steps)
        won = db.session.execute(
            update(WizardState).where(WizardState.id == state.row.id, WizardState.step < past_last)
            .values(step=past_last).execution_options(synchronize_session=False)).rowcount == 1
        db.session.commit()
        return won

    def release(self, state: State) -> None:
        """Give back a claim whose checks failed, so the user can correct the form and try again."""
        past_last = len(state.steps)
        db.session.execute(
            update(WizardState).where(WizardState.id == state.row.id, WizardState.step == past_last)
            .values(step=past_last - 1).execution_options(synchronize_session=False))
        db.session.commit()

    def finish(self, state: State, result_url: str) -> None:
        """Wipe the payload (a seed goes with it) but remember where the result is, so a second
        click of the last button lands on the result instead of an error."""
        state.data = {"finished": result_url}
        state.save()

    def discard(self) -> None:
        if current_user.is_authenticated and current_user.login_session is not None:
            db.session.execute(delete(WizardState).where(
                WizardState.login_session_id == current_user.login_session.id, WizardState.wizard == self.name))
            db.session.commit()


def init_app(app) -> None:
    @app.errorhandler(WizardDetour)
    def detour(exc: WizardDetour):
        flash(exc.message, "info")
        return redirect(exc.url)
