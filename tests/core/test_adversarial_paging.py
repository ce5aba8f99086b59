"""Totals that lie downward and numeric headers that are not ASCII numbers (adversarial findings 3 and 9
of issue 12): a listing returns everything or raises, never a silently shortened list."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
import httpx
import pytest

from backupbridge import DecodingError
from backupbridge.http import Call, End, ListOp, Page, Paging, Reply, by_key, paginate
from backupbridge_managedbackup.client import by_path
from backupbridge_vprotect.client import paged as vprotect_paged
from backupbridge_vprotect.client import total_count

TRUE_COUNT = 250


def drive(listing: ListOp[Any], answer: Callable[[Call], Reply]) -> tuple[list[Any], list[Call]]:
    items: list[Any] = []
    calls: list[Call] = []
    steps = listing.steps
    message = next(steps)
    while True:
        received: Reply | None = None
        if isinstance(message, Call):
            calls.append(message)
            received = answer(message)
        else:
            items.extend(message.items)
        try:
            message = steps.send(received)
        except StopIteration:
            return items, calls


def reply(call: Call, body: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(200, httpx.Headers(headers or {}), json.dumps(body).encode(), call.endpoint, "v", call.operation)


def engine(size: int) -> ListOp[Any]:
    def call_at(index: int) -> Call:
        return Call(method="GET", path="/things", operation="things.list", params={"page": index, "size": size})

    def parse(answer: Reply, call: Call) -> Page[Any]:
        data = answer.json()
        return Page(items=data["items"], total=data["total"])

    return paginate(call_at(0), parse, Paging(end=End.TOTAL, page_size=size, page_call=call_at, id_of=by_key("id")))


@pytest.mark.parametrize("stated", [100, 200])
def test_a_total_lying_down_to_a_multiple_of_the_page_size_raises(stated: int) -> None:
    """Was: 100 or 200 of the 250 records, no error."""

    def answer(call: Call) -> Reply:
        page, size = int(call.params["page"]), int(call.params["size"])  # type: ignore[arg-type]
        ids = range(page * size, min(TRUE_COUNT, (page + 1) * size))
        return reply(call, {"items": [{"id": i} for i in ids], "total": stated})

    with pytest.raises(DecodingError, match="past the") as info:
        drive(engine(100), answer)
    assert info.value.endpoint == "GET /things"


def test_an_honest_total_on_a_full_page_is_confirmed_by_one_empty_page() -> None:
    def answer(call: Call) -> Reply:
        page = int(call.params["page"])  # type: ignore[arg-type]
        ids = range(page * 100, min(200, (page + 1) * 100))
        return reply(call, {"items": [{"id": i} for i in ids], "total": 200})

    items, calls = drive(engine(100), answer)
    assert [item["id"] for item in items] == list(range(200)) and len(calls) == 3


@attrs.frozen
class Row:
    guid: str
    name: str


def guid(n: int) -> str:
    return f"00000000-0000-0000-0000-{n:012d}"


@pytest.mark.parametrize("stated", ["100", "200"])
def test_vprotect_x_total_count_lying_downward_raises(stated: str) -> None:
    def answer(call: Call) -> Reply:
        page, size = int(call.params["page"]), int(call.params["size"])  # type: ignore[arg-type]
        rows = [{"guid": guid(i), "name": f"vm{i}"} for i in range(page * size, min(TRUE_COUNT, (page + 1) * size))]
        return reply(call, rows, {"X-Total-Count": stated})

    listing = vprotect_paged("/virtual-machines", {"size": 100}, Row, "list_vms")
    with pytest.raises(DecodingError, match="X-Total-Count") as info:
        drive(listing, answer)
    assert info.value.endpoint == "GET /virtual-machines"


@pytest.mark.parametrize("stated", [100, 200])
def test_managed_backup_count_lying_downward_raises(stated: int) -> None:
    def answer(call: Call) -> Reply:
        offset, count = (int(part) for part in call.path.rsplit("/", 2)[1:])
        rows = [{"Id": i} for i in range(offset, min(TRUE_COUNT, offset + count))]
        return reply(call, {"Count": stated, "Items": rows})

    listing = by_path("/Monitoring", "list_monitoring", "Items", dict, 100, id_of=by_key("Id"))
    with pytest.raises(DecodingError, match="Count"):
        drive(listing, answer)


@pytest.mark.parametrize("header", ["\u00b2", "\u0661\u0660\u0660", "1\u00b2", "+5", "-1", " ", "1e3", "9" * 5000])
def test_an_x_total_count_that_is_not_ascii_digits_is_a_decoding_error(header: str) -> None:
    """Was: ``²`` a bare ValueError (str.isdigit accepts it) and Arabic-Indic ``100`` accepted as 100."""
    headers = httpx.Headers([(b"X-Total-Count", header.encode())])  # as a server sends it: UTF-8 bytes
    answer = Reply(200, headers, b"[]", "GET /backups", "vprotect", "list")
    with pytest.raises(DecodingError, match="X-Total-Count"):
        total_count(answer)


def test_an_ascii_x_total_count_is_read() -> None:
    answer = Reply(200, httpx.Headers({"X-Total-Count": " 250 "}), b"[]", "GET /backups", "vprotect", "list")
    assert total_count(answer) == 250
