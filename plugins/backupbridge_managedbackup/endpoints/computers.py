"""Computers (endpoints) and Monitoring: ``conn.vendor.computers``, ``conn.vendor.monitoring``.

Only Computers and the run history page, by path (``Computers/{offset}/{count}``), checked against
``Count``; every other listing is a bare array in one reply.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from backupbridge.plugin import ListOp, Op, Param, Raw, by_attr, by_key, flag

from ..records import ComputerPlanRecord, ComputerRecord, DiskRecord, MonitoringRecord
from .common import API, COMPUTER_PAGE, is_guid, is_hid, is_whole, page_size, path_pages, raw_rows, sends

_HID = by_attr("computer_hid")
_RUN = by_key("PlanId", "StartTime")  # a history row: one run of one plan
_ON = {"hid": is_hid}
_PLAN = {"hid": is_hid, "plan_id": is_guid}


def _monitoring_id(item: Any) -> Hashable | None:
    """A Monitoring row is the last run of one plan on one computer of one user."""
    row = item[0] if type(item) is tuple else item
    return None if row.plan_id is None else (row.user_id, row.computer_name, row.plan_id)


LIST = API.paged("GET /Computers", ComputerRecord, "computers.list", pages=path_pages("Computers"), id=_HID)
GET = API.one("GET /Computers/{hid}", ComputerRecord, "computers.get", path=_ON)
DISKS = API.many("GET /Computers/{hid}/Disks", DiskRecord, "computers.disks", path=_ON)
PLANS = API.many("GET /Computers/{hid}/Plans", ComputerPlanRecord, "computers.plans", path=_ON, id="id")
CREATE_PLAN = API.json("POST /Computers/{hid}/Plans", "computers.create_plan", path=_ON, **sends("Name"))
PLAN = API.one("GET /Computers/{hid}/Plans/{plan_id}", ComputerPlanRecord, "computers.plan", path=_PLAN)
UPDATE_PLAN = API.json("PUT /Computers/{hid}/Plans/{plan_id}", "computers.update_plan", path=_PLAN, **sends())
DELETE_PLAN = API.none("DELETE /Computers/{hid}/Plans/{plan_id}", "computers.delete_plan", path=_PLAN)
PLAN_INFO = API.json("GET /Computers/{hid}/Plans/{plan_id}/info", "computers.plan_info", path=_PLAN)
START_PLAN = API.json(
    "POST /Computers/{hid}/Plans/{plan_id}/start",
    "computers.start_plan",
    path=_PLAN,
    body={"mode": Param(is_whole, wire="Mode", required=True, field="mode")},
)
STOP_PLAN = API.json(
    "POST /Computers/{hid}/Plans/{plan_id}/stop",
    "computers.stop_plan",
    path=_PLAN,
    body={"force": Param(flag, wire="Force", required=True, field="force")},
)
PLAN_HISTORY = API.many(
    "GET /Computers/{hid}/Plans/{plan_id}/history", dict, "computers.plan_history", path=_PLAN, id=_RUN
)
HISTORY = API.paged(
    "GET /Computers/{hid}/Plans/history", dict, "computers.history", path=_ON, pages=path_pages(None), id=_RUN
)
ALL_HISTORY = API.paged("GET /Computers/Plans/history", dict, "computers.all_history", pages=path_pages(None), id=_RUN)
STATISTICS = API.json("GET /Computers/{hid}/Statistics", "computers.statistics", path=_ON)
USAGE = API.json("GET /Computers/{hid}/Usage", "computers.usage", path=_ON)
AUTHORIZE = API.json(
    "POST /Computers/{hid}/authorization",
    "computers.authorize",
    path=_ON,
    body={"user_id": Param(is_guid, wire="UserId", required=True, field="user_id")},
)
DEAUTHORIZE = API.none("DELETE /Computers/{hid}/authorization", "computers.deauthorize", path=_ON)

MONITORING = API.many("GET /Monitoring", MonitoringRecord, "monitoring.list", id=_monitoring_id)
MONITORING_OF = API.many(
    "GET /Monitoring/{user_id}", MonitoringRecord, "monitoring.for_user", path={"user_id": is_guid}, id=_monitoring_id
)


class Computers:
    def list(self, *, count: int = COMPUTER_PAGE) -> ListOp[ComputerRecord]:
        """``GET api/Computers/{offset}/{count}``, every page, checked against ``Count``."""
        return LIST(page_size=page_size(count, "computers.list"))

    def list_pairs(self, *, count: int = COMPUTER_PAGE) -> ListOp[tuple[ComputerRecord, Raw]]:
        return LIST.pairs(page_size=page_size(count, "computers.list"))

    def get(self, computer_hid: str) -> Op[ComputerRecord]:
        """``GET api/Computers/{hid}``."""
        return GET(hid=computer_hid)

    def get_pair(self, computer_hid: str) -> Op[tuple[ComputerRecord, Raw]]:
        """``get()`` with the raw JSON."""
        return GET.pair(hid=computer_hid)

    def disks(self, computer_hid: str) -> ListOp[DiskRecord]:
        """``GET api/Computers/{hid}/Disks``."""
        return DISKS(hid=computer_hid)

    def plans(self, computer_hid: str) -> ListOp[ComputerPlanRecord]:
        """``GET api/Computers/{hid}/Plans``: backup and restore plans on the computer."""
        return PLANS(hid=computer_hid)

    def plans_pairs(self, computer_hid: str) -> ListOp[tuple[ComputerPlanRecord, Raw]]:
        """``plans()`` as ``(record, raw JSON)`` pairs."""
        return PLANS.pairs(hid=computer_hid)

    def create_plan(self, computer_hid: str, payload: Mapping[str, object]) -> Op[object]:
        """``POST api/Computers/{hid}/Plans`` (Name required)."""
        return CREATE_PLAN(hid=computer_hid, payload=payload)

    def plan(self, computer_hid: str, plan_id: str) -> Op[ComputerPlanRecord]:
        """``GET api/Computers/{hid}/Plans/{planId}``: the plan's details."""
        return PLAN(hid=computer_hid, plan_id=plan_id)

    def update_plan(self, computer_hid: str, plan_id: str, payload: Mapping[str, object]) -> Op[object]:
        """``PUT api/Computers/{hid}/Plans/{planId}``."""
        return UPDATE_PLAN(hid=computer_hid, plan_id=plan_id, payload=payload)

    def delete_plan(self, computer_hid: str, plan_id: str) -> Op[None]:
        """``DELETE api/Computers/{hid}/Plans/{planId}``."""
        return DELETE_PLAN(hid=computer_hid, plan_id=plan_id)

    def plan_info(self, computer_hid: str, plan_id: str) -> Op[object]:
        """``GET api/Computers/{hid}/Plans/{planId}/info``."""
        return PLAN_INFO(hid=computer_hid, plan_id=plan_id)

    def start_plan(self, computer_hid: str, plan_id: str, *, mode: int = 0) -> Op[object]:
        """``POST api/Computers/{hid}/Plans/{planId}/start`` with ``{"Mode": mode}``. Never retried."""
        return START_PLAN(hid=computer_hid, plan_id=plan_id, mode=mode)

    def stop_plan(self, computer_hid: str, plan_id: str, *, force: bool = False) -> Op[object]:
        """``POST api/Computers/{hid}/Plans/{planId}/stop`` with ``{"Force": force}``."""
        return STOP_PLAN(hid=computer_hid, plan_id=plan_id, force=force)

    def plan_history(self, computer_hid: str, plan_id: str) -> ListOp[Raw]:
        """``GET api/Computers/{hid}/Plans/{planId}/history``: past runs of one plan (raw JSON rows)."""
        return raw_rows(PLAN_HISTORY.pairs(hid=computer_hid, plan_id=plan_id))

    def history(self, computer_hid: str, *, count: int = COMPUTER_PAGE) -> ListOp[Raw]:
        """``GET api/Computers/{hid}/Plans/history/{offset}/{count}``: the computer's run history."""
        rows = HISTORY.pairs(hid=computer_hid, page_size=page_size(count, "computers.history"))
        return raw_rows(rows)

    def all_history(self, *, count: int = COMPUTER_PAGE) -> ListOp[Raw]:
        """``GET api/Computers/Plans/history/{offset}/{count}``: run history of every computer."""
        return raw_rows(ALL_HISTORY.pairs(page_size=page_size(count, "computers.all_history")))

    def statistics(self, computer_hid: str) -> Op[object]:
        """``GET api/Computers/{hid}/Statistics``."""
        return STATISTICS(hid=computer_hid)

    def usage(self, computer_hid: str) -> Op[object]:
        """``GET api/Computers/{hid}/Usage``."""
        return USAGE(hid=computer_hid)

    def authorize(self, computer_hid: str, user_id: str) -> Op[object]:
        """``POST api/Computers/{hid}/authorization`` with ``{"UserId": ...}``: ``{ResultCode, ErrorMessage}``."""
        return AUTHORIZE(hid=computer_hid, user_id=user_id)

    def deauthorize(self, computer_hid: str) -> Op[None]:
        """``DELETE api/Computers/{hid}/authorization``."""
        return DEAUTHORIZE(hid=computer_hid)


class Monitoring:
    def list(self) -> ListOp[MonitoringRecord]:
        """``GET api/Monitoring``: the latest run of every plan on every computer."""
        return MONITORING()

    def list_pairs(self) -> ListOp[tuple[MonitoringRecord, Raw]]:
        """``list()`` as ``(record, raw JSON)`` pairs."""
        return MONITORING.pairs()

    def for_user(self, user_id: str) -> ListOp[MonitoringRecord]:
        """``GET api/Monitoring/{UserID}``: the latest runs on the user's online computers."""
        return MONITORING_OF(user_id=user_id)
