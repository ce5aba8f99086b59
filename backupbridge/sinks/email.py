"""The e-mail sink: one digest per run (new, ongoing, recovered problems), plain text and HTML, over SMTP with
STARTTLS.

A run with nothing new and nothing recovered sends nothing (ongoing problems ride along with the next change).
The digest's ``Message-ID`` (and ``X-Backupbridge-Idempotency-Key``) is made from the idempotency keys of the
events in it, so a digest sent again after a failed run has the same id (one that newer events joined is a
new digest, holding the old events too). STARTTLS is required unless the
sink says ``starttls = false`` (a relay on the same host): a server that does not offer it is a permanent
failure, never a silent fall-back to plain text. Authentication errors and refused recipients are permanent
(fix the configuration; the events are kept); a server that cannot be reached, a timeout or a 4xx answer is
retried on a later run.
"""

from __future__ import annotations

import hashlib
import html
import smtplib
import ssl
from collections.abc import Callable, Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate

from ..alerts import Alert, Delivery
from ..errors import BackupBridgeError
from ..redaction import Secret
from ..terminal import one_line
from .base import DigestSink, SinkError

__all__ = ["EmailSink", "digest_message"]


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _when(alert: Alert) -> str:
    return alert.first_seen.strftime("%Y-%m-%d %H:%M UTC")


def _line(alert: Alert) -> str:
    bits = [one_line(alert.title), f"[{alert.severity}]", one_line(alert.reason)]
    if alert.consecutive_failures:
        count = alert.consecutive_failures
        bits.append(f"{count} failure{'s' if count > 1 else ''} in a row")
    if alert.last_success_at:
        bits.append(f"last success {alert.last_success_at.strftime('%Y-%m-%d %H:%M')}")
    bits.append(f"since {_when(alert)}")
    return " - ".join(bits)


def _sections(
    entries: Sequence[Delivery], open_alerts: Mapping[str, Alert]
) -> tuple[list[Alert], list[Alert], list[Alert]]:
    new = [e.alert for e in entries if e.event == "problem"]
    recovered = [e.alert for e in entries if e.event == "recovered"]
    new_keys = {a.key for a in new}
    # Ongoing: every problem still open, and those with news this run (``updated``) even if a later pass closed
    # them before this digest went out (a retried digest); the open alert's newest view wins.
    still = {e.alert.key: e.alert for e in entries if e.event == "updated"} | dict(open_alerts)
    ongoing = [a for key, a in sorted(still.items()) if key not in new_keys and key not in {r.key for r in recovered}]
    return new, ongoing, recovered


def digest_message(
    entries: Sequence[Delivery], open_alerts: Mapping[str, Alert], *, sender: str, recipients: Sequence[str]
) -> EmailMessage:
    """The digest for ``entries`` (this run's events) and the problems still open: multipart/alternative."""
    new, ongoing, recovered = _sections(entries, open_alerts)
    digest_id = hashlib.sha256("\n".join(sorted(e.idempotency_key for e in entries)).encode()).hexdigest()[:32]
    message = EmailMessage()
    message["Subject"] = (
        f"backupbridge: {len(new)} new, {len(ongoing)} ongoing, {len(recovered)} recovered backup problems"
    )
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{digest_id}@backupbridge>"
    message["X-Backupbridge-Idempotency-Key"] = digest_id
    text, rich = [], []
    for heading, alerts in (("New", new), ("Ongoing", ongoing), ("Recovered", recovered)):
        text.append(f"{heading} ({len(alerts)})")
        text.extend(f"  - {_line(a)}" + (f"\n    {a.console_url}" if a.console_url else "") for a in alerts)
        text.append("")
        items = "".join(
            f'<li data-key="{html.escape(a.key)}">{html.escape(_line(a))}'
            + (f' <a href="{html.escape(a.console_url)}">console</a>' if a.console_url else "")
            + "</li>"
            for a in alerts
        )
        rich.append(f"<h2>{heading} ({len(alerts)})</h2><ul>{items}</ul>")
    message.set_content("\n".join(text))
    message.add_alternative(
        "<!DOCTYPE html><html><body><h1>Backup problems</h1>" + "".join(rich) + "</body></html>", subtype="html"
    )
    return message


class EmailSink(DigestSink):
    """Send one digest per run to ``recipients`` through ``host:port``.

    Args:
        password: gives the SMTP password when a digest is sent (``None``: no login).
        ssl_context: for STARTTLS (default: the system's trusted CAs, host name checked).
    """

    kind = "email"

    def __init__(
        self,
        label: str,
        *,
        host: str,
        port: int = 587,
        sender: str,
        recipients: Sequence[str],
        username: str | None = None,
        password: Callable[[], str | Secret] | None = None,
        starttls: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(label)
        self.host, self.port, self.sender, self.recipients = host, port, sender, tuple(recipients)
        self.username, self._password, self.starttls = username, password, starttls
        self.ssl_context, self.timeout = ssl_context, timeout

    def send_digest(self, entries: Sequence[Delivery], open_alerts: Mapping[str, Alert]) -> None:
        where = f"{self.host}:{self.port}"
        password: str | None = None
        if self._password is not None:
            try:
                found = self._password()
            except BackupBridgeError as exc:
                raise SinkError(f"email {self.label}: {exc}", permanent=True) from exc
            password = found.reveal() if isinstance(found, Secret) else found
        message = digest_message(entries, open_alerts, sender=self.sender, recipients=self.recipients)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.ehlo()
                if self.starttls:
                    if not smtp.has_extn("starttls"):
                        raise SinkError(
                            f"email {self.label}: {where} does not offer STARTTLS; not sending in plain text "
                            "(set starttls = false only for a relay on this host)",
                            permanent=True,
                        )
                    smtp.starttls(context=self.ssl_context or ssl.create_default_context())
                    smtp.ehlo()
                if self.username is not None and password is not None:
                    smtp.login(self.username, password)
                smtp.send_message(message)
        except SinkError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise SinkError(
                f"email {self.label}: {where} refused the login ({exc.smtp_code}); fix the "
                "username or password, the digest is kept",
                permanent=True,
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise SinkError(
                f"email {self.label}: {where} refused the recipients "
                f"{', '.join(sorted(exc.recipients))}; the digest is kept",
                permanent=True,
            ) from exc
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            raise SinkError(
                f"email {self.label}: {where} answered {exc.smtp_code} {one_line(_text(exc.smtp_error))[:200]}",
                permanent=permanent,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:  # unreachable, dropped, TLS failed, timed out
            raise SinkError(f"email {self.label}: {where} unreachable: {type(exc).__name__}: {exc}") from exc
