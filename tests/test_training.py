"""The training phone and the message outbox: demo mode only; the phone shows codes computed on the
server, never the seed; its Messages tab shows the texts and calls for its number."""

import re

import pytest

from tests.conftest import read_secret_key, setup_code_generator, sign_in
from tests.otp_reference import totp_now

DEMO = {"PORTAL_DEMO": True}


def phone_link(page: str) -> str:
    match = re.search(r'href="(?:http://localhost)?(/phone/training/[^"]+)"', page)
    assert match, page
    return match.group(1)


def codes_on(phone) -> list[tuple[str, str]]:
    page = phone.get("/phone/codes").get_data(as_text=True)
    return [(label, code.replace(" ", "")) for label, code in re.findall(
        r'class="code-entry__label">([^<]+)</span>\s*<span class="code-entry__code"[^>]*>(\d{3} \d{3})<', page)]


@pytest.mark.parametrize("path", ["/training/outbox", "/training/phone", "/phone/codes", "/phone/messages",
                                  "/phone/training/1.abc"])
def test_nothing_of_it_exists_outside_demo_mode(client, provider, path):
    assert client.get(path).status_code == 404


def test_no_training_button_outside_demo_mode(client, make_user):
    make_user("dr.new")
    sign_in(client, "dr.new")
    client.post("/security/code-generator")
    page = client.get("/security/code-generator/scan").get_data(as_text=True)
    assert "Send to my training phone" not in page and "Training phone" not in page
    assert client.post("/training/phone/code-generator").status_code == 404


@pytest.mark.parametrize("app_config", [DEMO])
def test_send_to_my_training_phone_and_read_the_code_there(app, client, make_user, clock):
    make_user("dr.new")
    sign_in(client, "dr.new")  # a new provider: setting up a first device is all they can do
    client.post("/security/code-generator")
    scan = client.get("/security/code-generator/scan").get_data(as_text=True)
    assert "Send to my training phone" in scan
    secret = read_secret_key(scan)
    r = client.post("/training/phone/code-generator")
    assert r.headers["Location"].endswith("/security/code-generator/scan")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Sent to your training phone" in page
    client.post("/training/phone/code-generator")  # twice: still one account
    phone = app.test_client()
    assert phone.get(phone_link(page)).headers["Location"].endswith("/phone/codes")
    codes_page = phone.get("/phone/codes").get_data(as_text=True)
    assert secret not in codes_page  # the seed never reaches the phone
    [(label, code)] = codes_on(phone)
    assert label == "EPCS Portal (dr.new)"
    assert code == totp_now(secret, clock.now)
    assert "s left" in codes_page and "data-countdown" in codes_page
    client.post("/security/code-generator/scan")
    r = client.post("/security/code-generator/confirm", data={"code": code})
    assert r.headers["Location"].endswith("/security/code-generator/name")
    clock.advance(30)
    [(_, later)] = codes_on(phone)
    assert later == totp_now(secret, clock.now)


@pytest.mark.parametrize("app_config", [DEMO])
def test_the_same_browser_may_open_the_training_phone(client, make_user):
    make_user("dr.new")
    sign_in(client, "dr.new")
    client.post("/security/code-generator")
    client.post("/training/phone/code-generator")
    page = client.get("/security/code-generator/scan").get_data(as_text=True)
    assert client.get(phone_link(page)).headers["Location"].endswith("/phone/codes")
    assert len(codes_on(client)) == 1


@pytest.mark.parametrize("app_config", [DEMO])
def test_a_tampered_training_link_is_404(app, client, provider):
    link = phone_link(client.get("/training/phone").get_data(as_text=True))
    phone_id, mac = link.rsplit("/", 1)[1].split(".")
    assert app.test_client().get(f"/phone/training/{phone_id}.{'0' * len(mac)}").status_code == 404
    assert app.test_client().get(f"/phone/training/{int(phone_id) + 1}.{mac}").status_code == 404
    assert app.test_client().get("/phone/training/garbage").status_code == 404


@pytest.mark.parametrize("app_config", [DEMO])
def test_messages_tab_shows_the_texts_and_calls_for_its_number(app, client, provider, make_user, clock):
    page = client.get("/security/text").get_data(as_text=True)
    number = re.search(r"training phone's number is <strong>([^<]+)</strong>", page).group(1)
    assert re.fullmatch(r"\(\d{3}\) 555-01\d\d", number)
    client.post("/security/text", data={"phone": number, "text_me": "Text me"})
    phone = app.test_client()
    phone.get(phone_link(client.get("/training/phone").get_data(as_text=True)))
    messages = phone.get("/phone/messages").get_data(as_text=True)
    code = re.search(r"your code is (\d{6})", messages).group(1)
    assert client.post("/security/text/confirm", data={"code": code}).headers["Location"].endswith("/name")
    # another trainee's phone has its own number and sees none of it
    make_user("dr.other")
    other = app.test_client()
    sign_in(other, "dr.other")
    their_page = other.get("/training/phone").get_data(as_text=True)
    assert number not in their_page
    their_phone = app.test_client()
    their_phone.get(phone_link(their_page))
    assert code not in their_phone.get("/phone/messages").get_data(as_text=True)


@pytest.mark.parametrize("app_config", [DEMO])
def test_message_outbox_is_the_trainers(app, client, provider, make_user, clock):
    client.post("/security/text", data={"phone": "(201) 555-0801", "text_me": "Text me"})
    assert client.get("/training/outbox").status_code == 403
    make_user("trainer", role="trainer")
    trainer = app.test_client()
    sign_in(trainer, "trainer")
    setup_code_generator(trainer, clock, "Trainer phone")  # trainers sign in with a second factor too
    page = trainer.get("/training/outbox").get_data(as_text=True)
    assert "Message outbox" in page and "+12015550801" in page and "your code is" in page
    assert "Message outbox" in trainer.get("/training/phone").get_data(as_text=True)  # in the menu
