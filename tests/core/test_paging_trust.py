"""A listing returns everything or raises (issue 12): the one paging engine against hand-made pages, the JSON
depth bound, and every vendor's listings under every paging fault its simulator can inject."""

from __future__ import annotations

import functools
import gc
import json
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from backupbridge import DecodingError
from backupbridge.http import (
    MAX_JSON_DEPTH,
    Call,
    End,
    ListOp,
    Page,
    Paging,
    Reply,
    RetryPolicy,
    by_attr,
    by_key,
    paginate,
    single_page,
)
from backupbridge.sandbox import Faults, SimulatorOptions, SimulatorTransport, connect_sandbox
from backupbridge.sandbox.faults import PagingFault

ONE_TRY = RetryPolicy(attempts=1)


# -- the engine, against hand-made pages ----------------------------------------------------------------


def reply(call: Call, body: Any, headers: dict[str, str] | None = None) -> Reply:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Reply(200, httpx.Headers(headers or {}), content, call.endpoint, "test", call.operation)


def drive(listing: ListOp[Any], answer: Callable[[Call], Reply]) -> tuple[list[Any], list[Call]]:
    """Run a listing against ``answer``: the records it yielded and the calls it made (raises what it raises)."""
    calls: list[Call] = []
    items: list[Any] = []
    steps = listing.steps
    message = next(steps)
    while True:
        if isinstance(message, Call):
            calls.append(message)
            received: Reply | None = answer(message)
        else:
            items.extend(message.items)
            received = None
        try:
            message = steps.send(received)
        except StopIteration:
            return items, calls


def page_of(call: Call) -> int:
    return int(call.params["page"])  # type: ignore[arg-type]


class Server:
    """A listing of ``total`` records ``{"id": n}``, served ``size`` at a time, that misbehaves as told."""

    def __init__(self, total: int, *, pages: dict[int, list[int]] | None = None, state_total: bool = False) -> None:
        self.total = total
        self.pages = pages or {}  # page index -> the ids it answers instead of the true ones
        self.state_total = state_total
        self.stated_size: int | None = None

    def __call__(self, call: Call) -> Reply:
        index, size = page_of(call), int(call.params["size"])  # type: ignore[arg-type]
        ids = self.pages.get(index, list(range(index * size, min(self.total, (index + 1) * size))))
        body: dict[str, Any] = {"items": [{"id": i} for i in ids]}
        if self.state_total:
            body["total"] = self.total
        if self.stated_size is not None:
            body["page_size"] = self.stated_size
        return reply(call, body)


BY_ID = by_key("id")


def listing(end: End, size: int = 3, id_of: Any = BY_ID) -> ListOp[Any]:
    def call_at(index: int) -> Call:
        return Call(method="GET", path="/things", operation="things.list", params={"page": index, "size": size})

    def parse(answer: Reply, call: Call) -> Page[Any]:
        data = answer.json()
        return Page(items=data["items"], total=data.get("total"), stated_page_size=data.get("page_size"))

    return paginate(call_at(0), parse, Paging(end=end, page_size=size, page_call=call_at, id_of=id_of))


def ids(items: list[Any]) -> list[int]:
    return [item["id"] for item in items]


def test_short_page_end_is_confirmed_by_an_empty_page() -> None:
    items, calls = drive(listing(End.SHORT_PAGE), Server(7))
    assert ids(items) == list(range(7))
    assert [page_of(c) for c in calls] == [0, 1, 2, 3]  # page 3 confirms the short page 2 was the last


def test_a_total_that_is_a_multiple_of_the_page_size_yields_each_record_once() -> None:
    items, calls = drive(listing(End.SHORT_PAGE), Server(6))
    assert ids(items) == list(range(6)) and len(calls) == 4
    items, calls = drive(listing(End.TOTAL), Server(6, state_total=True))
    # The total is reached on a full page: one more request confirms it (a total lying downward to a
    # multiple of the page size would otherwise truncate the listing silently).
    assert ids(items) == list(range(6)) and len(calls) == 3


