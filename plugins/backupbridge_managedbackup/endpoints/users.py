"""Users and Administrators: ``conn.vendor.users``, ``conn.vendor.administrators``."""

from __future__ import annotations

from collections.abc import Mapping

from backupbridge import ConflictError, InvalidRequestError, NotFoundError
from backupbridge.plugin import ListOp, Op, Param, Raw, Reply, exchange, redact

from ..auth import VENDOR
from ..records import AdministratorRecord, UserRecord
from .common import _GUID, API, consent, decode_reply, is_filled, is_guid, is_secret, raw_rows, sends

_USER = {"user_id": is_guid}
_DATA_TOO = "pass delete_backup_data=True to mean that"

LIST = API.many("GET /Users", UserRecord, "users.list", id="id")
GET = API.json("GET /Users/{user_id}", "users.get", path=_USER)  # 200 with null for an unknown id: read below
AUTHENTICATE = API.one(
    "PUT /Users/Authenticate",
    UserRecord,
    "users.authenticate",
    body={
        "login": Param(is_filled, wire="Email", required=True, field="login"),
        "password": Param(is_secret, wire="Password", required=True, field="login"),
    },
)
UPDATE = API.json("PUT /Users", "users.update", **sends("ID", guids=("ID",)))
CREATE = API.json("POST /Users", "users.create", **sends("Email", "Password", secrets=("Password",)))
DELETE_ACCOUNT = API.none("DELETE /Users/{user_id}/Account", "users.delete_account", path=_USER)
DELETE = API.none(
    "DELETE /Users/{user_id}",
    "users.delete",
    path=_USER,
    args={
        "delete_backup_data": Param(
            consent(
                "DELETE api/Users/{id} deletes the user's backup data as well as the account; "
                f"{_DATA_TOO}, or use users.delete_account() to keep the data"
            ),
            required=True,
        )
    },
)
COMPUTERS = API.many("GET /Users/{user_id}/Computers", dict, "users.computers", path=_USER)
DELETE_COMPUTERS = API.none(
    "DELETE /Users/{user_id}/Computers",
    "users.delete_computers",
    path=_USER,
    args={
        "delete_backup_data": Param(
            consent(f"DELETE api/Users/{{id}}/Computers deletes the computers' backup data too; {_DATA_TOO}"),
            required=True,
        )
    },
)

_ADMIN = {"admin_id": is_guid}
ADMINS = API.many("GET /Administrators", AdministratorRecord, "administrators.list", id="admin_id")
GET_ADMIN = API.one("GET /Administrators/{admin_id}", AdministratorRecord, "administrators.get", path=_ADMIN)
CREATE_ADMIN = API.json(
    "POST /Administrators", "administrators.create", **sends("Email", "Password", secrets=("Password",))
)
UPDATE_ADMIN = API.json("PUT /Administrators", "administrators.update", **sends("AdminID"))
DELETE_ADMIN = API.none("DELETE /Administrators/{admin_id}", "administrators.delete", path=_ADMIN)


class Users:
    def list(self) -> ListOp[UserRecord]:
        """``GET api/Users``."""
        return LIST()

    def get(self, user_id: str) -> Op[UserRecord]:
        """``GET api/Users/{ID}`` (``NotFoundError`` also when the API answers 200 with null)."""

        def finish(reply: Reply) -> UserRecord:
            data = reply.json() if reply.content.strip() else None
            if data is None:
                raise NotFoundError(
                    f"{VENDOR} has no user {user_id}",
                    status_code=reply.status_code,
                    vendor=VENDOR,
                    operation="users.get",
                    field="ID",
                )
            record: UserRecord = decode_reply(UserRecord, reply, data)
            return record

        return exchange(GET.call(user_id=user_id), finish)

    def authenticate(self, login: str, password: str) -> Op[UserRecord]:
        """``PUT api/Users/Authenticate``: the user with this login and password."""
        return AUTHENTICATE(login=login, password=password)

    def update(self, payload: Mapping[str, object]) -> Op[object]:
        """``PUT api/Users`` (ID required)."""
        return UPDATE(payload=payload)

    def create(self, payload: Mapping[str, object]) -> Op[str]:
        """``POST api/Users`` (Email and Password required): the new user's GUID.

        The API answers 200 with an error string instead of a GUID when it refuses ("Email already
        exist"): that becomes ``ConflictError`` (duplicates) or ``InvalidRequestError``.
        """

        def finish(reply: Reply) -> str:
            answer = reply.json() if reply.content.strip() else None
            if isinstance(answer, str) and _GUID.match(answer.strip()):
                return answer.strip().strip("{}")
            text = redact(str(answer))[:200]
            cls = ConflictError if "exist" in text.lower() else InvalidRequestError
            raise cls(
                f"{VENDOR} refused the user: {text}",
                status_code=reply.status_code,
                method="POST",
                vendor=VENDOR,
                operation="users.create",
                vendor_message=text,
                field="Email" if "mail" in text.lower() else None,
            )

        return exchange(CREATE.call(payload=payload), finish)

    def delete_account(self, user_id: str) -> Op[None]:
        """``DELETE api/Users/{id}/Account``: the account only; its backup data stays in storage."""
        return DELETE_ACCOUNT(user_id=user_id)

    def delete(self, user_id: str, *, delete_backup_data: bool = False) -> Op[None]:
        """``DELETE api/Users/{id}``: the account **and all of its backup data**.

        Refused unless ``delete_backup_data=True`` says that is meant; ``delete_account`` keeps the data.
        """
        return DELETE(user_id=user_id, delete_backup_data=delete_backup_data)

    def computers(self, user_id: str) -> ListOp[Raw]:
        """``GET api/Users/{UserID}/Computers``: ``[{DestinationId, ComputerName}]``."""
        return raw_rows(COMPUTERS.pairs(user_id=user_id))

    def delete_computers(self, user_id: str, *, delete_backup_data: bool = False) -> Op[None]:
        """``DELETE api/Users/{userId}/Computers``: computer metadata **and their backup data**.

        Refused unless ``delete_backup_data=True``.
        """
        return DELETE_COMPUTERS(user_id=user_id, delete_backup_data=delete_backup_data)


class Administrators:
    def list(self) -> ListOp[AdministratorRecord]:
        """``GET api/Administrators``."""
        return ADMINS()

    def get(self, admin_id: str) -> Op[AdministratorRecord]:
        """``GET api/Administrators/{ID}``."""
        return GET_ADMIN(admin_id=admin_id)

    def create(self, payload: Mapping[str, object]) -> Op[object]:
        """``POST api/Administrators`` (Email and Password required)."""
        return CREATE_ADMIN(payload=payload)

    def update(self, payload: Mapping[str, object]) -> Op[object]:
        """``PUT api/Administrators`` (AdminID required)."""
        return UPDATE_ADMIN(payload=payload)

    def delete(self, admin_id: str) -> Op[None]:
        """``DELETE api/Administrators/{ID}``."""
        return DELETE_ADMIN(admin_id=admin_id)
