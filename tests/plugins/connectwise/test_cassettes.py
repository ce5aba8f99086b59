"""Replay ConnectWise exchanges built from the public API reference's examples (the Basic credentials and
the clientId scrubbed), recorded with mode ``none``: the client's requests must be exactly these."""

from __future__ import annotations

from contextlib import closing

import pytest

from backupbridge import AuthenticationError, InvalidRequestError, Secret
from backupbridge.plugin import Call, Session
from backupbridge_connectwise import ConnectWiseAPI
from backupbridge_connectwise.client import DECODER, TicketRecord, connect

CASSETTE_VENDOR = "connectwise"
CASSETTE_SCHEME = "Basic"
API = ConnectWiseAPI()
SUMMARY = "XYZ Test Company / SRV-01 (Nightly): backup failed [bb:4f6c1e0b9a2d]"


def session() -> Session:
    return connect(
        "https://api-na.myconnectwise.net",
        company_id="replayed",
        public_key=Secret("replayed-public"),
        private_key=Secret("replayed-private"),
        client_id=Secret("replayed-client-id"),
    )


@pytest.mark.vcr(record_mode="none")
def test_ticket_lifecycle() -> None:
    with closing(session()) as s:
        (board,) = s.iterate(API.boards("Professional Services"))
        statuses = {st.name: st for st in s.iterate(API.board_statuses(board.id))}
        (company,) = s.iterate(API.companies("XYZTestCompany"))
        assert list(s.iterate(API.tickets('summary like "%bb:4f6c1e0b9a2d%" and board/id=1', "id desc"))) == []
        ticket = s.run(
            API.create_ticket(
                {
                    "summary": SUMMARY,
                    "board": {"id": board.id},
                    "status": {"id": statuses["New"].id},
                    "company": {"id": company.id},
                    "initialDescription": "Problem: failed (critical)",
                    "priority": {"id": 4},
                }
            )
        )
        note = s.run(API.add_note(ticket.id, "Recovered: seen healthy at 2019-06-18T07:00:00+00:00.", resolution=True))
        done = s.run(API.patch_ticket(ticket.id, [{"op": "replace", "path": "status", "value": {"id": 20}}]))
    assert statuses[">Closed"].closedStatus is True and company.id == 250
    assert ticket.id == 1234 and ticket.closedFlag is False and ticket.company is not None
    assert ticket.company.identifier == "XYZTestCompany" and ticket.extra["recordType"] == "ServiceTicket"
    assert note.resolutionFlag is True and note.ticketId == 1234
    assert done.closedFlag is True and done.status is not None and done.status.name == ">Closed"


@pytest.mark.vcr(record_mode="none")
def test_invalid_ticket() -> None:
    with closing(session()) as s, pytest.raises(InvalidRequestError) as caught:
        # The client refuses an empty summary itself; sent anyway, ConnectWise's own answer is decoded.
        body = {"summary": "", "board": {"id": 1}, "company": {"id": 250}}
        s.run(DECODER.one(Call(method="POST", path="/service/tickets", operation="t", json=body), TicketRecord))
    assert caught.value.vendor_code == "InvalidObject"
    assert [(e.type, e.field, e.message) for e in caught.value.errors] == [
        ("NullValue", "summary", "The summary field is required.")
    ]


@pytest.mark.vcr(record_mode="none")
def test_unauthorized() -> None:
    with closing(session()) as s, pytest.raises(AuthenticationError) as caught:
        list(s.iterate(API.boards("Professional Services")))
    assert caught.value.status_code == 401 and "replayed-private" not in str(caught.value)
