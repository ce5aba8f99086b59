"""The e-mail sink against a real loopback SMTP server (aiosmtpd) with STARTTLS on a self-signed certificate
made in the test: one digest per run (new, ongoing, recovered), plain text and HTML, kept when it fails."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from backupbridge.alerts import AlertState, alerts_from, reconcile
from backupbridge.health import Assessment, Health, PlanHealth
from backupbridge.sinks import EmailSink, deliver_alerts, deliver_to_sinks, sink_report_lines

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
x509 = pytest.importorskip("cryptography.x509")

from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
PASSWORD = "smtp-pass-77a1c"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        .not_valid_after(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.tls: list[bool] = []
        self.refuse: int | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return f"{self.refuse} try later" if self.refuse < 500 else f"{self.refuse} no"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        self.tls.append(session.ssl is not None)
        return "250 OK"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp(certificate: tuple[Path, Path]) -> Iterator[tuple[int, Inbox, ssl.SSLContext]]:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    inbox = Inbox()
    controller = aiosmtpd_controller.Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_context,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    client_context = ssl.create_default_context(cafile=str(cert))
    try:
        yield controller.port, inbox, client_context
    finally:
        controller.stop()


def sink(port: int, context: ssl.SSLContext | None, *, password: str = PASSWORD, **kwargs: Any) -> EmailSink:
    return EmailSink(
        "noc",
        host="127.0.0.1",
        port=port,
        sender="backups@example.com",
        recipients=["noc@example.com"],
        username="backups",
        password=lambda: password,
        ssl_context=context,
        timeout=5,
        **kwargs,
    )


def plans(*healths: tuple[str, Health]) -> Assessment:
    return Assessment(
        plans=tuple(
            PlanHealth(
                vendor="v", account="a", company_id="c1", device_id=device, plan_id="p1", plan_name="Nightly",
                health=health, reason=f"because <b>{health.value}</b>",
            )
            for device, health in healths
        ),
        devices=(),
    )  # fmt: skip


def run_pass(state: AlertState, assessment: Assessment, sinks: list[Any], at: dt.datetime = NOW) -> Any:
    opened, recovered = reconcile(state, alerts_from(assessment, at))
    return deliver_alerts(state, opened, recovered, [], sinks)


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert text is not None and rich is not None
    return text.get_content(), rich.get_content()


def test_one_digest_per_run_with_new_ongoing_and_recovered(
    tmp_path: Path, smtp: tuple[int, Inbox, ssl.SSLContext]
) -> None:
    port, inbox, context = smtp
    state, mail = AlertState(tmp_path / "s.json"), sink(port, context)
    run_pass(state, plans(("d1", Health.FAILED), ("d2", Health.MISSED)), [mail])
    later = NOW + dt.timedelta(hours=1)
    outcome = run_pass(state, plans(("d1", Health.FAILED), ("d2", Health.OK), ("d3", Health.OVERDUE)), [mail], later)
    assert outcome.sinks.delivered == 2 and state.outbox == []
    first, second = inbox.messages
    assert inbox.tls == [True, True]  # STARTTLS before anything was sent
    assert first["Subject"] == "backupbridge: 2 new, 0 ongoing, 0 recovered backup problems"
    assert second["Subject"] == "backupbridge: 1 new, 1 ongoing, 1 recovered backup problems"
    assert second.get_content_type() == "multipart/alternative"
    text, rich = parts(second)
    new, rest = text.split("Ongoing (1)")
    ongoing, recovered = rest.split("Recovered (1)")
    assert "d3" in new and "d1" in ongoing and "d2" in recovered
    assert "&lt;b&gt;overdue&lt;/b&gt;" in rich and "<b>overdue</b>" not in rich  # vendor text escaped in HTML
    assert 'data-key="v|a|c1|d3|p1|overdue"' in rich
    assert first["Message-ID"] != second["Message-ID"]
    # nothing new and nothing recovered: no digest
    run_pass(state, plans(("d1", Health.FAILED), ("d3", Health.OVERDUE)), [mail], later + dt.timedelta(hours=1))
    assert len(inbox.messages) == 2


def test_a_digest_that_failed_is_sent_again_with_the_same_message_id(
    tmp_path: Path, smtp: tuple[int, Inbox, ssl.SSLContext]
) -> None:
    port, inbox, context = smtp
    inbox.refuse = 451
    state, mail = AlertState(tmp_path / "s.json"), sink(port, context)
    outcome = run_pass(state, plans(("d1", Health.FAILED)), [mail])
    (failure,) = outcome.sinks.failures
    assert not failure.permanent and "451" in failure.error and len(state.outbox) == 1
    inbox.refuse = None
    assert deliver_to_sinks(AlertState.load(state.path), [mail], open_alerts=state.open).delivered == 1
    (message,) = inbox.messages
    assert message["X-Backupbridge-Idempotency-Key"] in message["Message-ID"]


def test_a_wrong_password_is_permanent_and_the_digest_kept(
    tmp_path: Path, smtp: tuple[int, Inbox, ssl.SSLContext]
) -> None:
    port, inbox, context = smtp
    state = AlertState(tmp_path / "s.json")
    outcome = run_pass(state, plans(("d1", Health.FAILED)), [sink(port, context, password="wrong")])
    (failure,) = outcome.sinks.failures
    assert failure.permanent and "refused the login" in failure.error and "wrong" not in failure.error
    (line,) = sink_report_lines(outcome.sinks)
    assert line.startswith("error: alerts: sink noc refused 1 deliveries, kept for the next run")
    assert inbox.messages == [] and len(state.outbox) == 1


def test_an_untrusted_certificate_sends_nothing(tmp_path: Path, smtp: tuple[int, Inbox, ssl.SSLContext]) -> None:
    port, inbox, _ = smtp
    state = AlertState(tmp_path / "s.json")
    outcome = run_pass(state, plans(("d1", Health.FAILED)), [sink(port, ssl.create_default_context())])
    (failure,) = outcome.sinks.failures
    assert "SSLCertVerificationError" in failure.error and inbox.messages == [] and len(state.outbox) == 1


def test_a_server_without_starttls_is_refused_never_plain_text(tmp_path: Path) -> None:
    inbox = Inbox()
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        port = controller.port
        state = AlertState(tmp_path / "s.json")
        outcome = run_pass(state, plans(("d1", Health.FAILED)), [sink(port, None)])
        (failure,) = outcome.sinks.failures
        assert failure.permanent and "does not offer STARTTLS" in failure.error and inbox.messages == []
        # a relay on this host, said so in the configuration: plain delivery
        relay = EmailSink("relay", host="127.0.0.1", port=port, sender="b@example.com", recipients=["n@example.com"],
                          starttls=False)  # fmt: skip
        assert deliver_to_sinks(state, [relay]).delivered == 0  # events queued for "noc" are not the relay's
        outcome = run_pass(AlertState(tmp_path / "r.json"), plans(("d1", Health.FAILED)), [relay])
        assert outcome.sinks.delivered == 1 and len(inbox.messages) == 1 and inbox.tls == [False]
    finally:
        controller.stop()


def test_an_unreachable_server_keeps_the_digest(tmp_path: Path) -> None:
    port = free_port()
    state = AlertState(tmp_path / "s.json")
    outcome = run_pass(state, plans(("d1", Health.FAILED), ("d2", Health.MISSED)), [sink(port, None)])
    assert len(outcome.sinks.failures) == 2 and all("unreachable" in f.error for f in outcome.sinks.failures)
    assert len(state.outbox) == 2 and PASSWORD not in state.path.read_text()
