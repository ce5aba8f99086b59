"""Paging and ids in digits str.isdigit() accepts but int() refuses ("\u00b2") are a 400/404, as the real API
answers them, never a crashed handler."""

from __future__ import annotations

import base64

import httpx
import pytest

from backupbridge_connectwise import ConnectWiseSimulator


def _client(sim: ConnectWiseSimulator) -> httpx.Client:
    creds = sim.credentials
    user = f"{creds['company_id']}+{creds['public_key']}:{creds['private_key']}"
    headers = {"Authorization": "Basic " + base64.b64encode(user.encode()).decode(), "clientId": creds["client_id"]}
    return httpx.Client(
        base_url="https://api-na.myconnectwise.net", transport=httpx.MockTransport(sim.handle), headers=headers
    )


@pytest.mark.parametrize("text", ["\u00b2", "\u0661", "9" * 5000])
def test_odd_paging_is_a_400(text: str) -> None:
    sim = ConnectWiseSimulator()
    with _client(sim) as client:
        ok = client.get("/v4_6_release/apis/3.0/service/boards")
        assert ok.status_code == 200
        for params in ({"page": text}, {"pageSize": text}):
            assert client.get("/v4_6_release/apis/3.0/service/boards", params=params).status_code == 400


@pytest.mark.parametrize("text", ["\u00b2", "\u0661"])
def test_an_odd_ticket_or_board_id_is_a_404(text: str) -> None:
    sim = ConnectWiseSimulator()
    with _client(sim) as client:
        assert client.get(f"/v4_6_release/apis/3.0/service/tickets/{text}/notes").status_code == 404
        assert client.get(f"/v4_6_release/apis/3.0/service/boards/{text}/statuses").status_code == 404
