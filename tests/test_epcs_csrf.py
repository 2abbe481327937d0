"""Every POST of the PIN, EPCS and admin pages needs the CSRF token."""

import pytest


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def test_every_epcs_post_needs_the_csrf_token(app, client):
    rules = [rule for rule in app.url_map.iter_rules()
             if "POST" in rule.methods and rule.endpoint.split(".")[0] in {"pin", "epcs", "admin"}]
    assert len(rules) >= 10
    for rule in rules:
        url = rule.build({arg: 1 for arg in rule.arguments})[1]
        r = client.post(url, data={"pin": "2580", "confirm": "2580", "code": "123456", "device": "1"})
        assert r.status_code == 400, url
        assert "The form could not be used" in r.get_data(as_text=True)
