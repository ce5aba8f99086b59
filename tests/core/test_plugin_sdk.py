"""The plugin SDK: ops are values (runnable again), composed through public combinators."""

from __future__ import annotations

import asyncio
from collections.abc import Generator

import pytest

from backupbridge.http import Batch, Call, ListOp, Op, Reply, collect, then, with_reply
from backupbridge.sandbox import connect_sandbox, connect_sandbox_async

VENDORS = ["idrive360", "cleverfox", "managedbackup", "vprotect"]


@pytest.mark.parametrize("vendor", VENDORS)
def test_an_op_run_twice_returns_the_same_result_twice(vendor: str) -> None:
    with connect_sandbox(vendor, seed=3, size=12) as conn:
        first = next(iter(conn.list_devices()))
        op = conn._driver.get_device(first.id)
        once = conn.run(op)
        again = conn.run(op)
    assert once is not None
    assert again == once


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_listing_iterated_twice_yields_every_record_twice(vendor: str) -> None:
    with connect_sandbox(vendor, seed=3, size=12) as conn:
        listing = conn._driver.list_devices()
        once = [d.id for d in conn.iterate(listing)]
        again = [d.id for d in conn.iterate(listing)]
    assert once
    assert again == once


def test_async_op_and_listing_run_twice() -> None:
    async def main() -> tuple[list[str], list[str]]:
        async with connect_sandbox_async("cleverfox", seed=1, size=8) as conn:
            listing = conn._driver.list_companies()
            once = [c.id async for c in conn.iterate(listing)]
            again = [c.id async for c in conn.iterate(listing)]
            return once, again

    once, again = asyncio.run(main())
    assert once and again == once


def _steps() -> Generator[Call, Reply, int]:
    reply = yield Call(method="GET", path="/x", operation="x")
    return int(reply.status_code)


def test_an_op_built_from_a_spent_generator_refuses_a_second_run_loudly() -> None:
    op: Op[int] = Op("x", _steps())
    next(op.steps)
    with pytest.raises(RuntimeError, match="already run"):
        _ = op.steps


def test_an_op_needs_a_generator_function() -> None:
    with pytest.raises(TypeError, match="generator function"):
        Op("x", 42)  # type: ignore[arg-type]


def test_then_and_with_reply_compose_without_pulling_steps() -> None:
    base: Op[int] = Op("x", _steps)
    doubled = then(base, lambda n: n * 2)
    steps = doubled.steps
    call = next(steps)
    assert call.path == "/x"
    reply = Reply(200, __import__("httpx").Headers(), b"{}", "GET /x", "v", "x")
    with pytest.raises(StopIteration) as stop:
        steps.send(reply)
    assert stop.value.value == 400

    def outer() -> Generator[Call, Reply, tuple[int, int]]:
        result, last = yield from with_reply(base)
        return result, last.status_code

    steps2 = outer()
    next(steps2)
    with pytest.raises(StopIteration) as stop2:
        steps2.send(reply)
    assert stop2.value.value == (200, 200)


def test_collect_runs_a_listing_value_again() -> None:
    def pages() -> Generator[Call | Batch[int], Reply | None, None]:
        yield Batch([1, 2])

    listing: ListOp[int] = ListOp("l", pages)
    for _ in range(2):
        gen = collect(listing)
        with pytest.raises(StopIteration) as stop:
            next(gen)
        assert stop.value.value == [1, 2]


# -- the SDK boundary ----------------------------------------------------------------------------------------

PLUGINS = __import__("pathlib").Path(__file__).resolve().parents[2] / "plugins"
ALLOWED = {"backupbridge", "backupbridge.plugin"}


def _core_imports(source: str) -> set[str]:
    import ast

    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        found |= {m for m in modules if m == "backupbridge" or m.startswith("backupbridge.")}
    return found


def test_plugins_import_only_the_public_api_and_the_sdk() -> None:
    files = sorted(PLUGINS.rglob("*.py"))
    assert len(files) > 20
    offenders = {
        f"{path.relative_to(PLUGINS)}: {module}"
        for path in files
        for module in _core_imports(path.read_text())
        if module not in ALLOWED
    }
    assert not offenders, sorted(offenders)


def test_the_scan_catches_a_private_import() -> None:
    assert _core_imports("from backupbridge.convert import WIRE\nimport backupbridge.http as h\n") == {
        "backupbridge.convert",
        "backupbridge.http",
    }


def test_every_sdk_name_is_importable() -> None:
    import backupbridge.plugin as sdk

    missing = [name for name in sdk.__all__ if not hasattr(sdk, name)]
    assert not missing


def test_every_plugin_package_ships_py_typed() -> None:
    packages = [p for p in PLUGINS.iterdir() if (p / "__init__.py").exists()]
    assert {
        "backupbridge_idrive360",
        "backupbridge_cleverfox",
        "backupbridge_managedbackup",
        "backupbridge_vprotect",
    } <= {p.name for p in packages}
    assert all((p / "py.typed").exists() for p in packages)