def test_an_empty_listing() -> None:
    assert drive(listing(End.SHORT_PAGE), Server(0)) == ([], drive(listing(End.SHORT_PAGE), Server(0))[1])
    items, calls = drive(listing(End.TOTAL), Server(0, state_total=True))
    assert items == [] and len(calls) == 1


@pytest.mark.parametrize("end", [End.SHORT_PAGE, End.TOTAL])
def test_a_page_one_record_short_before_the_end_raises(end: End) -> None:
    server = Server(8, pages={0: [0, 1]}, state_total=end is End.TOTAL)
    with pytest.raises(DecodingError, match=r"short page before the end|incomplete") as info:
        drive(listing(end), server)
    assert info.value.endpoint == "GET /things"


@pytest.mark.parametrize("end", [End.SHORT_PAGE, End.TOTAL])
def test_an_empty_page_before_the_end_raises(end: End) -> None:
    with pytest.raises(DecodingError, match="empty"):
        drive(listing(end), Server(8, pages={1: []}, state_total=end is End.TOTAL))


@pytest.mark.parametrize("end", [End.SHORT_PAGE, End.TOTAL])
def test_a_server_ignoring_the_paging_parameters_is_caught_on_the_second_page(end: End) -> None:
    """It used to be paged for as long as the server answered (the only cap was a million pages)."""
    server = Server(10**6, pages={i: [0, 1, 2] for i in range(1, 500)}, state_total=end is End.TOTAL)
    with pytest.raises(DecodingError, match="page 2 holds the same records as page 1") as info:
        drive(listing(end), server)
    assert info.value.endpoint == "GET /things"


def test_a_page_repeating_the_previous_one_raises() -> None:
    with pytest.raises(DecodingError, match="page 3 repeats page 2"):
        drive(listing(End.SHORT_PAGE), Server(12, pages={2: [3, 4, 5]}))


def test_a_server_answering_past_the_end_with_the_last_page_raises() -> None:
    """Six records in pages of three, the server clamping page 2 to page 1: six records, not three repeated."""
    with pytest.raises(DecodingError, match="repeats"):
        drive(listing(End.SHORT_PAGE), Server(6, pages={i: [3, 4, 5] for i in range(2, 9)}))


@pytest.mark.parametrize("end", [End.SHORT_PAGE, End.TOTAL, End.WHOLE])
def test_a_duplicate_id_raises(end: End) -> None:
    pages = {0: [0, 1, 1]} if end is End.WHOLE else {1: [2, 4, 5]}
    with pytest.raises(DecodingError, match=r"record id [12] arrives twice"):
        drive(listing(end), Server(7, pages=pages, state_total=end is End.TOTAL))


def test_a_stated_page_size_bigger_than_asked_raises() -> None:
    """CleverFox: a reply stating page_size 250 made the client read a full page of 100 as the last."""
    server = Server(8)
    server.stated_size = 6
    with pytest.raises(DecodingError, match="states page_size 6, more than the 3 asked for"):
        drive(listing(End.SHORT_PAGE), server)


def test_a_smaller_stated_page_size_is_judged_against_the_size_asked_for() -> None:
    server = Server(8, pages={0: [0, 1], 1: [2, 3], 2: [4, 5], 3: [6, 7]})
    server.stated_size = 2  # a server capping pages at 2 while 3 were asked for
    with pytest.raises(DecodingError, match="caps pages at 2 records"):
        drive(listing(End.SHORT_PAGE), server)
    server = Server(1)
    server.stated_size = 2
    assert ids(drive(listing(End.SHORT_PAGE), server)[0]) == [0]


def test_a_page_holding_more_than_asked_raises() -> None:
    with pytest.raises(DecodingError, match="holds 4 records, more than the 3 asked for"):
        drive(listing(End.TOTAL), Server(8, pages={0: [0, 1, 2, 3]}, state_total=True))


def test_total_checks() -> None:
    with pytest.raises(DecodingError, match=r"does not state the listing's total \(total\)"):
        drive(listing(End.TOTAL), Server(5))
    changing = Server(8, state_total=True)

    def answer(call: Call) -> Reply:
        changing.total = 8 if page_of(call) == 0 else 7
        return changing(call)

    with pytest.raises(DecodingError, match="the total changed from 8 to 7"):
        drive(listing(End.TOTAL), answer)
    with pytest.raises(DecodingError, match="more than the 2 the vendor reported"):
        drive(listing(End.TOTAL), lambda call: reply(call, {"items": [{"id": 0}, {"id": 1}, {"id": 2}], "total": 2}))


