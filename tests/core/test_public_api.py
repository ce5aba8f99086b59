"""The public surface: __all__ is sorted and honest; records are frozen and hide raw."""

from __future__ import annotations

import attrs
import pytest

import backupbridge
from backupbridge import Device, DeviceStatus, JobStatus, Secret


def test_all_is_sorted_and_every_name_exists() -> None:
    names = [n for n in backupbridge.__all__ if n != "__version__"]
    assert names == sorted(names)
    for name in backupbridge.__all__:
        assert hasattr(backupbridge, name), name


def test_records_are_frozen_and_raw_is_out_of_eq_and_repr() -> None:
    a = Device(vendor="v", account="a", id="1", name="pc", raw={"secret": "payload"})
    b = Device(vendor="v", account="a", id="1", name="pc", raw={"other": 1})
    assert a == b
    assert "payload" not in repr(a)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        a.name = "x"  # type: ignore[misc]


def test_every_enum_has_unknown() -> None:
    for enum_type in (
        DeviceStatus,
        JobStatus,
        backupbridge.OSFamily,
        backupbridge.Frequency,
        backupbridge.NotifyWhen,
        backupbridge.CompanyStatus,
        backupbridge.BackupTarget,
        backupbridge.Destination,
        backupbridge.JobKind,
    ):
        assert enum_type("unknown").name == "UNKNOWN"


def test_secret_never_shows_its_value() -> None:
    secret = Secret("hunter2-very-secret")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert "hunter2" not in f"{secret}"
    assert secret.reveal() == "hunter2-very-secret"


def test_package_ships_py_typed() -> None:
    from importlib.resources import files

    assert files("backupbridge").joinpath("py.typed").is_file()
