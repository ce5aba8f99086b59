"""Declarative endpoints (``backupbridge.endpoints``): hostile arguments fail before any request, a path
argument never leaves its segment, replies are held to the declared shape, and the ops are values."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import httpx
import pytest

from backupbridge import ConflictError, DecodingError, NotFoundError, ValidationError
from backupbridge.http import RetryPolicy, Session, VendorProfile
from backupbridge.plugin import (
    End,
    Pages,
    Param,
    Refused,
    Request,
    Service,
    Str,
    choice,
    extra_field,
    flag,
    integer,
    make_converter,
    returning,
    text,
    used,
)


@attrs.frozen(kw_only=True)
class ThingRecord:
    id: str = used()
    name: Str = used()
    extra: dict[str, Any] = extra_field()


API = Service("acme", make_converter())
ENVELOPED = Service("acme", make_converter(), envelope="data")

GET = API.one("GET /things/{thing_id}", ThingRecord, "things.get", path={"thing_id": text()})
LIST = API.many(
    "GET /things",
    ThingRecord,
    "things.list",
    id="id",
    query={
        "kind": choice("big", "small", upper=False),
        "active": flag,
        "site": Param(text(max_length=8), wire="siteId"),
    },
)
CREATE = API.one(
    "POST /things",
    ThingRecord,
    "things.create",
    body={"name": Param(text(), required=True), "size": integer(minimum=1, maximum=9)},
)
PAGES = Pages(
    end=End.TOTAL,
    params=lambda index, size: {"page": index + 1, "per_page": size},
    size=2,
    max_size=5,
    total=lambda reply, data: data.get("total") if isinstance(data, dict) else None,
)
PAGED = ENVELOPED.paged("GET /things", ThingRecord, "things.paged", pages=PAGES, id="id")


def _no_sibling_rule(args: Any) -> None:
    if args.get("kind") == "big" and args.get("site") is None:
        raise Refused("a big thing needs a site", field="site")


RULED = API.many(
    "GET /things", ThingRecord, "things.ruled", query={"kind": choice("big", "small"), "site": text()},
    validate=_no_sibling_rule,
)  # fmt: skip


class Server:
    """A MockTransport app that answers from a function and counts what it was sent."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        with httpx.Client(base_url="https://api.example.test/v1", transport=httpx.MockTransport(self)) as client:
            yield Session(client, VendorProfile(name="acme"), retry=RetryPolicy(attempts=1))


def _json(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


# -- arguments ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: GET(thing_id=""), "thing_id"),
        (lambda: GET(thing_id=None), "thing_id"),
        (lambda: GET(thing_id=True), "thing_id"),
        (lambda: LIST(kind="huge"), "kind"),
        (lambda: LIST(active="yes"), "active"),
        (lambda: LIST(active=1), "active"),
        (lambda: LIST(site="a-very-long-site"), "siteId"),
        (lambda: CREATE(name=None), "name"),
        (lambda: CREATE(name="   "), "name"),
        (lambda: CREATE(name="x", size=0), "size"),
        (lambda: CREATE(name="x", size=True), "size"),
        (lambda: CREATE(name="x", size="3"), "size"),
        (lambda: PAGED(page_size=0), "page_size"),
        (lambda: PAGED(page_size=6), "page_size"),
        (lambda: RULED(kind="big"), "site"),
    ],
)
def test_a_bad_argument_fails_before_any_request(build: Callable[[], object], field: str) -> None:
    server = Server(lambda request: _json([]))
    with server.session() as session, pytest.raises(ValidationError) as caught:
        op = build()
        session.run(op)  # type: ignore[arg-type]  # never reached
    assert caught.value.field == field
    assert caught.value.vendor == "acme"
    assert server.requests == []


def test_an_unknown_argument_name_is_a_type_error_not_a_silent_drop() -> None:
    with pytest.raises(TypeError, match="thing"):
        GET(thing="t1")
    with pytest.raises(TypeError, match="page"):
        LIST(page=3)


def test_arguments_go_where_declared_and_none_is_left_out() -> None:
    call = LIST.call(kind="big", active=False, site="s1")
    assert call.query() == [("kind", "big"), ("active", "false"), ("siteId", "s1")]
    assert LIST.call().query() == []
    created = CREATE.call(name="n")
    assert created.json == {"name": "n"} and created.method == "POST" and not created.idempotent