def test_only_ids_are_kept_while_paging() -> None:
    """A consumer that drops the records leaves none alive in the engine: duplicate detection keeps ids."""

    class Record:
        def __init__(self, key: int) -> None:
            self.key = key

    refs: list[weakref.ref[Record]] = []
    alive_at_page: list[int] = []

    def call_at(index: int) -> Call:
        return Call(method="GET", path="/things", operation="things.list", params={"page": index, "size": 3})

    def parse(answer: Reply, call: Call) -> Page[Record]:
        gc.collect()
        alive_at_page.append(sum(1 for r in refs if r() is not None))
        records = [Record(i) for i in answer.json()["items"]]
        refs.extend(weakref.ref(r) for r in records)
        return Page(items=records, total=10)

    paging: Paging[Record] = Paging(end=End.TOTAL, page_size=3, page_call=call_at, id_of=by_attr("key"))
    op = paginate(call_at(0), parse, paging)

    def answer(call: Call) -> Reply:
        return reply(call, {"items": list(range(page_of(call) * 3, min(10, page_of(call) * 3 + 3)))})

    steps, count = op.steps, 0
    message = next(steps)
    while True:
        received = answer(message) if isinstance(message, Call) else None
        if not isinstance(message, Call):
            count += sum(1 for _ in message.items)
        del message
        try:
            message = steps.send(received)
        except StopIteration:
            break
    assert count == 10
    assert alive_at_page == [0, 0, 0, 0]


def test_undeclared_listings_keep_following_the_parsers_next() -> None:
    def parse(answer: Reply, call: Call) -> Page[int]:
        page = page_of(call)
        nxt = Call(method="GET", path="/x", operation="x", params={"page": page + 1}) if page < 2 else None
        return Page(items=answer.json(), next=nxt)

    items, calls = drive(
        paginate(Call(method="GET", path="/x", operation="x", params={"page": 0}), parse),
        lambda c: reply(c, [page_of(c)]),
    )
    assert items == [0, 1, 2] and len(calls) == 3


def test_whole_listing_with_ids() -> None:
    op = single_page(Call(method="GET", path="/all", operation="all"), lambda r: r.json(), id_of=by_key("id"))
    assert drive(op, lambda c: reply(c, [{"id": 1}, {"id": 2}]))[0] == [{"id": 1}, {"id": 2}]
    op = single_page(Call(method="GET", path="/all", operation="all"), lambda r: r.json(), id_of=by_key("id"))
    with pytest.raises(DecodingError, match="arrives twice") as info:
        drive(op, lambda c: reply(c, [{"id": 1}, {"id": 1}]))
    assert info.value.endpoint == "GET /all"


def test_paging_declarations_are_checked() -> None:
    with pytest.raises(ValueError, match="needs page_size and page_call"):
        Paging(end=End.TOTAL, page_size=3)


# -- the JSON depth bound -----------------------------------------------------------------------------


def body_reply(content: bytes) -> Reply:
    return Reply(200, httpx.Headers({"content-type": "application/json"}), content, "GET /deep", "test", "deep")


@pytest.mark.parametrize("depth", [200_000, 5_000, MAX_JSON_DEPTH + 1])
def test_too_deep_json_is_a_decoding_error_with_an_excerpt(depth: int) -> None:
    """200,000 nested arrays raised a bare RecursionError."""
    with pytest.raises(DecodingError, match=f"nested deeper than {MAX_JSON_DEPTH}") as info:
        body_reply(b"[" * depth + b"]" * depth).json()
    assert info.value.endpoint == "GET /deep" and info.value.excerpt and info.value.excerpt.startswith("[[[")


