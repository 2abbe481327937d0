"""The training sandbox (demo mode only; 404 otherwise): Send to my training phone from the code
generator's Scan step, the user's training phone, the Guided tour (each article beside its
wizard), and for the trainer the Message outbox and Reset demo."""

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select

from .. import articles, demo, otp, sessions, training_phone
from ..devices.steps import SCAN_STEPS
from ..extensions import db
from ..forms import EmptyForm
from ..models import OutboundMessage
from ..phone_number import pretty
from ..qr import qr_svg
from . import bp

OUTBOX_ROWS = 200
TOUR_KEY = "tour"  # the Flask session holds the slug of the article being toured (nothing secret)
# article slug -> (the first step of its wizard, what that wizard is)
TOUR = {
    "000_cee058c69f519638": ("devices.cg_intro", "Set up a code generator"),
    "001_8036a732665b64dc": ("push.intro", "Set up push notifications"),
    "002_9745c0f31f587e7f": ("pin.reset", "Reset EPCS PIN"),
    "003_2da7ee2884482822": ("tokens.index", "EPCS Device Management: add and sync a hardware token"),
    "004_ad4c47d58d18b6c0": ("recovery.start", "Lost your device? (recovery)"),
}

# a new provider's first device may be set up with the training phone
sessions.ENROLLING_ENDPOINTS.update({"training.send_code_generator", "training.my_phone"})


@bp.before_request
def demo_only():
    if not current_app.config["PORTAL_DEMO"]:
        abort(404)


@bp.app_context_processor
def training_links():
    """For the code generator's Scan step: the link that opens the user's training phone. For
    every page during a Guided tour: the article to show beside it."""

    def training_phone_url() -> str:
        phone = training_phone.for_user(current_user)
        return url_for("phone.open_training_phone", token=training_phone.link_token(phone))

    def tour_article():
        slug = session.get(TOUR_KEY)
        if not slug or not current_app.config["PORTAL_DEMO"]:
            return None
        return articles.find(slug)

    return {"training_phone_url": training_phone_url, "tour_article": tour_article}


@bp.route("/phone/code-generator", methods=["POST"])
@login_required
def send_code_generator():
    """Send to my training phone: the code generator being set up (by the code-generator wizard or
    a lost-device recovery: the form names its scan step) becomes an account on the user's
    training phone, which shows its codes (never the seed)."""
    step = request.form.get("step", "devices.cg_scan")
    if step not in SCAN_STEPS:
        abort(404)
    state = SCAN_STEPS[step].at(step)
    if EmptyForm().validate_on_submit():
        phone = training_phone.for_user(current_user)
        label = f"{current_app.config['PORTAL_ISSUER']} ({current_user.username})"
        training_phone.add_account(phone, label, otp.secret_from_base32(state.data["secret"]))
        flash(f"Sent to your training phone {pretty(phone.number)}. Open it to read the code, then Continue.",
              "success")
    return redirect(url_for(step))


@bp.route("/phone")
@login_required
def my_phone():
    """The user's training phone: its number, and its link (and QR code, for a real phone)."""
    phone = training_phone.for_user(current_user)
    link = url_for("phone.open_training_phone", token=training_phone.link_token(phone), _external=True)
    return render_template("training/phone.html", number=pretty(phone.number), link=link,
                           qr=qr_svg(link, "QR code that opens your training phone"))


@bp.route("/outbox")
@login_required
@sessions.roles_required("trainer")
def outbox():
    """Message outbox: every text, call and e-mail the portal sent, newest first."""
    messages = list(db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id.desc()).limit(OUTBOX_ROWS)))
    return render_template("training/outbox.html", messages=messages, limit=OUTBOX_ROWS)


# ---- the Guided tour: each article beside its wizard ----

@bp.route("/tour")
@login_required
def tour():
    """Every article, each with a link that opens its wizard at step 1 with the article beside it."""
    listed = [(article, TOUR.get(article.slug)) for article in articles.all_articles()]
    return render_template("training/tour.html", listed=listed, folder=articles.folder(), form=EmptyForm())


@bp.route("/tour/<slug>", methods=["POST"])
@login_required
def tour_start(slug: str):
    """Open an article's wizard at step 1, with the article's text beside every page until End tour."""
    article = articles.find(slug)
    if article is None or slug not in TOUR:
        abort(404)
    if EmptyForm().validate_on_submit():
        session[TOUR_KEY] = slug
        return redirect(url_for(TOUR[slug][0]))
    return redirect(url_for("training.tour"))


@bp.route("/tour/end", methods=["POST"])
@login_required
def tour_end():
    if EmptyForm().validate_on_submit():
        session.pop(TOUR_KEY, None)
    return redirect(url_for("training.tour"))


# ---- Reset demo (the trainer) ----

@bp.route("/reset", methods=["GET", "POST"])
@login_required
@sessions.roles_required("trainer")
def reset():
    """Reset demo: every table back to what `flask demo` made; everyone (the trainer too) is
    signed out, so the next sign-in starts the demo afresh."""
    form = EmptyForm()
    if form.validate_on_submit():
        demo.reset(current_user)
        logout_user()
        session.clear()
        flash("The demo clinic is reset: every demo user is back as flask demo made them. Sign in again.", "success")
        return redirect(url_for("auth.login"))
    return render_template("training/reset.html", form=form, users=demo.DEMO_USERS, password=demo.demo_password)