@pytest.mark.parametrize("hostile", ["..", ".", "a/../../admin", "x?debug=1", "x#frag", "%2e%2e", "a\nb", "a/b"])
def test_a_path_argument_never_leaves_its_segment(hostile: str) -> None:
    server = Server(lambda request: _json({"id": "t1"}))
    try:
        op = GET(thing_id=hostile)
    except ValidationError as refused:
        assert refused.field == "thing_id"
        assert server.requests == []
        return
    with server.session() as session:
        session.run(op)
    (sent,) = server.requests
    assert sent.url.path.startswith("/v1/things/")
    assert sent.url.raw_path.count(b"/") == 3  # /v1/things/<one segment>
    assert sent.url.query == b""
    assert sent.url.fragment == ""


def test_dot_segments_are_refused() -> None:
    for hostile in ("..", "."):
        with pytest.raises(ValidationError, match="path segment"):
            GET(thing_id=hostile)


def test_a_template_and_its_path_arguments_must_agree() -> None:
    with pytest.raises(ValueError, match="path template"):
        API.one("GET /things/{thing_id}", ThingRecord, "x", path={"other": text()})
    with pytest.raises(ValueError, match="METHOD /path"):
        API.one("things", ThingRecord, "x")
    with pytest.raises(ValueError, match="declared twice"):
        API.many("GET /things/{a}", ThingRecord, "x", path={"a": text()}, query={"a": text()})
    with pytest.raises(ValueError, match="page_size"):
        API.paged("GET /things", ThingRecord, "x", pages=PAGES, query={"page_size": integer()})


# -- reply shapes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [{"id": "t1"}, "t1", 3, None, {"data": [{"id": "t1"}]}])
def test_a_many_endpoint_given_a_non_list_is_a_decoding_error(body: Any) -> None:
    server = Server(lambda request: _json(body))
    with server.session() as session, pytest.raises(DecodingError, match="expected a JSON array") as caught:
        list(session.iterate(LIST()))
    assert caught.value.endpoint == "GET /things"


def test_a_many_endpoint_given_a_list_of_non_objects_is_a_decoding_error() -> None:
    server = Server(lambda request: _json([{"id": "t1"}, "t2"]))
    with server.session() as session, pytest.raises(DecodingError, match="record 1 is not a JSON object"):
        list(session.iterate(LIST()))


def test_a_many_endpoint_refuses_an_id_twice() -> None:
    server = Server(lambda request: _json([{"id": "t1"}, {"id": "t1"}]))
    with server.session() as session, pytest.raises(DecodingError, match="twice"):
        list(session.iterate(LIST()))


@pytest.mark.parametrize("body", [[{"id": "t1"}], "t1", None])
def test_a_one_endpoint_given_a_non_object_is_a_decoding_error(body: Any) -> None:
    server = Server(lambda request: _json(body))
    with server.session() as session, pytest.raises(DecodingError, match="expected a JSON object"):
        session.run(GET(thing_id="t1"))


@pytest.mark.parametrize(
    ("body", "message"),
    [({"items": []}, "envelope"), ([], "envelope"), ({"data": {"id": "t1"}, "total": 1}, 'list under "data"')],
)
def test_an_enveloped_listing_holds_the_envelope(body: Any, message: str) -> None:
    server = Server(lambda request: _json(body))
    with server.session() as session, pytest.raises(DecodingError, match=message):
        list(session.iterate(PAGED()))


def test_pair_returns_the_record_and_its_raw_object() -> None:
    server = Server(lambda request: _json({"id": "t1", "name": "n", "colour": "red"}))
    with server.session() as session:
        record, raw = session.run(GET.pair(thing_id="t1"))
    assert record == ThingRecord(id="t1", name="n")
    assert raw == {"id": "t1", "name": "n", "colour": "red"}


# -- paging --------------------------------------------------------------------------------------------------


def _paged_server(rows: list[dict[str, Any]], total: int) -> Server:
    def answer(request: httpx.Request) -> httpx.Response:
        page, size = int(request.url.params["page"]), int(request.url.params["per_page"])
        return _json({"data": rows[(page - 1) * size : page * size], "total": total})

    return Server(answer)


