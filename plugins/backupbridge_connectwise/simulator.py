"""An offline ConnectWise PSA (Manage) of exactly the endpoints the ticket sink uses.

It checks Basic auth (``company+publicKey:privateKey``) and the ``clientId`` header on every request, answers
errors in ConnectWise's body shape (``code``, ``message``, ``errors: [{code, message, resource, field}]``),
validates tickets (summary required and at most 100 characters, board, status, company and priority known),
pages lists with ``page``/``pageSize`` and a ``Link`` header, and reads the ``conditions`` the client sends
(``name="..."``, ``identifier="..."``, ``summary like "%...%"``, ``closedFlag=true|false``, ``board/id=N``,
joined with ``and``). ``refuse_next(status)`` answers the next requests with 401, 403, 429 or 500.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

import httpx

from backupbridge.plugin import (
    SimRequest,
    SimulatorBase,
    SimulatorFault,
    SimulatorOptions,
    json_response,
    plain_number,
)

from .client import API_PATH, SUMMARY_MAX

__all__ = ["BOARDS", "PRIORITIES", "CWFault", "ConnectWiseSimulator"]

BOARDS = {
    1: ("Backups", [("New", False), ("In Progress", False), ("Re-opened", False), ("Closed (resolved)", True)]),
    2: ("Help Desk", [("New", False), ("Waiting on client", False), (">Closed", True)]),
}
PRIORITIES = {
    1: "Priority 1 - Emergency Response",
    2: "Priority 2 - Quick Response",
    3: "Priority 3 - Normal Response",
    4: "Priority 4 - Scheduled Maintenance",
}
_CONDITION = re.compile(
    r'^\s*(?P<field>[A-Za-z/]+)\s*(?P<op>=|like)\s*(?:"(?P<text>[^"]*)"|(?P<bare>true|false|\d+))\s*$', re.IGNORECASE
)


class CWFault(SimulatorFault):
    """ConnectWise's error reply: ``{"code", "message", "errors"}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: Iterable[dict[str, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.errors = list(errors)
        self.headers = headers or {}

    def response(self) -> httpx.Response:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return json_response(self.status, body, self.headers)


def _invalid(resource: str, field: str, code: str, message: str) -> CWFault:
    error = {"code": code, "message": message, "resource": resource, "field": field}
    return CWFault(400, "InvalidObject", f"{resource} object is invalid", [error])


_REFUSALS = {
    401: ("Unauthorized", "Authentication failed: check the company, public key and private key"),
    403: ("Forbidden", "You do not have access to this resource (security role)"),
    429: ("TooManyRequests", "Too many requests, try again later"),
    500: ("ServerError", "An unexpected error occurred"),
}


