"""Sending for real, to an SMTP server on loopback started by the test (aiosmtpd)."""
from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import fields

import pytest

pytest.importorskip("aiosmtpd")
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402

from relance import sending  # noqa: E402
from relance.documents.context import letter_context  # noqa: E402
from relance.documents.email_draft import build_email, email_problem  # noqa: E402
from relance.letters import plan_run  # noqa: E402
from relance.model import Smtp  # noqa: E402
from relance.reading import files  # noqa: E402
from relance.sending import send_all, smtp_password  # noqa: E402

from conftest import SAMPLE, SAMPLE_DATE  # noqa: E402

REFUSED = "compta@dupont-fils-nord.example"

# Loopback test server: AUTH without TLS is fine here (aiosmtpd warns about it).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """Keeps what the server accepted; refuses the `refuse` addresses with a 550."""

    def __init__(self, refuse=()):
        self.refuse = set(refuse)
        self.received = []  # (mail_from, rcpt_tos, parsed message)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


class Logins:
    def __init__(self, password):
        self.password = password
        self.seen = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            self.seen.append((auth_data.login.decode(), auth_data.password.decode()))
            if auth_data.password.decode() == self.password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@pytest.fixture
def server():
    started = []

    def start(handler, **kw):
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kw)
        controller.start()
        started.append(controller)
        return port

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture(scope="module")
def messages():
    """(client code, draft) for every sample letter whose client has an e-mail address."""
    ledger = files.load(SAMPLE).ledger
    settings = ledger.settings
    out = []
    for letter in plan_run(ledger, SAMPLE_DATE).letters:
        if not email_problem(letter):
            context = letter_context(letter, settings, SAMPLE_DATE)
            out.append((letter.client.code or letter.client.name,
                        build_email(letter, context, settings, None)))
    return out


@pytest.fixture(autouse=True)
def no_password(monkeypatch):
    monkeypatch.delenv(sending.PASSWORD_ENV, raising=False)


def test_sends_every_message_without_the_draft_header(server, messages):
    handler = Recorder()
    port = server(handler)
    results = send_all(messages, Smtp(host="127.0.0.1", port=port, security="none"), None)
    assert results == {key: "" for key, _ in messages}
    assert len(handler.received) == len(messages)
    for (key, draft), (mail_from, rcpt, msg) in zip(messages, handler.received):
        assert rcpt == [a.addr_spec for a in draft["To"].addresses]
        assert mail_from == draft["From"].addresses[0].addr_spec
        assert msg["X-Unsent"] is None
        assert msg["Subject"] == draft["Subject"]
        assert draft["X-Unsent"] == "1"  # the draft itself is untouched
        received = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
        assert received == draft.get_body(("plain",)).get_content()


def test_one_refused_recipient_does_not_stop_the_others(server, messages):
    handler = Recorder(refuse={REFUSED})
    port = server(handler)
    results = send_all(messages, Smtp(host="127.0.0.1", port=port, security="none"), None)
    refused_key = next(key for key, msg in messages
                       if msg["To"].addresses[0].addr_spec == REFUSED)
    assert "destinataire refusé" in results[refused_key]
    assert REFUSED in results[refused_key] and "550" in results[refused_key]
    assert all(results[key] == "" for key, _ in messages if key != refused_key)
    sent_to = [rcpt[0] for _, rcpt, _ in handler.received]
    assert REFUSED not in sent_to
    assert len(sent_to) == len(messages) - 1


def test_wrong_port_reports_a_connection_error_for_all(messages):
    port = free_port()  # nothing listens there
    results = send_all(messages[:3], Smtp(host="127.0.0.1", port=port, security="none"), None,
                       timeout=5)
    assert set(results) == {key for key, _ in messages[:3]}
    for text in results.values():
        assert "connexion refusée" in text and str(port) in text


def test_starttls_missing_is_reported(server, messages):
    port = server(Recorder())
    results = send_all(messages[:2], Smtp(host="127.0.0.1", port=port, security="starttls"),
                       None, timeout=5)
    assert all("STARTTLS" in text for text in results.values())


def test_login_with_the_password_from_the_environment(server, messages, monkeypatch):
    logins = Logins("s3cret pass")
    handler = Recorder()
    port = server(handler, authenticator=logins, auth_require_tls=False, auth_required=True)
    monkeypatch.setenv(sending.PASSWORD_ENV, "s3cret pass")
    smtp = Smtp(host="127.0.0.1", port=port, security="none", user="compta@garnier.example")
    password = smtp_password(smtp)
    assert password == "s3cret pass"
    results = send_all(messages[:2], smtp, password)
    assert list(results.values()) == ["", ""]
    assert logins.seen[0] == ("compta@garnier.example", "s3cret pass")
    assert len(handler.received) == 2


def test_wrong_password_fails_every_message(server, messages):
    port = server(Recorder(), authenticator=Logins("right"), auth_require_tls=False,
                  auth_required=True)
    smtp = Smtp(host="127.0.0.1", port=port, security="none", user="compta")
    results = send_all(messages[:2], smtp, "wrong")
    assert all("authentification refusée" in text for text in results.values())


def test_user_without_password_sends_nothing(messages):
    smtp = Smtp(host="127.0.0.1", port=free_port(), security="none", user="compta")
    results = send_all(messages[:2], smtp, None)
    assert all(sending.PASSWORD_ENV in text for text in results.values())


def test_not_configured(messages):
    results = send_all(messages[:1], Smtp(), None)
    assert "aucun serveur SMTP" in next(iter(results.values()))


def test_password_sources(monkeypatch):
    import keyring

    calls = []

    def fake_get(service, user):
        calls.append((service, user))
        return "from-keyring"

    monkeypatch.setattr(keyring, "get_password", fake_get)
    smtp = Smtp(host="smtp.example", user="compta@garnier.example")
    assert smtp_password(smtp) == "from-keyring"
    assert calls == [("relance-smtp", "compta@garnier.example")]
    monkeypatch.setenv(sending.PASSWORD_ENV, "from-env")
    assert smtp_password(smtp) == "from-env"  # the environment first


def test_missing_keyring_backend_is_not_a_crash(monkeypatch):
    import keyring
    from keyring.errors import NoKeyringError

    def broken(service, user):
        raise NoKeyringError("no backend")

    monkeypatch.setattr(keyring, "get_password", broken)
    assert smtp_password(Smtp(host="smtp.example", user="compta")) is None


def test_never_from_the_workbook():
    # The settings carry no password at all: nothing read from `Paramètres` can supply one.
    assert not [f.name for f in fields(Smtp) if "pass" in f.name.lower()]


def test_partly_refused_message_is_not_reported_as_sent(server, messages):
    import copy

    handler = Recorder(refuse={"refuse@x.example"})
    port = server(handler)
    key, draft = messages[0]
    two = copy.deepcopy(draft)
    del two["To"]
    two["To"] = "ok@x.example, refuse@x.example"
    results = send_all([(key, two)], Smtp(host="127.0.0.1", port=port, security="none"), None)
    assert results[key].startswith("e-mail envoyé seulement à ok@x.example")
    assert "refuse@x.example" in results[key]
    assert handler.received[0][1] == ["ok@x.example"]