def test_a_paged_endpoint_pages_until_the_total_and_is_held_to_it() -> None:
    rows = [{"id": f"t{i}"} for i in range(5)]
    server = _paged_server(rows, 5)
    with server.session() as session:
        assert [r.id for r in session.iterate(PAGED())] == [r["id"] for r in rows]
    assert [dict(r.url.params) for r in server.requests] == [
        {"page": "1", "per_page": "2"},
        {"page": "2", "per_page": "2"},
        {"page": "3", "per_page": "2"},
    ]
    lying = _paged_server(rows, 9)
    with lying.session() as session, pytest.raises(DecodingError, match="incomplete"):
        list(session.iterate(PAGED()))


def test_pages_must_be_declared_whole() -> None:
    with pytest.raises(ValueError, match="total"):
        Pages(end=End.TOTAL, params=lambda index, size: {}, size=10, max_size=10)
    with pytest.raises(ValueError, match="size"):
        Pages(end=End.SHORT_PAGE, params=lambda index, size: {}, size=20, max_size=10)


# -- ops are values -------------------------------------------------------------------------------------------


def test_an_op_runs_twice_with_the_same_result() -> None:
    server = Server(lambda request: _json({"id": request.url.path.rsplit("/", 1)[-1], "name": "n"}))
    op = GET(thing_id="t7")
    with server.session() as session:
        once = session.run(op)
        again = session.run(op)
    assert once == again == ThingRecord(id="t7", name="n")
    assert len(server.requests) == 2


def test_a_listing_iterates_twice_with_the_same_records() -> None:
    rows = [{"id": f"t{i}"} for i in range(3)]
    server = _paged_server(rows, 3)
    listing = PAGED()
    with server.session() as session:
        once = [r.id for r in session.iterate(listing)]
        again = [r.id for r in session.iterate(listing)]
    assert once == again == ["t0", "t1", "t2"]


# -- rescue ------------------------------------------------------------------------------------------------------

DELETE = API.none(
    "DELETE /things/{thing_id}",
    "things.delete",
    path={"thing_id": text()},
    idempotent=True,
    rescue=lambda exc, request: returning(None) if isinstance(exc, NotFoundError) else None,
)


def test_a_rescue_stands_in_for_the_errors_it_accepts_and_lets_others_through() -> None:
    gone = Server(lambda request: _json({"message": "no such thing"}, 404))
    with gone.session() as session:
        assert session.run(DELETE(thing_id="t1")) is None
    clash = Server(lambda request: _json({"message": "busy"}, 409))
    with clash.session() as session, pytest.raises(ConflictError):
        session.run(DELETE(thing_id="t1"))


def test_a_rescue_sees_the_checked_request() -> None:
    seen: list[Request] = []

    def rescue(exc: Exception, request: Request) -> None:
        seen.append(request)

    endpoint = API.none("DELETE /things/{thing_id}", "things.delete", path={"thing_id": text()}, rescue=rescue)
    server = Server(lambda request: _json({}, 404))
    with server.session() as session, pytest.raises(NotFoundError):
        session.run(endpoint(thing_id="a/b"))
    assert seen[0].args == {"thing_id": "a/b"} and seen[0].call.path == "/things/a%2Fb"


def test_argument_checks_one_value_outside_an_endpoint() -> None:
    assert API.argument("op", "n", "7", integer(digits=True)) == 7
    assert API.argument("op", "n", None, integer()) is None
    with pytest.raises(ValidationError, match="n is required"):
        API.argument("op", "n", None, integer(), required=True)
    with pytest.raises(ValidationError) as caught:
        API.argument("op", "n", "x", integer())
    assert caught.value.field == "n" and caught.value.operation == "op"


def test_the_request_json_is_what_was_declared() -> None:
    call = CREATE.call(name="n", size=3)
    assert json.loads(json.dumps(call.json)) == {"name": "n", "size": 3}


def test_pages_name_where_a_page_holds_its_records() -> None:
    """Single objects bare, pages as ``{"data": [...], "total": N}`` (the tutorial's vendor): ``Pages.items``."""
    pages = attrs.evolve(PAGES, items="data")
    listing = API.paged("GET /things", ThingRecord, "things.paged", pages=pages, id="id")
    bare = ENVELOPED.paged("GET /things", ThingRecord, "things.bare", pages=attrs.evolve(PAGES, items=None), id="id")
    server = _paged_server([{"id": "t0"}], 1)
    with server.session() as session:
        assert [r.id for r in session.iterate(listing())] == ["t0"]
        with pytest.raises(DecodingError, match="expected a JSON array"):
            list(session.iterate(bare()))