class ConnectWiseSimulator(SimulatorBase):
    """ConnectWise Manage's service tickets, notes, boards and companies, in memory."""

    base_path = API_PATH
    fault_type = CWFault
    secret_credentials = ("public_key", "private_key")

    def __init__(self, options: SimulatorOptions | None = None) -> None:
        super().__init__(options)
        self.credentials = {
            "company_id": "bbsandbox",
            "public_key": "cw-pub-" + self.seeder.token(12),
            "private_key": "cw-priv-" + self.seeder.token(16),
            "client_id": "00000000-0000-4000-8000-" + self.seeder.token(12, "0123456789abcdef"),
        }
        self.boards: dict[int, dict[str, Any]] = {}
        self.statuses: dict[int, dict[str, Any]] = {}
        status_id = 1
        for board_id, (name, statuses) in BOARDS.items():
            self.boards[board_id] = {"id": board_id, "name": name, "inactiveFlag": False, "_info": {}}
            for status_name, closed in statuses:
                self.statuses[status_id] = {
                    "id": status_id,
                    "name": status_name,
                    "board": {"id": board_id, "name": name},
                    "closedStatus": closed,
                    "inactive": False,
                    "defaultFlag": status_name == "New",
                }
                status_id += 1
        self.companies: dict[int, dict[str, Any]] = {
            250: {"id": 250, "identifier": "CatchAll", "name": "Catch-all (backups)"},
        }
        for index in range(max(3, self.options.size // 10)):
            name = self.seeder.company_name(index)
            identifier = re.sub(r"[^A-Za-z0-9]", "", name)[:25] or f"Company{index}"
            self.companies[300 + index] = {"id": 300 + index, "identifier": identifier, "name": name}
        self.tickets: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        self._refusals: list[int] = []
        self._next_ticket, self._next_note = 1001, 1
        route = self.router.add
        route("GET", "/service/boards", self._boards)
        route("GET", "/service/boards/{board_id}/statuses", self._board_statuses)
        route("GET", "/company/companies", self._companies)
        route("GET", "/service/tickets", self._tickets)
        route("POST", "/service/tickets", self._create_ticket)
        route("PATCH", "/service/tickets/{ticket_id}", self._patch_ticket)
        route("GET", "/service/tickets/{ticket_id}/notes", self._ticket_notes)
        route("POST", "/service/tickets/{ticket_id}/notes", self._add_note)

    # -- knobs ---------------------------------------------------------------------------------------
    def refuse_next(self, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` (401, 403, 429 or 500), as ConnectWise would."""
        if status not in _REFUSALS:
            raise ValueError(f"refuse_next takes {sorted(_REFUSALS)}")
        self._refusals.extend([status] * times)

    # -- the base's hooks ----------------------------------------------------------------------------
    def authenticate(self, request: SimRequest) -> None:
        self.requests.append((request.method, request.path))
        if self._refusals:
            status = self._refusals.pop(0)
            code, message = _REFUSALS[status]
            raise CWFault(status, code, message, headers={"Retry-After": "1"} if status == 429 else None)
        creds = self.credentials
        user = f"{creds['company_id']}+{creds['public_key']}:{creds['private_key']}"
        expected = "Basic " + base64.b64encode(user.encode()).decode()
        if request.headers.get("authorization") != expected:
            raise CWFault(401, "Unauthorized", "Authentication failed: check the company, public key and private key")
        if request.headers.get("clientid") != creds["client_id"]:
            raise CWFault(401, "InvalidClientId", "A valid clientId header is required (developer.connectwise.com)")

    def no_route(self, request: SimRequest, path_known: bool) -> Exception:
        if path_known:
            return CWFault(405, "MethodNotAllowed", f"{request.method} is not allowed on {request.path}")
        return CWFault(404, "NotFound", f"no resource at {request.path}")

    def device_ids(self) -> set[str]:
        return set()  # a PSA holds no backup devices

    # -- helpers -------------------------------------------------------------------------------------
    def _stamp(self) -> str:
        return self.now().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _page(self, request: SimRequest, records: list[dict[str, Any]]) -> httpx.Response:
        page_text, size_text = request.query.get("page", "1"), request.query.get("pageSize", "25")
        if not plain_number(page_text) or int(page_text) < 1:
            raise CWFault(400, "InvalidObject", "page must be a positive number")
        if not plain_number(size_text) or not 0 < int(size_text) <= 1000:
            raise CWFault(400, "InvalidObject", "pageSize must be from 1 to 1000")
        page, size = int(page_text), int(size_text)
        chunk = records[(page - 1) * size : page * size]
        url = f"{API_PATH}{request.path}"
        links = []
        if page * size < len(records):
            links.append(f'<{url}?page={page + 1}&pageSize={size}>; rel="next"')
        if len(records) > size:
            last = (len(records) + size - 1) // size
            links.append(f'<{url}?page={last}&pageSize={size}>; rel="last"')
        return json_response(200, chunk, {"Link": ", ".join(links)} if links else None)

    def _filtered(self, request: SimRequest, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        found = list(records)
        conditions = request.query.get("conditions")
        if conditions:
            for part in re.split(r"\s+and\s+", conditions, flags=re.IGNORECASE):
                found = self._match(part, found)
        order = request.query.get("orderBy", "id asc").strip().lower()
        if order not in ("id asc", "id desc", "id"):
            raise CWFault(400, "InvalidCondition", f"orderBy {order!r} is not supported here")
        return sorted(found, key=lambda r: int(r["id"]), reverse=order == "id desc")

    def _match(self, condition: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        parsed = _CONDITION.match(condition)
        if parsed is None:
            raise CWFault(400, "InvalidCondition", f"cannot read the condition {condition!r}")
        field, op, text, bare = parsed["field"], parsed["op"].lower(), parsed["text"], parsed["bare"]

        def value_of(record: dict[str, Any]) -> Any:
            value: Any = record
            for step in field.split("/"):
                value = value.get(step) if isinstance(value, dict) else None
            return value

        if op == "like":
            if text is None:
                raise CWFault(400, "InvalidCondition", "like takes a quoted string")
            pattern = re.compile("^" + ".*".join(map(re.escape, text.split("%"))) + "$", re.IGNORECASE | re.DOTALL)
            return [r for r in records if isinstance(value_of(r), str) and pattern.match(value_of(r))]
        if text is not None:
            return [r for r in records if str(value_of(r)).lower() == text.lower()]
        wanted: Any = {"true": True, "false": False}.get(bare.lower(), None)
        if wanted is None:
            wanted = int(bare)
        return [r for r in records if value_of(r) == wanted]

    def _ticket(self, request: SimRequest) -> dict[str, Any]:
        raw = request.path_params["ticket_id"]
        ticket = self.tickets.get(int(raw)) if plain_number(raw) else None
        if ticket is None:
            raise CWFault(404, "NotFound", f"Ticket {raw} not found")
        return ticket

    def _reference(self, kind: str, value: Any) -> dict[str, Any]:
        known = {"board": self.boards, "status": self.statuses, "company": self.companies}.get(kind)
        table: dict[int, Any] = known if known is not None else {k: {"id": k, "name": v} for k, v in PRIORITIES.items()}
        ref_id = value.get("id") if isinstance(value, dict) else None
        if not isinstance(ref_id, int) or ref_id not in table:
            raise _invalid("ticket", kind, "InvalidReference", f"{kind} {value!r} was not found")
        record = table[ref_id]
        where = {"board": "service/boards", "status": "service/statuses", "company": "company/companies"}
        href = f"{API_PATH}/{where.get(kind, 'service/priorities')}/{ref_id}"
        ref = {"id": ref_id, "name": record["name"], "_info": {f"{kind}_href": href}}
        if kind == "company":
            ref["identifier"] = record["identifier"]
        return ref

    # -- handlers ------------------------------------------------------------------------------------
    def _boards(self, request: SimRequest) -> httpx.Response:
        return self._page(request, self._filtered(request, self.boards.values()))

    def _board_statuses(self, request: SimRequest) -> httpx.Response:
        raw = request.path_params["board_id"]
        if not plain_number(raw) or int(raw) not in self.boards:
            raise CWFault(404, "NotFound", f"Board {raw} not found")
        mine = [s for s in self.statuses.values() if s["board"]["id"] == int(raw)]
        return self._page(request, self._filtered(request, mine))

    def _companies(self, request: SimRequest) -> httpx.Response:
        return self._page(request, self._filtered(request, self.companies.values()))

    def _tickets(self, request: SimRequest) -> httpx.Response:
        return self._page(request, self._filtered(request, self.tickets.values()))

    def _ticket_notes(self, request: SimRequest) -> httpx.Response:
        ticket = self._ticket(request)
        return self._page(request, self._filtered(request, self.notes[ticket["id"]]))

    def _create_ticket(self, request: SimRequest) -> httpx.Response:
        try:
            body = request.json()
        except ValueError:
            raise CWFault(400, "InvalidObject", "the body is not JSON") from None
        if not isinstance(body, dict):
            raise CWFault(400, "InvalidObject", "ticket object is invalid")
        summary = body.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            raise _invalid("ticket", "summary", "NullValue", "The summary field is required.")
        if len(summary) > SUMMARY_MAX:
            raise _invalid("ticket", "summary", "MaxLength", f"summary is limited to {SUMMARY_MAX} characters")
        if "company" not in body:
            raise _invalid("ticket", "company", "NullValue", "The company field is required.")
        board = self._reference("board", body.get("board"))
        status = body.get("status")
        if status is None:
            default = next(s for s in self.statuses.values() if s["board"]["id"] == board["id"] and s["defaultFlag"])
            status = {"id": default["id"]}
        status_ref = self._reference("status", status)
        if self.statuses[status_ref["id"]]["board"]["id"] != board["id"]:
            raise _invalid("ticket", "status", "InvalidReference", "status is not a status of this board")
        ticket_id, stamp = self._next_ticket, self._stamp()
        self._next_ticket += 1
        ticket: dict[str, Any] = {
            "id": ticket_id,
            "summary": summary,
            "recordType": "ServiceTicket",
            "board": board,
            "status": status_ref,
            "company": self._reference("company", body["company"]),
            "priority": self._reference("priority", body.get("priority", {"id": 3})),
            "severity": body.get("severity", "Medium"),
            "impact": body.get("impact", "Medium"),
            "closedFlag": bool(self.statuses[status_ref["id"]]["closedStatus"]),
            "_info": {
                "lastUpdated": stamp,
                "updatedBy": self.credentials["company_id"],
                "dateEntered": stamp,
                "enteredBy": self.credentials["company_id"],
                "notes_href": f"{API_PATH}/service/tickets/{ticket_id}/notes",
            },
        }
        self.tickets[ticket_id] = ticket
        self.notes[ticket_id] = []
        if isinstance(body.get("initialDescription"), str) and body["initialDescription"]:
            self._note(ticket_id, body["initialDescription"], {"detailDescriptionFlag": True})
        return json_response(201, ticket)

    def _patch_ticket(self, request: SimRequest) -> httpx.Response:
        ticket = self._ticket(request)
        try:
            operations = request.json()
        except ValueError:
            raise CWFault(400, "InvalidObject", "the body is not JSON") from None
        if not isinstance(operations, list) or not operations:
            raise CWFault(400, "InvalidObject", "a PATCH body is a list of JSON-Patch operations")
        changed = dict(ticket)
        for op in operations:
            path = op.get("path", "").strip("/") if isinstance(op, dict) else ""
            if not isinstance(op, dict) or op.get("op") != "replace" or path not in ("status", "priority", "summary"):
                raise _invalid("ticket", path or "op", "InvalidPatch", f"cannot apply {op!r:.80}")
            if path == "summary":
                if not isinstance(op.get("value"), str) or not 0 < len(op["value"]) <= SUMMARY_MAX:
                    raise _invalid("ticket", "summary", "MaxLength", f"summary is 1 to {SUMMARY_MAX} characters")
                changed["summary"] = op["value"]
                continue
            ref = self._reference(path, op.get("value"))
            if path == "status":
                if self.statuses[ref["id"]]["board"]["id"] != ticket["board"]["id"]:
                    raise _invalid("ticket", "status", "InvalidReference", "status is not a status of this board")
                changed["closedFlag"] = bool(self.statuses[ref["id"]]["closedStatus"])
            changed[path] = ref
        changed["_info"] = {**ticket["_info"], "lastUpdated": self._stamp()}
        self.tickets[ticket["id"]] = changed
        return json_response(200, changed)

    def _note(self, ticket_id: int, text: str, flags: dict[str, Any]) -> dict[str, Any]:
        note = {
            "id": self._next_note,
            "ticketId": ticket_id,
            "text": text,
            "detailDescriptionFlag": bool(flags.get("detailDescriptionFlag")),
            "internalAnalysisFlag": bool(flags.get("internalAnalysisFlag")),
            "resolutionFlag": bool(flags.get("resolutionFlag")),
            "dateCreated": self._stamp(),
            "createdBy": self.credentials["company_id"],
            "_info": {"lastUpdated": self._stamp()},
        }
        self._next_note += 1
        self.notes[ticket_id].append(note)
        return note

    def _add_note(self, request: SimRequest) -> httpx.Response:
        ticket = self._ticket(request)
        try:
            body = request.json()
        except ValueError:
            raise CWFault(400, "InvalidObject", "the body is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"].strip():
            raise _invalid("ticketNote", "text", "NullValue", "The text field is required.")
        flags = [body.get(k) for k in ("detailDescriptionFlag", "internalAnalysisFlag", "resolutionFlag")]
        if not any(flags):
            raise _invalid("ticketNote", "detailDescriptionFlag", "NoFlag", "a note needs one of its three flags")
        return json_response(201, self._note(ticket["id"], body["text"], body))
