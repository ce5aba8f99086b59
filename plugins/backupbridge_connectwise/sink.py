"""The ConnectWise PSA sink: one ticket per problem, notes when it is seen again or escalates, closed on
recovery, a new ticket when it comes back after closing; never a duplicate.

Each ticket carries the marker ``[bb:<12 hex of sha256(alert key)>]`` at the end of its summary. Before any
write the sink looks the marker up (``summary like "%bb:<hash>%"`` on the board), and every note it writes
(the initial description included, which ConnectWise keeps as the ticket's first note) names the delivery's
idempotency key: a delivery retried after a lost answer finds what its first attempt wrote and does not
write it again. Writes are never retried by the HTTP layer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from backupbridge import (
    APIError,
    AuthenticationError,
    BackupBridgeError,
    PermissionDeniedError,
    RateLimitedError,
    Secret,
    ServerError,
    TransportError,
)
from backupbridge.plugin import (
    Alert,
    Delivery,
    EventSink,
    Session,
    SinkError,
    SinkSettings,
    SinkType,
)

from .client import API_PATH, SUMMARY_MAX, ConnectWiseAPI, NoteRecord, TicketRecord, connect

__all__ = ["KEYS", "SEVERITIES", "ConnectWiseSink", "build", "marker", "sink_type"]

SEVERITIES = ("low", "medium", "high", "critical")
KEYS = frozenset(
    {
        "site", "company_id", "public_key_env", "public_key_keyring", "private_key_env", "private_key_keyring",
        "client_id", "client_id_env", "board", "status_new", "status_closed", "status_reopened", "priorities",
        "companies", "default_company", "timeout",
    }
)  # fmt: skip
Reader = Callable[[], "str | Secret"]


def marker(key: str) -> str:
    """The marker a ticket carries for an alert key: ``[bb:`` + 12 hex digits of its SHA-256 + ``]``."""
    return f"[bb:{hashlib.sha256(key.encode('utf-8')).hexdigest()[:12]}]"


def _reveal(value: str | Secret) -> Secret:
    return value if isinstance(value, Secret) else Secret(value)


class ConnectWiseSink(EventSink):
    """Delivers alert events as ConnectWise service tickets (see the module docstring)."""

    kind = "connectwise"

    def __init__(
        self,
        label: str,
        *,
        site: str,
        company_id: str,
        public_key: Reader,
        private_key: Reader,
        client_id: Reader,
        board: str,
        status_new: str = "New",
        status_closed: str = "Closed (resolved)",
        status_reopened: str | None = None,
        priorities: Mapping[str, int] | None = None,
        companies: Mapping[str, str] | None = None,
        default_company: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(label)
        self.site = site.rstrip("/")
        self.company_id = company_id
        self._public_key, self._private_key, self._client_id = public_key, private_key, client_id
        self.board = board
        self.status_names = {"new": status_new, "closed": status_closed, "reopened": status_reopened or status_new}
        self.priorities = dict(priorities or {})
        self.companies = dict(companies or {})
        self.default_company = default_company
        self.timeout = timeout
        self.transport = transport
        self.api = ConnectWiseAPI()
        self._board_id: int | None = None
        self._status_ids: dict[str, int] = {}
        self._company_ids: dict[str, int] = {}

    # -- plumbing ------------------------------------------------------------------------------------
    def _session(self) -> Session:
        try:
            public, private, client_id = self._public_key(), self._private_key(), self._client_id()
        except BackupBridgeError as exc:
            raise SinkError(f"connectwise {self.label}: {exc}", permanent=True) from exc
        return connect(
            self.site,
            company_id=self.company_id,
            public_key=_reveal(public),
            private_key=_reveal(private),
            client_id=_reveal(client_id),
            transport=self.transport,
            timeout=self.timeout,
            label=self.label,
        )

    def _refused(self, message: str) -> SinkError:
        return SinkError(f"connectwise {self.label}: {message}", permanent=True)

    def _failed(self, exc: BackupBridgeError) -> SinkError:
        where = f"connectwise {self.label}: {self.site}"
        if isinstance(exc, AuthenticationError | PermissionDeniedError):
            status = exc.status_code
            return SinkError(
                f"{where} refused the credentials (HTTP {status}: {exc.vendor_message or exc}); fix company_id, "
                "the keys, clientId or the API member's security role; the event is kept",
                permanent=True,
                status_code=status,
            )
        if isinstance(exc, RateLimitedError | ServerError):
            return SinkError(
                f"{where} answered HTTP {exc.status_code}; retried on a later run", status_code=exc.status_code
            )
        if isinstance(exc, TransportError):
            return SinkError(f"{where} unreachable: {exc}; retried on a later run")
        if isinstance(exc, APIError):
            return SinkError(f"{where} refused the request: {exc}", permanent=True, status_code=exc.status_code)
        return SinkError(f"{where}: {type(exc).__name__}: {exc}; retried on a later run")

    # -- what the configured names mean ----------------------------------------------------------------
    def _resolve(self, session: Session) -> None:
        if self._board_id is not None:
            return
        boards = [b for b in list(session.iterate(self.api.boards(self.board))) if b.name == self.board]
        if not boards:
            raise self._refused(f"board {self.board!r} does not exist (check the sink's board)")
        board_id = boards[0].id
        statuses = {s.name: s.id for s in list(session.iterate(self.api.board_statuses(board_id)))}
        for role, name in self.status_names.items():
            if name not in statuses:
                known = ", ".join(sorted(statuses))
                raise self._refused(
                    f"status {name!r} (status_{role}) is not a status of board {self.board!r} ({known})"
                )
            self._status_ids[role] = statuses[name]
        self._board_id = board_id

    def _company(self, session: Session, alert: Alert) -> int:
        member = f"{alert.vendor}/{alert.account}/{alert.company_id}"
        identifier = self.companies.get(alert.customer or "") or self.companies.get(member) or self.default_company
        if identifier is None:
            who = alert.customer or member
            raise self._refused(f"{who} is mapped to no ConnectWise company and no default_company is set")
        if identifier not in self._company_ids:
            found = [c for c in list(session.iterate(self.api.companies(identifier)))]
            match = [c for c in found if c.identifier.lower() == identifier.lower()]
            if not match:
                raise self._refused(f"company {identifier!r} does not exist in ConnectWise (check companies)")
            self._company_ids[identifier] = match[0].id
        return self._company_ids[identifier]

    def _tickets(self, session: Session, alert: Alert) -> list[TicketRecord]:
        tag = marker(alert.key)
        conditions = f'summary like "%{tag[1:-1]}%" and board/id={self._board_id}'
        found = list(session.iterate(self.api.tickets(conditions, order_by="id desc")))
        return [t for t in found if t.summary.endswith(tag)]  # the exact marker, whatever "like" matched

    def _noted(self, session: Session, ticket: TicketRecord, entry: Delivery) -> bool:
        notes: list[NoteRecord] = list(session.iterate(self.api.ticket_notes(ticket.id)))
        return any(entry.idempotency_key in (note.text or "") for note in notes)

    # -- what each event does ----------------------------------------------------------------------------
    def summary(self, alert: Alert) -> str:
        """``who / device (plan): backup <problem> [bb:...]`` in ConnectWise's 100 characters: the plan goes
        first when it does not fit, then the names are cut; the problem and the marker always stay."""
        tag = " " + marker(alert.key)
        who = " ".join((alert.customer or alert.company_name or alert.company_id or "(no company)").split())
        what = " ".join((alert.device_name or alert.device_id or "(no device)").split())
        plan = " ".join((alert.plan_name or alert.plan_id or "").split())
        problem = f": backup {alert.problem.value.replace('_', ' ')}"
        room = SUMMARY_MAX - len(tag) - len(problem)
        head = f"{who} / {what}"
        if plan and len(head) + len(plan) + 3 <= room:
            head = f"{head} ({plan})"
        elif len(head) > room:
            head = head[: room - 3].rstrip() + "..."
        return head + problem + tag

    def description(self, entry: Delivery) -> str:
        alert = entry.alert
        lines = [
            f"{alert.title}",
            "",
            f"Problem: {alert.problem.value} ({alert.severity})",
            f"Reason: {alert.reason}",
        ]
        rows = [
            ("Vendor's reason", alert.vendor_reason),
            ("Customer", alert.customer),
            ("Vendor / account", f"{alert.vendor} / {alert.account}"),
            ("Company", f"{alert.company_name or '?'} (id {alert.company_id})" if alert.company_id else None),
            ("Device", f"{alert.device_name or '?'} (id {alert.device_id}, {alert.device_kind.value})"
             if alert.device_id else None),
            ("Plan", f"{alert.plan_name or '?'} (id {alert.plan_id})" if alert.plan_id else None),
            ("Since", alert.first_seen.isoformat()),
            ("Last seen", alert.last_seen.isoformat()),
            ("Last success", alert.last_success_at.isoformat() if alert.last_success_at else "none known"),
            ("Last run", alert.last_run_at.isoformat() if alert.last_run_at else None),
            ("Failures in a row", str(alert.consecutive_failures) if alert.consecutive_failures else None),
            ("Failing since", alert.failing_since.isoformat() if alert.failing_since else None),
            ("Console", alert.console_url),
        ]  # fmt: skip
        lines += [f"{name}: {value}" for name, value in rows if value]
        lines += ["", f"Alert key: {alert.key}", f"backupbridge delivery {entry.idempotency_key}"]
        return "\n".join(lines)

    def send_event(self, entry: Delivery) -> None:
        session = self._session()
        try:
            self._resolve(session)
            if entry.event in ("problem", "updated"):  # updated: news on an open problem, a note (or a ticket)
                self._problem(session, entry)
            elif entry.event == "recovered":
                self._recovered(session, entry)
            else:
                raise SinkError(f"ConnectWise {self.label}: unknown event {entry.event!r}", permanent=True)
        except SinkError:
            raise
        except BackupBridgeError as exc:
            raise self._failed(exc) from exc
        finally:
            session.close()

    def _problem(self, session: Session, entry: Delivery) -> None:
        alert = entry.alert
        tickets = self._tickets(session, alert)
        current = next((t for t in tickets if not t.closedFlag), None)
        if current is not None:
            if self._noted(session, current, entry):
                return  # this delivery landed before (its answer was lost)
            note = f"Seen again: {alert.reason}\nLast seen {alert.last_seen.isoformat()}"
            if entry.event == "updated" and alert.consecutive_failures:
                count = alert.consecutive_failures
                note = (
                    f"Failed again ({count} failure{'s' if count > 1 else ''} in a row): {alert.reason}"
                    f"\nLast seen {alert.last_seen.isoformat()}"
                )
            wanted = self.priorities.get(alert.severity)
            ranks = {pid: SEVERITIES.index(sev) for sev, pid in self.priorities.items() if sev in SEVERITIES}
            held = current.priority.id if current.priority else None
            if wanted is not None and ranks.get(wanted, -1) > ranks.get(held or -1, -1):
                note = f"Escalated to {alert.severity}: {alert.reason}\nLast seen {alert.last_seen.isoformat()}"
                session.run(
                    self.api.patch_ticket(current.id, [{"op": "replace", "path": "priority", "value": {"id": wanted}}])
                )
            session.run(self.api.add_note(current.id, f"{note}\nbackupbridge delivery {entry.idempotency_key}"))
            return
        earlier = next((t for t in tickets if t.closedFlag), None)
        description = self.description(entry)
        if earlier is not None:
            description += f"\nCame back after ticket #{earlier.id} was closed."
        ticket: dict[str, Any] = {
            "summary": self.summary(alert),
            "board": {"id": self._board_id},
            "status": {"id": self._status_ids["reopened" if earlier is not None else "new"]},
            "company": {"id": self._company(session, alert)},
            "initialDescription": description,
        }
        if alert.severity in self.priorities:
            ticket["priority"] = {"id": self.priorities[alert.severity]}
        session.run(self.api.create_ticket(ticket))

    def _recovered(self, session: Session, entry: Delivery) -> None:
        alert = entry.alert
        current = next((t for t in self._tickets(session, alert) if not t.closedFlag), None)
        if current is None:
            return  # closed already (by a technician, or by this delivery before its answer was lost)
        if not self._noted(session, current, entry):
            text = f"Recovered: seen healthy at {alert.last_seen.isoformat()}."
            text += f"\nbackupbridge delivery {entry.idempotency_key}"
            session.run(self.api.add_note(current.id, text, resolution=True))
        status = {"id": self._status_ids["closed"]}
        session.run(self.api.patch_ticket(current.id, [{"op": "replace", "path": "status", "value": status}]))


def _site(settings: SinkSettings) -> str:
    site = settings.string("site")
    if "://" not in site:
        site = "https://" + site
    scheme, _, rest = site.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0].strip("[]")
    if "@" in rest.split("/", 1)[0]:
        raise settings.error("site must not hold a user or password (use public_key_env / private_key_env)")
    if scheme == "http" and host not in ("127.0.0.1", "::1", "localhost"):
        raise settings.error("site must be https:// (http:// only for loopback)")
    if scheme not in ("http", "https") or not host:
        raise settings.error('site must be like "https://api-na.myconnectwise.net"')
    return site.rstrip("/").removesuffix(API_PATH)


def build(settings: SinkSettings) -> ConnectWiseSink:
    """A ``ConnectWiseSink`` from its ``[[sinks]]`` table (docs/alerts.md, "ConnectWise PSA")."""
    table = settings.table
    priorities = table.get("priorities", {})
    if not isinstance(priorities, Mapping) or not all(
        k in SEVERITIES and isinstance(v, int) and not isinstance(v, bool) and v > 0 for k, v in priorities.items()
    ):
        raise settings.error("priorities must map critical/high/medium/low to ConnectWise priority ids")
    companies = table.get("companies", {})
    if not isinstance(companies, Mapping) or not all(isinstance(v, str) and v for v in companies.values()):
        raise settings.error('companies must map customers to company identifiers, like { acme = "AcmeCorp" }')
    if "client_id" in table and "client_id_env" in table:
        raise settings.error("give client_id or client_id_env, not both")
    if "client_id" in table:
        value = settings.string("client_id")

        def client_id() -> str | Secret:
            return value
    else:
        reader = settings.secret("client_id")
        assert reader is not None
        client_id = reader
    public, private = settings.secret("public_key"), settings.secret("private_key")
    assert public is not None and private is not None
    reopened = table.get("status_reopened")
    return ConnectWiseSink(
        settings.label,
        site=_site(settings),
        company_id=settings.string("company_id"),
        public_key=public,
        private_key=private,
        client_id=client_id,
        board=settings.string("board"),
        status_new=settings.string("status_new", "New"),
        status_closed=settings.string("status_closed", "Closed (resolved)"),
        status_reopened=settings.string("status_reopened") if reopened is not None else None,
        priorities=dict(priorities),
        companies=dict(companies),
        default_company=settings.string("default_company") if "default_company" in table else None,
        timeout=settings.number("timeout", 30),
    )


sink_type = SinkType(name="connectwise", keys=KEYS, build=build)