def test_cleverfox_declares_its_agent_key_and_redaction_keeps_generic_names() -> None:
    from backupbridge import redaction
    from backupbridge.plugins import get_vendor

    assert "ApiKey" in get_vendor("cleverfox").secret_fields
    assert redaction.scrub_json({"ApiKey": "agent-key-123"}) == {"ApiKey": redaction.REDACTED}
    source = __import__("inspect").getsource(redaction)
    assert '"ApiKey"' not in source  # no vendor's own field name in the core


def test_a_vendor_declaration_registers_its_secret_fields() -> None:
    from backupbridge import CredentialField, Driver, Vendor, redaction
    from backupbridge.http import BearerAuth

    assert redaction.scrub_json({"TutorialAgentSecret": "s3cr3t-value"}) == {"TutorialAgentSecret": "s3cr3t-value"}
    Vendor(
        name="secretfieldvendor",
        title="T",
        credentials=(CredentialField(name="api_key", env="T_API_KEY"),),
        make_auth=lambda creds, base_url: BearerAuth(creds["api_key"]),
        make_driver=Driver,
        capabilities=frozenset(),
        secret_fields=("TutorialAgentSecret",),
    )
    assert redaction.scrub_json({"TutorialAgentSecret": "s3cr3t-value"}) == {"TutorialAgentSecret": redaction.REDACTED}


@pytest.mark.parametrize("vendor", VENDORS)
def test_simulators_declare_their_truth(vendor: str) -> None:
    from backupbridge.plugin import SimulatorBase

    with connect_sandbox(vendor, seed=2, size=10) as conn:
        sim = conn.simulator  # type: ignore[attr-defined]
        assert isinstance(sim, SimulatorBase)
        assert {d.id for d in conn.list_devices()} == sim.device_ids()
        assert set(sim.secrets()) >= {v for k, v in sim.credentials.items() if k in ("api_key", "password")}


def test_a_make_auth_that_cannot_take_the_base_url_is_refused_when_declared() -> None:
    from backupbridge import CredentialField, Driver, Vendor
    from backupbridge.http import BearerAuth

    with pytest.raises(TypeError, match=r"'onearg'.*make_auth\(credentials, base_url\)"):
        Vendor(
            name="onearg",
            title="T",
            credentials=(CredentialField(name="api_key", env="T_API_KEY"),),
            make_auth=lambda creds: BearerAuth(creds["api_key"]),  # type: ignore[arg-type,misc]
            make_driver=Driver,
            capabilities=frozenset(),
        )


# Every vendor's tests under tests/plugins/<vendor>/ follow one naming scheme, so the same concern is found
# under the same name for each vendor.
TEST_SCHEME = {
    "test_endpoints.py": "every vendor-client endpoint against the simulator, sync and async",
    "test_auth_and_input.py": "login/auth, and bad input refused before any request",
    "test_mapping.py": "vendor records -> the neutral model",
    "test_cassettes.py": "documented exchanges replayed",
    "test_real_payloads.py": "payload shapes seen beyond the docs",
    "test_neutral.py": "the neutral operations against the simulator",
    "test_errors.py": "the vendor's documented error table",
    "test_writes.py": "writes: checked, duplicate-proof, honest",
}
REQUIRED = {"test_endpoints.py", "test_mapping.py", "test_cassettes.py", "test_real_payloads.py"}


def test_vendor_test_files_are_named_alike() -> None:
    root = PLUGINS.parent / "tests" / "plugins"
    vendors = [root / name for name in VENDORS]  # the backup vendors (a sink plugin such as connectwise is not one)
    assert all((v / "__init__.py").exists() for v in vendors)
    for vendor in vendors:
        names = {p.name for p in vendor.glob("test_*.py")}
        assert names <= set(TEST_SCHEME), (vendor.name, sorted(names - set(TEST_SCHEME)))
        assert REQUIRED <= names, (vendor.name, sorted(REQUIRED - names))


def test_a_typed_vendor_client_per_vendor() -> None:
    """``backupbridge_<vendor>.api(conn)`` is the vendor client typed as its class (mypy checks the record type
    below: this file is under mypy --strict); another vendor's connection is refused."""
    import backupbridge_cleverfox
    from backupbridge_cleverfox.client import CleverFoxAPI
    from backupbridge_cleverfox.records import DeviceRecord

    with connect_sandbox("cleverfox", seed=1, size=5) as conn:
        api: CleverFoxAPI = backupbridge_cleverfox.api(conn)
        first = next(iter(conn.list_devices()))
        record: DeviceRecord = conn.run(api.devices.get(first.id))
        assert str(record.device_id) == first.id
        assert conn.api_as(CleverFoxAPI) is api
    with connect_sandbox("vprotect", size=3) as other, pytest.raises(TypeError, match="not CleverFoxAPI"):
        backupbridge_cleverfox.api(other)