def test_json_at_the_depth_bound_and_brackets_in_strings_pass() -> None:
    deep = b'{"a":' * (MAX_JSON_DEPTH - 1) + b"[1]" + b"}" * (MAX_JSON_DEPTH - 1)
    assert body_reply(deep).json() is not None
    tricky = json.dumps({"s": "[" * 2000, "t": '\\"{{{' * 300, "rows": [{"a": [1, {"b": "}}]]"}]}] * 50}).encode()
    assert body_reply(tricky).json()["s"] == "[" * 2000
    wide = json.dumps([[[{"k": [i]}] for i in range(3000)]]).encode()  # many brackets, shallow
    assert len(body_reply(wide).json()[0]) == 3000
    utf16 = ("[" * 600 + "]" * 600).encode("utf-16")
    with pytest.raises(DecodingError, match="nested deeper"):
        body_reply(utf16).json()


@pytest.mark.parametrize("body", [b'{"a": NaN}', b"[Infinity]", b'{"a": tru', b"\xff\xfe\x00garbage", b"1" * 5000])
def test_hostile_bodies_are_decoding_errors(body: bytes) -> None:
    with pytest.raises(DecodingError):
        body_reply(body).json()


# -- every vendor's listings under every paging fault -------------------------------------------------

Make = Callable[[Any], Iterator[Any]]


def vendor_listings(vendor: str, sim: Any) -> dict[str, Make]:
    """Each vendor's listings, with page sizes small enough that the simulators' data spans pages."""
    neutral: dict[str, Make] = {
        "list_companies": lambda c: c.list_companies(),
        "list_devices": lambda c: c.list_devices(),
        "list_plans": lambda c: c.list_plans(),
        "list_jobs": lambda c: c.list_jobs(),
    }
    if vendor == "cleverfox":
        device = next(iter(sim.tables["devices"]))
        return neutral | {
            "devices": lambda c: c.vendor.devices.list(page_size=7),
            "companies": lambda c: c.vendor.companies.list(page_size=2),
            "subscriptions": lambda c: c.vendor.subscriptions.list(page_size=2),
            "jobs": lambda c: c.vendor.jobs.list(page_size=7),
            "logs": lambda c: c.vendor.logs.list(page_size=40),
            "device.logs": lambda c: c.vendor.devices.logs(device, page_size=2),
            "device.jobs": lambda c: c.vendor.devices.jobs(device, page_size=1),
            "time_zones": lambda c: c.vendor.time_zones.list(page_size=30),
        }
    if vendor == "managedbackup":
        hid = next(iter(sim.computers))
        user = next(iter(sim.users))
        return neutral | {
            "computers": lambda c: c.vendor.computers.list(count=7),
            "history": lambda c: c.vendor.computers.history(hid, count=2),
            "all_history": lambda c: c.vendor.computers.all_history(count=40),
            "users": lambda c: c.vendor.users.list(),
            "monitoring": lambda c: c.vendor.monitoring.list(),
            "monitoring.for_user": lambda c: c.vendor.monitoring.for_user(user),
            "companies": lambda c: c.vendor.companies.list(),
            "computer.plans": lambda c: c.vendor.computers.plans(hid),
            "administrators": lambda c: c.vendor.administrators.list(),
            "packages": lambda c: c.vendor.packages.list(),
        }
    if vendor == "vprotect":
        return neutral | {
            "backups": lambda c: c.vendor.backups.list(size=25),
            "backups.detailed": lambda c: c.vendor.backups.detailed(size=25),
            "backups.grouped": lambda c: c.vendor.backups.grouped(size=4),
            "virtual_machines": lambda c: c.vendor.virtual_machines.list(size=7),
            "policies": lambda c: c.vendor.policies.list(size=2),
            "schedules": lambda c: c.vendor.schedules.list(size=2),
            "tasks": lambda c: c.vendor.tasks.list(),
            "hypervisors": lambda c: c.vendor.hypervisors.list(),
        }
    return neutral | {
        "device_summary": lambda c: c.vendor.device_summary(),
        "fetch_backup_plan": lambda c: c.vendor.fetch_backup_plan(),
    }


