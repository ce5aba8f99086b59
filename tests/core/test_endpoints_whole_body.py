"""``whole_body``: a declaration whose JSON body is one argument sent whole (the payload a caller builds),
shared by the Managed Backup, vProtect and IDrive 360 clients."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from backupbridge import ValidationError
from backupbridge.plugin import Param, Refused, Service, Str, extra_field, make_converter, text, used, whole_body


@attrs.frozen(kw_only=True)
class PlanRecord:
    id: str = used()
    name: Str = used()
    extra: dict[str, Any] = extra_field()


def _plan(value: object, field: str) -> dict[str, object]:
    if not isinstance(value, dict) or not value.get("name"):
        raise Refused("a plan needs a name", field="name")
    return {**value, "checked": True}


API = Service("acme", make_converter())
CREATE = API.one("POST /plans", PlanRecord, "plans.create", **whole_body(Param(_plan, required=True, field="body")))
UPDATE = API.one(
    "PUT /plans/{plan_id}",
    PlanRecord,
    "plans.update",
    path={"plan_id": text()},
    **whole_body(Param(_plan, required=True), "plan"),
)


def test_the_checked_argument_is_the_whole_json_body() -> None:
    request = CREATE.request(payload={"name": "nightly", "Keep": 7})
    assert request.call.json == {"name": "nightly", "Keep": 7, "checked": True}
    assert request.call.path == "/plans"


def test_the_argument_is_named_as_declared_beside_path_arguments() -> None:
    request = UPDATE.request(plan_id="p1", plan={"name": "weekly"})
    assert request.call.json == {"name": "weekly", "checked": True}
    assert request.call.path == "/plans/p1"
    with pytest.raises(TypeError, match="payload"):
        UPDATE.request(plan_id="p1", payload={"name": "weekly"})


@pytest.mark.parametrize(("given", "field"), [({}, "body"), ({"payload": {"Keep": 7}}, "name")])
def test_a_missing_or_refused_body_fails_before_any_request(given: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CREATE.request(**given)
    assert caught.value.field == field
    assert caught.value.operation == "plans.create"