# -- odd shapes: path paging, records found in a page, listing rescue, untyped JSON, null lists ---------------


def test_a_vendor_paging_by_path_gets_each_page_by_its_segments() -> None:
    """MSP360-style ``GET /computers/{offset}/{count}``, a page ``{"Count": N, "Computers": [...]}``."""
    pages = Pages(
        end=End.TOTAL,
        size=2,
        max_size=10,
        path=lambda index, size: (index * size, size),
        total=lambda reply, data: data.get("Count") if isinstance(data, dict) else None,
        items=lambda reply, data: data.get("Computers") if isinstance(data, dict) else None,
        total_name="Count",
    )
    listing = API.paged("GET /computers", ThingRecord, "computers.list", pages=pages, id="id")
    rows = [{"id": f"c{i}"} for i in range(3)]

    def answer(request: httpx.Request) -> httpx.Response:
        offset, count = (int(part) for part in request.url.path.split("/")[-2:])
        return _json({"Count": 3, "Computers": rows[offset : offset + count]})

    server = Server(answer)
    with server.session() as session:
        assert [r.id for r in session.iterate(listing())] == ["c0", "c1", "c2"]
    assert [r.url.path for r in server.requests] == ["/v1/computers/0/2", "/v1/computers/2/2"]
    broken = Server(lambda request: _json({"Count": 3, "Computers": {"c0": {}}}))
    with broken.session() as session, pytest.raises(DecodingError, match="expected a list of records"):
        list(session.iterate(listing()))
    with pytest.raises(ValueError, match="params, path or both"):
        Pages(end=End.SHORT_PAGE, size=1, max_size=1)


def test_a_listing_rescue_may_raise_another_error_but_never_stands_in() -> None:
    def unknown_login(exc: Exception, request: Request) -> None:
        if getattr(exc, "status_code", None) == 406:
            raise NotFoundError("no such login", status_code=406, vendor="acme") from exc

    listing = API.many("GET /logins/{email}", ThingRecord, "logins.get", path={"email": text()}, rescue=unknown_login)
    refused = Server(lambda request: _json({"message": "not acceptable"}, 406))
    with refused.session() as session, pytest.raises(NotFoundError, match="no such login"):
        list(session.iterate(listing(email="a@b.example")))
    busy = Server(lambda request: _json({"message": "busy"}, 409))
    with busy.session() as session, pytest.raises(ConflictError):
        list(session.iterate(listing(email="a@b.example")))
    fine = Server(lambda request: _json([{"id": "t1"}]))
    with fine.session() as session:
        assert [r.id for r in session.iterate(listing(email="a@b.example"))] == ["t1"]


@pytest.mark.parametrize(("content", "expected"), [(b'"new-id-7"', "new-id-7"), (b"42", 42), (b"", None)])
def test_a_json_endpoint_returns_the_reply_as_parsed(content: bytes, expected: object) -> None:
    endpoint = API.json("POST /things", "things.create_bare", body={"name": Param(text(), required=True)})
    server = Server(lambda request: httpx.Response(200, content=content))
    with server.session() as session:
        assert session.run(endpoint(name="n")) == expected
    with pytest.raises(ValidationError):
        endpoint(name=None)


def test_null_is_an_empty_listing_only_where_declared() -> None:
    lenient = API.many("GET /things", ThingRecord, "things.list", id="id", null_is_empty=True)
    server = Server(lambda request: _json(None))
    with server.session() as session:
        assert list(session.iterate(lenient())) == []
        with pytest.raises(DecodingError, match="expected a JSON array"):
            list(session.iterate(LIST()))


@pytest.mark.parametrize("hostile", ["9" * 5000, " 5", "5 ", "٣", "+5", "-5", "", "1e3", "9" * 20])
def test_a_digit_string_that_is_not_plain_ascii_digits_is_refused(hostile: str) -> None:
    """Was: 5000 digits raised a bare ValueError from int() (Python's digit limit); ' 5' passed via strip()."""
    with pytest.raises(ValidationError) as caught:
        API.argument("op", "n", hostile, integer(digits=True))
    assert caught.value.field == "n"
    assert API.argument("op", "n", "0042", integer(digits=True)) == 42
