"""Sign-in: password hashes, credentials files, the signed cookie, the login pages."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from parkplan.errors import ParkplanError
from parkplan.identity import credentials, passwords
from parkplan.maps import external_references
from parkplan.web import auth, pages, sessions

ROOT = Path(__file__).resolve().parents[1]


def test_password_hashes_verify_and_never_store_plaintext():
    encoded = passwords.hash_password("correct horse", iterations=1000)
    assert encoded.startswith("pbkdf2_sha256$1000$") and "correct horse" not in encoded
    assert passwords.verify_password("correct horse", encoded)
    assert not passwords.verify_password("wrong horse", encoded)
    assert not passwords.verify_password("x", "plaintext")
    assert passwords.hash_password("a", iterations=1000) != passwords.hash_password(
        "a", iterations=1000
    )


def test_credentials_file_refuses_plaintext(tmp_path):
    bad = tmp_path / "creds.json"
    bad.write_text(json.dumps({"users": {"owner3": {"password": "owner3-demo"}}}))
    with pytest.raises(ParkplanError, match="never stores plaintext"):
        credentials.load_credentials(bad)
    with pytest.raises(ParkplanError, match="cannot read"):
        credentials.load_credentials(tmp_path / "missing.json")


def test_demo_credentials_file_is_reproducible_and_documented():
    shipped = json.loads((ROOT / "data" / "demo-credentials.json").read_text("utf-8"))
    assert shipped == credentials.demo_credentials()
    creds = credentials.load_credentials(ROOT / "data" / "demo-credentials.json")
    assert set(creds.hashes) == set(credentials.DEMO_USERS)
    assert creds.verify("owner3", "owner3-demo")
    assert not creds.verify("owner3", "viewer-demo")
    assert not creds.verify("nobody", "nobody-demo")


def test_signed_in_user_reads_the_signed_cookie_only():
    from tornado.web import create_signed_value

    secret = "s" * 40
    cookie = create_signed_value(secret, "user", "owner3").decode()
    assert sessions.signed_in_user({"user": cookie}, secret) == "owner3"
    assert sessions.signed_in_user({"user": cookie}, "t" * 40) is None
    assert sessions.signed_in_user({"user": "owner3"}, secret) is None
    assert sessions.signed_in_user({"is_guest": "1"}, secret) is None


def test_cookie_secret_from_environment(monkeypatch):
    monkeypatch.delenv("PP_TEST_SECRET", raising=False)
    secret, from_env = sessions.cookie_secret_from_env("PP_TEST_SECRET")
    assert len(secret) >= 32 and not from_env
    monkeypatch.setenv("PP_TEST_SECRET", "short")
    with pytest.raises(ParkplanError, match="too short"):
        sessions.cookie_secret_from_env("PP_TEST_SECRET")
    monkeypatch.setenv("PP_TEST_SECRET", "k" * 40)
    assert sessions.cookie_secret_from_env("PP_TEST_SECRET") == ("k" * 40, True)


def test_login_page_is_self_contained_and_bilingual():
    page = pages.login_page("./login", error=True)
    assert external_references(page) == []
    assert "登录" in page and "Sign in" in page and "login-error" in page
    assert external_references(pages.logout_page("./login")) == []


def test_auth_provider_handlers_verify_hashes():
    creds = credentials.Credentials({"owner3": passwords.hash_password("pw", iterations=1000)})
    provider = auth.auth_provider(creds, "s" * 40)
    handler = provider.login_handler
    assert handler.credentials is creds
    fake = SimpleNamespace(credentials=creds)
    assert handler.check_password(fake, "owner3", "pw")
    assert not handler.check_password(fake, "owner3", "nope")


def test_one_cookie_check_signs_out_a_user_taken_out_of_the_credentials():
    from tornado.web import create_signed_value

    secret = "s" * 40
    cookie = create_signed_value(secret, "user", "owner3").decode()
    creds = credentials.Credentials({"owner3": "x"})
    assert sessions.signed_in_user({"user": cookie}, secret, creds) == "owner3"
    assert sessions.signed_in_user({"user": cookie}, secret, credentials.Credentials({})) is None
    assert sessions.signed_in_user({"user": None}, secret, creds) is None


def test_next_url_stays_on_this_server():
    assert sessions.safe_next_url("/board?task=3") == "/board?task=3"
    assert sessions.safe_next_url("/board", "/parkplan/") == "/parkplan/board"
    assert sessions.safe_next_url("") is None
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        with pytest.raises(ValueError, match="path on this server"):
            sessions.safe_next_url(bad)


def test_the_dummy_hash_is_made_on_first_need_not_at_import():
    import subprocess
    import sys

    code = (
        "import parkplan.identity.credentials as c, parkplan.identity.passwords as p;"
        "assert p.dummy_hash.cache_info().currsize == 0;"
        "assert not c.Credentials({}).verify('nobody', 'x');"
        "assert p.dummy_hash.cache_info().currsize == 1"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