# Which faults each simulator can inject somewhere (a stated page size only CleverFox's replies carry; the
# IDrive 360 lists come whole, so only a duplicated record can be wrong with them).
APPLICABLE = {
    "cleverfox": set(PagingFault),
    "managedbackup": set(PagingFault) - {PagingFault.OVERSIZED_PAGE_SIZE},
    "vprotect": set(PagingFault) - {PagingFault.OVERSIZED_PAGE_SIZE},
    "idrive360": {PagingFault.DUPLICATE_ID},
}
SIZE = 24


@functools.cache
def baseline(vendor: str) -> tuple[Any, dict[str, list[Any]]]:
    """The simulator's listings without faults (simulators are seeded: every connection sees the same data)."""
    conn = connect_sandbox(vendor, size=SIZE, retry=ONE_TRY)
    makes = vendor_listings(vendor, conn.simulator)
    return conn.simulator, {name: list(make(conn)) for name, make in makes.items()}


@pytest.mark.parametrize("vendor", sorted(APPLICABLE))
@pytest.mark.parametrize("fault", list(PagingFault), ids=lambda f: f.value)
def test_every_listing_raises_under_every_paging_fault_it_meets(vendor: str, fault: PagingFault) -> None:
    sim, expected = baseline(vendor)
    conn = connect_sandbox(vendor, size=SIZE, retry=ONE_TRY, faults=Faults(rate=1.0, kinds=(fault,)))
    counter = conn.transport.faults_injected
    applied = []
    for name, make in vendor_listings(vendor, sim).items():
        before = counter[fault]
        try:
            got: list[Any] | DecodingError = list(make(conn))
        except DecodingError as exc:
            got = exc
        injected = counter[fault] - before
        if injected:
            applied.append(name)
            assert isinstance(got, DecodingError), f"{name}: {fault.value} injected {injected}x, listing passed"
            assert got.endpoint and got.vendor == vendor, name
        else:
            assert got == expected[name], f"{name}: no fault injected, yet the listing changed"
    assert bool(applied) == (fault in APPLICABLE[vendor]), applied


# -- the reproductions of issue 12 ("Silent truncation"), through the simulators --------------------------


def rewrite(sim: Any, change: Callable[[httpx.Request, httpx.Response], httpx.Response]) -> SimulatorTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        return change(request, sim.handle(request))

    return SimulatorTransport(handle)


