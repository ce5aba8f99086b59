"""Destinations and Accounts: ``conn.vendor.destinations``, ``conn.vendor.accounts``."""

from __future__ import annotations

from collections.abc import Mapping

from backupbridge import BackupBridgeError, InvalidRequestError, NotFoundError
from backupbridge.plugin import ListOp, Op, Param, Raw, Request

from ..auth import VENDOR
from ..records import UserDestination
from .common import API, is_email, is_guid, raw_rows, sends

ADD = API.json("POST /Destinations", "destinations.add", **sends("UserID", "AccountID"))
UPDATE = API.json("PUT /Destinations", "destinations.update", **sends("ID", "UserID"))
DELETE = API.none(
    "DELETE /Destinations/{destination_id}",
    "destinations.delete",
    path={"destination_id": is_guid},
    query={"user_id": Param(is_guid, wire="UserID", required=True, field="user_id")},
)


def _unknown_login(exc: BackupBridgeError, request: Request) -> None:
    """The API's 406 for a login it does not know is a ``NotFoundError``."""
    if isinstance(exc, InvalidRequestError) and exc.status_code == 406:
        raise NotFoundError(
            f"{VENDOR} knows no user {request.args['user_email']}",
            status_code=406,
            vendor=VENDOR,
            operation="destinations.for_user",
            field="UserEmail",
        ) from exc


FOR_USER = API.many(
    "GET /Destinations/{user_email}",
    UserDestination,
    "destinations.for_user",
    path={"user_email": is_email},
    id="id",
    rescue=_unknown_login,
)

_TO_DESTINATION = ("AccountID", "Destination")
ACCOUNTS = API.many("GET /Accounts", dict, "accounts.list")
GET_ACCOUNT = API.json("GET /Accounts/{account_id}", "accounts.get", path={"account_id": is_guid})
CREATE_ACCOUNT = API.json("POST /Accounts", "accounts.create", **sends("DisplayName", "Type"))
UPDATE_ACCOUNT = API.json("PUT /Accounts", "accounts.update", **sends("AccountID"))
ADD_DESTINATION = API.json("POST /Accounts/AddDestination", "accounts.add_destination", **sends(*_TO_DESTINATION))
CREATE_DESTINATION = API.json(
    "POST /Accounts/CreateDestination", "accounts.create_destination", **sends(*_TO_DESTINATION)
)
EDIT_DESTINATION = API.json("PUT /Accounts/EditDestination", "accounts.edit_destination", **sends(*_TO_DESTINATION))
REMOVE_DESTINATION = API.json(
    "PUT /Accounts/RemoveDestination", "accounts.remove_destination", **sends(*_TO_DESTINATION)
)


class Destinations:
    def add(self, payload: Mapping[str, object]) -> Op[object]:
        """``POST api/Destinations`` (UserID and AccountID required)."""
        return ADD(payload=payload)

    def update(self, payload: Mapping[str, object]) -> Op[object]:
        """``PUT api/Destinations`` (ID and UserID required)."""
        return UPDATE(payload=payload)

    def delete(self, destination_id: str, user_id: str) -> Op[None]:
        """``DELETE api/Destinations/{ID}?UserID={UserID}``."""
        return DELETE(destination_id=destination_id, user_id=user_id)

    def for_user(self, user_email: str) -> ListOp[UserDestination]:
        """``GET api/Destinations/{UserEmail}``; an unknown login (the API's 406) is ``NotFoundError``."""
        return FOR_USER(user_email=user_email)


class Accounts:
    def list(self) -> ListOp[Raw]:
        """``GET api/Accounts``."""
        return raw_rows(ACCOUNTS.pairs())

    def get(self, account_id: str) -> Op[object]:
        """``GET api/Accounts/{ID}``."""
        return GET_ACCOUNT(account_id=account_id)

    def create(self, payload: Mapping[str, object]) -> Op[object]:
        """``POST api/Accounts`` (DisplayName and Type required)."""
        return CREATE_ACCOUNT(payload=payload)

    def update(self, payload: Mapping[str, object]) -> Op[object]:
        """``PUT api/Accounts`` (AccountID required)."""
        return UPDATE_ACCOUNT(payload=payload)

    def add_destination(self, payload: Mapping[str, object]) -> Op[object]:
        """``POST api/Accounts/AddDestination``: attach existing buckets to a storage account."""
        return ADD_DESTINATION(payload=payload)

    def create_destination(self, payload: Mapping[str, object]) -> Op[object]:
        """``POST api/Accounts/CreateDestination``: create a bucket on a storage account."""
        return CREATE_DESTINATION(payload=payload)

    def edit_destination(self, payload: Mapping[str, object]) -> Op[object]:
        """``PUT api/Accounts/EditDestination``."""
        return EDIT_DESTINATION(payload=payload)

    def remove_destination(self, payload: Mapping[str, object]) -> Op[object]:
        """``PUT api/Accounts/RemoveDestination``."""
        return REMOVE_DESTINATION(payload=payload)
