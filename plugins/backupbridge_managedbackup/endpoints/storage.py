"""Destinations and Accounts: ``conn.vendor.destinations``, ``conn.vendor.accounts``."""

from __future__ import annotations

from collections.abc import Generator, Mapping

from backupbridge import InvalidRequestError, NotFoundError
from backupbridge.plugin import Batch, Call, ListOp, Op, Param, Raw, Reply

from ..auth import VENDOR
from ..records import UserDestination
from .common import API, answer, is_email, is_guid, raw_rows, sends

ADD = API.none("POST /Destinations", "destinations.add", **sends("UserID", "AccountID"))
UPDATE = API.none("PUT /Destinations", "destinations.update", **sends("ID", "UserID"))
DELETE = API.none(
    "DELETE /Destinations/{destination_id}",
    "destinations.delete",
    path={"destination_id": is_guid},
    query={"user_id": Param(is_guid, wire="UserID", required=True, field="user_id")},
)
FOR_USER = API.many(
    "GET /Destinations/{user_email}", UserDestination, "destinations.for_user", path={"user_email": is_email}, id="id"
)

_TO_DESTINATION = ("AccountID", "Destination")
ACCOUNTS = API.many("GET /Accounts", dict, "accounts.list")
GET_ACCOUNT = API.none("GET /Accounts/{account_id}", "accounts.get", path={"account_id": is_guid})
CREATE_ACCOUNT = API.none("POST /Accounts", "accounts.create", **sends("DisplayName", "Type"))
UPDATE_ACCOUNT = API.none("PUT /Accounts", "accounts.update", **sends("AccountID"))
ADD_DESTINATION = API.none("POST /Accounts/AddDestination", "accounts.add_destination", **sends(*_TO_DESTINATION))
CREATE_DESTINATION = API.none(
    "POST /Accounts/CreateDestination", "accounts.create_destination", **sends(*_TO_DESTINATION)
)
EDIT_DESTINATION = API.none("PUT /Accounts/EditDestination", "accounts.edit_destination", **sends(*_TO_DESTINATION))
REMOVE_DESTINATION = API.none(
    "PUT /Accounts/RemoveDestination", "accounts.remove_destination", **sends(*_TO_DESTINATION)
)


class Destinations:
    def add(self, payload: Mapping[str, object]) -> Op[object]:
        """``POST api/Destinations`` (UserID and AccountID required)."""
        return answer(ADD, payload=payload)

    def update(self, payload: Mapping[str, object]) -> Op[object]:
        """``PUT api/Destinations`` (ID and UserID required)."""
        return answer(UPDATE, payload=payload)

    def delete(self, destination_id: str, user_id: str) -> Op[None]:
        """``DELETE api/Destinations/{ID}?UserID={UserID}``."""
        return DELETE(destination_id=destination_id, user_id=user_id)

    def for_user(self, user_email: str) -> ListOp[UserDestination]:
        """``GET api/Destinations/{UserEmail}``; an unknown login (the API's 406) is ``NotFoundError``."""
        whole = FOR_USER.whole(user_email=user_email)

        def steps() -> Generator[Call | Batch[UserDestination], Reply | None, None]:
            try:
                pairs = yield from whole
            except InvalidRequestError as exc:
                if exc.status_code != 406:
                    raise
                raise NotFoundError(
                    f"{VENDOR} knows no user {user_email}",
                    status_code=406,
                    vendor=VENDOR,
                    operation="destinations.for_user",
                    field="UserEmail",
                ) from exc
            yield Batch([record for record, _ in pairs])

        return ListOp("destinations.for_user", steps)


class Accounts:
    def list(self) -> ListOp[Raw]:
        """``GET api/Accounts``."""
        return raw_rows(ACCOUNTS.pairs())

    def get(self, account_id: str) -> Op[object]:
        """``GET api/Accounts/{ID}``."""
        return answer(GET_ACCOUNT, account_id=account_id)

    def create(self, payload: Mapping[str, object]) -> Op[object]:
        """``POST api/Accounts`` (DisplayName and Type required)."""
        return answer(CREATE_ACCOUNT, payload=payload)

    def update(self, payload: Mapping[str, object]) -> Op[object]:
        """``PUT api/Accounts`` (AccountID required)."""
        return answer(UPDATE_ACCOUNT, payload=payload)

    def add_destination(self, payload: Mapping[str, object]) -> Op[object]:
        """``POST api/Accounts/AddDestination``: attach existing buckets to a storage account."""
        return answer(ADD_DESTINATION, payload=payload)

    def create_destination(self, payload: Mapping[str, object]) -> Op[object]:
        """``POST api/Accounts/CreateDestination``: create a bucket on a storage account."""
        return answer(CREATE_DESTINATION, payload=payload)

    def edit_destination(self, payload: Mapping[str, object]) -> Op[object]:
        """``PUT api/Accounts/EditDestination``."""
        return answer(EDIT_DESTINATION, payload=payload)

    def remove_destination(self, payload: Mapping[str, object]) -> Op[object]:
        """``PUT api/Accounts/RemoveDestination``."""
        return answer(REMOVE_DESTINATION, payload=payload)