def cleverfox_with(change: Callable[[httpx.Request, dict[str, Any]], dict[str, Any]], size: int = 250) -> Any:
    from backupbridge_cleverfox import CleverFoxSimulator

    sim = CleverFoxSimulator(SimulatorOptions(size=size))

    def edit(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path.endswith("/devices") and response.status_code == 200:
            return httpx.Response(200, json=change(request, response.json()))
        return response

    conn = connect_sandbox("cleverfox", simulator=sim, retry=ONE_TRY)
    conn._session.client._transport = rewrite(sim, edit)
    return conn, sim


def test_cleverfox_devices_page_one_record_short_fails_the_listing() -> None:
    """Was: 99 of 250 devices, exit 0, nothing on stderr."""

    def short(request: httpx.Request, body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "data": body["data"][:-1]} if request.url.params["PageNo"] == "1" else body

    conn, sim = cleverfox_with(short)
    assert len(sim.tables["devices"]) > 200
    with pytest.raises(DecodingError, match="short page before the end") as info:
        list(conn.list_devices())
    assert info.value.endpoint == "GET /devices" and info.value.vendor == "cleverfox"


def test_cleverfox_page_stating_a_bigger_page_size_fails_the_listing() -> None:
    conn, _ = cleverfox_with(lambda request, body: {**body, "page_size": 250})
    with pytest.raises(DecodingError, match="states page_size 250, more than the 100 asked for"):
        list(conn.list_devices())


def test_cleverfox_empty_page_before_the_end_fails_the_listing() -> None:
    def empty(request: httpx.Request, body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "data": []} if request.url.params["PageNo"] == "2" else body

    conn, _ = cleverfox_with(empty)
    with pytest.raises(DecodingError, match="page 2 was empty, yet page 3 is not empty"):
        list(conn.list_devices())


def test_cleverfox_server_ignoring_paging_is_caught_after_two_requests() -> None:
    """Was: still paging after 400 requests."""
    from backupbridge_cleverfox import CleverFoxSimulator

    sim = CleverFoxSimulator(SimulatorOptions(size=250))
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/devices"):
            seen.append(str(request.url))
            ignoring = request.url.copy_set_param("PageNo", "1")  # the server ignores PageNo...
            response = sim.handle(httpx.Request("GET", ignoring, headers=request.headers))
            body = response.json()  # ...and echoes the page number it was asked for
            return httpx.Response(200, json={**body, "page_no": int(request.url.params["PageNo"])})
        return sim.handle(request)

    conn = connect_sandbox("cleverfox", simulator=sim, retry=ONE_TRY)
    conn._session.client._transport = SimulatorTransport(handle)
    with pytest.raises(DecodingError, match="ignores the paging parameters"):
        list(conn.list_devices())
    assert len(seen) == 2


def vprotect_with(change: Callable[[httpx.Request, httpx.Response], httpx.Response], size: int = 40) -> Any:
    from backupbridge_vprotect import VProtectSimulator

    sim = VProtectSimulator(SimulatorOptions(size=size))
    conn = connect_sandbox("vprotect", simulator=sim, retry=ONE_TRY)
    conn._session.client._transport = rewrite(sim, change)
    return conn, sim


def test_vprotect_first_page_empty_without_a_total_fails_the_listing() -> None:
    """Was: ``[]`` without X-Total-Count on page 1 passed as an account with no devices."""

    def empty(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path.endswith("/virtual-machines") and response.status_code == 200:
            return httpx.Response(200, json=[])
        return response

    conn, sim = vprotect_with(empty)
    assert sim.vms
    with pytest.raises(DecodingError, match=r"does not state the listing's total \(X-Total-Count\)") as info:
        list(conn.list_devices())
    assert info.value.endpoint == "GET /virtual-machines"


def test_vprotect_total_a_multiple_of_the_page_size_with_paging_ignored_fails() -> None:
    """Was: 2 x 20 records of which 20 repeats, accepted because they added up to the total of 40."""

    def ignore_page(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path.endswith("/virtual-machines") and request.url.params.get("page") not in (None, "0"):
            first = httpx.Request("GET", request.url.copy_set_param("page", "0"), headers=request.headers)
            return conn.simulator.handle(first)  # type: ignore[no-any-return]
        return response

    conn, sim = vprotect_with(ignore_page)
    assert len(sim.vms) == 40
    with pytest.raises(DecodingError, match="ignores the paging parameters"):
        list(conn.vendor.virtual_machines.list(size=20))


def test_vprotect_list_jobs_streams_page_by_page() -> None:
    """No listing buffers all its pages: list_jobs yields the first backups before the last page is asked."""
    from backupbridge_vprotect import VProtectSimulator

    sim = VProtectSimulator(SimulatorOptions(size=40))
    assert len(sim.backups) > 200
    pages: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/backups"):
            pages.append(request.url.params["page"])
        return sim.handle(request)

    conn = connect_sandbox("vprotect", simulator=sim, retry=ONE_TRY)
    expected = [j.id for j in conn.list_jobs()]
    conn._session.client._transport = SimulatorTransport(handle)
    jobs = conn.list_jobs()
    first = next(jobs)
    assert pages == ["0"]  # one page asked for, and a run already out
    assert [first.id, *(j.id for j in jobs)] == expected
    assert len(pages) > 2


def test_seen_ids_keep_small_integers_as_bits_and_the_rest_in_a_set() -> None:
    from backupbridge.http._calls import _SeenIds

    seen = _SeenIds()
    keys: list[Any] = [0, 7, 8, 1_000_000, _SeenIds.BIT_LIMIT, -1, 2**70, "guid-1", ("u", "pc", "plan")]
    assert all(seen.add(key) for key in keys)
    assert not any(seen.add(key) for key in keys)
    assert seen.add(9) and seen.add("guid-2")
    assert len(seen._bits) <= 2 * (1_000_000 // 8 + 1)


def test_a_short_cleverfox_page_makes_the_account_a_failure_in_the_bridge() -> None:
    """The report reads the Bridge: the account with the short page is listed as failed, not as 99 devices."""
    from backupbridge.bridge import Bridge

    def short(request: httpx.Request, body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "data": body["data"][:-1]} if request.url.params["PageNo"] == "1" else body

    conn, _ = cleverfox_with(short)
    result = Bridge([conn]).list_devices()
    assert result.records == []
    assert [(f.vendor, type(f.error)) for f in result.failures] == [("cleverfox", DecodingError)]


@pytest.mark.parametrize("vendor", sorted(APPLICABLE))
def test_paging_faults_drawn_at_random_never_shorten_a_listing(vendor: str) -> None:
    """Every paging fault mixed with no fault, many seeds: a listing is whole, or it raises. A fault is never
    injected right after another, so no two lies in a row pass for the end of a CleverFox listing."""
    sim, expected = baseline(vendor)
    listings = vendor_listings(vendor, sim)
    outcomes = {"whole": 0, "raised": 0}
    for seed in range(12):
        conn = connect_sandbox(
            vendor, size=SIZE, retry=ONE_TRY, faults=Faults(rate=0.35, kinds=tuple(PagingFault), seed=seed)
        )
        counter = conn.transport.faults_injected
        for name, make in listings.items():
            before = sum(counter.values())
            try:
                got = list(make(conn))
            except DecodingError:
                outcomes["raised"] += 1
                continue
            assert sum(counter.values()) == before, f"{name}: a paging fault was injected, the listing passed"
            assert got == expected[name], name
            outcomes["whole"] += 1
    assert outcomes["whole"] and (outcomes["raised"] or vendor == "idrive360"), outcomes


def test_a_paging_fault_is_never_injected_right_after_another() -> None:
    """A short page 2 and then an empty page 3 would pass for the end of a CleverFox listing (no total): the
    transport answers the request after a paging fault as it is, so the short page is caught."""
    from backupbridge_cleverfox import CleverFoxSimulator

    class Scripted(SimulatorTransport):
        def __init__(self, handle: Any, script: list[Any]) -> None:
            super().__init__(handle)
            self.script = iter(script)

        def _draw(self) -> Any:
            self.requests += 1
            return next(self.script, None)

    sim = CleverFoxSimulator(SimulatorOptions(size=SIZE))
    assert 21 < len(sim.tables["devices"]) <= 28  # pages of 7: three full ones and a short last one
    transport = Scripted(sim.handle, [None, PagingFault.SHORT_PAGE, PagingFault.EMPTY_PAGE])
    conn = connect_sandbox("cleverfox", simulator=sim, retry=ONE_TRY)
    conn._session.client._transport = transport
    with pytest.raises(DecodingError, match="page 2 held 6 of the 7 records asked for"):
        list(conn.vendor.devices.list(page_size=7))
    assert transport.faults_injected == {PagingFault.SHORT_PAGE: 1}


def test_more_pages_than_the_total_allows_raises() -> None:
    """A parser that keeps finding a next page of one record: the stated total of 6 allows 2 pages of 3."""

    def call_at(index: int) -> Call:
        return Call(method="GET", path="/things", operation="things.list", params={"page": index, "size": 3})

    def parse(answer: Reply, call: Call) -> Page[Any]:
        return Page(items=answer.json()["items"], total=6, next=call_at(page_of(call) + 1))

    paging: Paging[Any] = Paging(end=End.NEXT, page_size=3, id_of=BY_ID)
    with pytest.raises(DecodingError, match="page 3 is more pages than 6 records in pages of 3 allow"):
        drive(paginate(call_at(0), parse, paging), lambda c: reply(c, {"items": [{"id": page_of(c)}]}))


def test_async_listings_are_checked_the_same_way() -> None:
    import asyncio

    from backupbridge.sandbox import connect_sandbox_async

    async def main() -> None:
        faults = Faults(rate=1.0, kinds=(PagingFault.IGNORED_PAGING,))
        async with connect_sandbox_async("vprotect", size=SIZE, retry=ONE_TRY, faults=faults) as conn:
            with pytest.raises(DecodingError, match="ignores the paging parameters"):
                [vm async for vm in conn.vendor.virtual_machines.list(size=5)]

    asyncio.run(main())
