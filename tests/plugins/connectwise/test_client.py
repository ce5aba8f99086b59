"""The ConnectWise client against its simulator: auth, paging (Link header or a short page), ConnectWise's
error bodies as typed errors, arguments refused before any request."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing

import httpx
import pytest

from backupbridge import (
    AuthenticationError,
    DecodingError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    Secret,
    ServerError,
    ValidationError,
)
from backupbridge.plugin import Session
from backupbridge_connectwise import ConnectWiseAPI, ConnectWiseSimulator
from backupbridge_connectwise.client import connect

API = ConnectWiseAPI()


def session(
    sim: ConnectWiseSimulator,
    handler: Callable[[httpx.Request], httpx.Response] | None = None,
    **creds: str,
) -> Session:
    values = {**sim.credentials, **creds}
    return connect(
        "https://api-na.myconnectwise.net",
        company_id=values["company_id"],
        public_key=Secret(values["public_key"]),
        private_key=Secret(values["private_key"]),
        client_id=Secret(values["client_id"]),
        transport=httpx.MockTransport(handler or sim.handle),
    )


def seed_tickets(sim: ConnectWiseSimulator, count: int) -> None:
    for index in range(count):
        ticket = {"summary": f"t{index}", "board": {"id": 1}, "company": {"id": 250}}
        request = httpx.Request("POST", "https://x/v4_6_release/apis/3.0/service/tickets", json=ticket)
        request.headers.update(_auth(sim))
        assert sim.handle(request).status_code == 201


def _auth(sim: ConnectWiseSimulator) -> dict[str, str]:
    import base64

    c = sim.credentials
    token = base64.b64encode(f"{c['company_id']}+{c['public_key']}:{c['private_key']}".encode()).decode()
    return {"authorization": f"Basic {token}", "clientid": c["client_id"]}


def test_boards_statuses_and_companies_by_name(sim: ConnectWiseSimulator) -> None:
    with closing(session(sim)) as s:
        (board,) = s.iterate(API.boards("Backups"))
        statuses = {st.name: st.closedStatus for st in s.iterate(API.board_statuses(board.id))}
        (company,) = s.iterate(API.companies("CatchAll"))
    assert board.id == 1 and statuses["Closed (resolved)"] is True and statuses["New"] is False
    assert company.identifier == "CatchAll" and company.id == 250


@pytest.mark.parametrize("strip_link", [False, True])
def test_a_listing_pages_to_the_end_by_link_header_or_short_page(sim: ConnectWiseSimulator, strip_link: bool) -> None:
    seed_tickets(sim, 250)

    def handler(request: httpx.Request) -> httpx.Response:
        response = sim.handle(request)
        if strip_link:
            headers = {k: v for k, v in response.headers.items() if k.lower() != "link"}
            return httpx.Response(response.status_code, headers=headers, content=response.read())
        return response

    with closing(session(sim, handler)) as s:
        tickets = list(s.iterate(API.tickets("closedFlag=false")))
    assert [t.id for t in tickets] == sorted(sim.tickets) and len(tickets) == 250


def test_a_server_that_ignores_paging_raises_instead_of_looping(sim: ConnectWiseSimulator) -> None:
    seed_tickets(sim, 150)

    def first_page_always(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        params["page"] = "1"
        return sim.handle(httpx.Request(request.method, request.url.copy_with(params=params), headers=request.headers))

    with closing(session(sim, first_page_always)) as s, pytest.raises(DecodingError):
        list(s.iterate(API.tickets("closedFlag=false")))


def test_a_validation_error_carries_connectwise_s_code_and_field(sim: ConnectWiseSimulator) -> None:
    with closing(session(sim)) as s, pytest.raises(InvalidRequestError) as caught:
        s.run(API.create_ticket({"summary": "x", "board": {"id": 99}, "company": {"id": 250}}))
    error = caught.value
    assert error.status_code == 400 and error.vendor_code == "InvalidObject"
    assert [(d.type, d.field) for d in error.errors] == [("InvalidReference", "board")]
    with closing(session(sim)) as s, pytest.raises(NotFoundError):
        s.run(API.add_note(424242, "hello"))


@pytest.mark.parametrize(
    "creds", [{"private_key": "wrong"}, {"client_id": "not-the-client-id"}, {"company_id": "othercompany"}]
)
def test_wrong_credentials_or_client_id_are_authentication_errors(
    sim: ConnectWiseSimulator, creds: dict[str, str]
) -> None:
    with closing(session(sim, None, **creds)) as s, pytest.raises(AuthenticationError) as caught:
        list(s.iterate(API.boards("Backups")))
    assert "wrong" not in str(caught.value) and sim.credentials["private_key"] not in str(caught.value)


@pytest.mark.parametrize(("status", "error"), [(429, RateLimitedError), (500, ServerError)])
def test_429_and_500_are_typed(sim: ConnectWiseSimulator, status: int, error: type[Exception]) -> None:
    sim.refuse_next(status)
    with closing(session(sim)) as s, pytest.raises(error):
        list(s.iterate(API.boards("Backups")))


@pytest.mark.parametrize("name", ['Back"ups', "a\\b", "", "line\nbreak"])
def test_a_name_that_cannot_be_quoted_is_refused_before_any_request(sim: ConnectWiseSimulator, name: str) -> None:
    with pytest.raises(ValidationError):
        API.boards(name)
    with pytest.raises(ValidationError):
        API.create_ticket({"summary": "x" * 101})
    assert sim.requests == []


def test_a_patch_closes_a_ticket_and_json_patch_ops_are_checked(sim: ConnectWiseSimulator) -> None:
    seed_tickets(sim, 1)
    with closing(session(sim)) as s:
        closed = s.run(API.patch_ticket(1001, [{"op": "replace", "path": "status", "value": {"id": 4}}]))
    assert closed.closedFlag is True and closed.status is not None and closed.status.name == "Closed (resolved)"
    with pytest.raises(ValidationError):
        API.patch_ticket(1001, [{"op": "move", "path": "status"}])
