"""Many accounts of many vendors at once: ``Bridge`` (threads) and ``AsyncBridge`` (asyncio).

Every listing fans out across the accounts concurrently, bounded overall and per account. One account
failing (a bad key, a vendor down) does not stop the others: its failure is returned beside the records,
as an ``AccountFailure`` naming the vendor, account and operation, never swallowed. Every record already
carries its vendor and account. A listing that fails part-way contributes none of its records (a failure
is never a shorter list), and an account that runs past ``account_timeout`` fails alone with a
``DeadlineExceededError``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import queue
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

import attrs
import httpx

from .activity import apply_activity, summarize, with_activity
from .config import AccountConfig, load_accounts
from .connection import AsyncConnection, Connection, connect, connect_async, tls_verify
from .errors import BackupBridgeError, ConfigurationError, TransportError, ValidationError
from .models import Company, Device, Job, JobStatus, Plan
from .redaction import SecretScope

__all__ = [
    "DEFAULT_ACCOUNT_TIMEOUT",
    "VERDICT_LISTINGS",
    "AccountFailure",
    "AsyncBridge",
    "Bridge",
    "BridgeResult",
    "DeadlineExceededError",
    "Snapshot",
]

T = TypeVar("T")
Progress = Callable[[int, int, str], None]
"""``progress(done, total, account)``: called as each account finishes an operation."""

DEFAULT_ACCOUNT_TIMEOUT = 300.0
"""Seconds one account may take over one fan-out (all its pages and retries) before it fails alone."""

VERDICT_LISTINGS = frozenset({"snapshot", "list_devices", "list_plans", "list_jobs"})
"""The operations health verdicts are built from: one of them failing leaves its account unjudged.
(``list_companies`` only names companies; ``snapshot`` is an account that failed as a whole.)"""


class DeadlineExceededError(TransportError):
    """An account took longer than the Bridge's ``account_timeout``; whatever it returns later is discarded."""

    def __init__(self, seconds: float, *, vendor: str, account: str, operation: str) -> None:
        super().__init__(
            f"deadline exceeded: no complete answer within {seconds:g} s", vendor=vendor, operation=operation
        )
        self.account = account
        self.seconds = seconds


@attrs.frozen(kw_only=True)
class AccountFailure:
    """One account's failure in a fan-out: which vendor, account and operation, and the typed error."""

    vendor: str
    account: str
    operation: str
    error: BackupBridgeError

    @property
    def message(self) -> str:
        return str(self.error)


@attrs.define
class BridgeResult(Generic[T]):
    """The records from every account that answered, and the failures of those that did not."""

    records: list[T] = attrs.field(factory=list)
    failures: list[AccountFailure] = attrs.field(factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def __repr__(self) -> str:
        # A result can hold a million records: its repr counts them (and names the failures) instead of
        # printing them all. asyncio itself reprs a task's result (on Ctrl-C handling in asyncio.run), so a
        # full repr cost every fan-out a noticeable pause.
        return f"BridgeResult(records=<{len(self.records)} records>, failures={self.failures!r})"


@attrs.define
class Snapshot:
    """One pass over every account: companies, devices, plans and runs, with each account's clock and zone.

    A device whose record lacks its last backup has it filled from the runs of the same pass (the newest
    run's status, the newest success's time: ``backupbridge.activity``); with ``since``, those are the runs
    of that window. An account whose run listing failed keeps its devices as listed, and is ``incomplete``.
    """

    companies: list[Company] = attrs.field(factory=list)
    devices: list[Device] = attrs.field(factory=list)
    plans: list[Plan] = attrs.field(factory=list)
    jobs: list[Job] = attrs.field(factory=list)
    failures: list[AccountFailure] = attrs.field(factory=list)
    clocks: dict[tuple[str, str], dt.datetime] = attrs.field(factory=dict)
    timezones: dict[tuple[str, str], dt.tzinfo] = attrs.field(factory=dict)

    @property
    def incomplete(self) -> dict[tuple[str, str], tuple[str, ...]]:
        """``(vendor, account)`` -> the failed operations health depends on (``VERDICT_LISTINGS``).

        Such an account is not judged this pass: its verdicts are ``unknown`` and its alerts are left as they
        were (neither opened nor recovered)."""
        found: dict[tuple[str, str], tuple[str, ...]] = {}
        for failure in self.failures:
            if failure.operation in VERDICT_LISTINGS:
                key = (failure.vendor, failure.account)
                found[key] = (*found.get(key, ()), failure.operation)
        return found

    def __repr__(self) -> str:
        return (
            f"Snapshot(companies=<{len(self.companies)}>, devices=<{len(self.devices)}>, plans=<{len(self.plans)}>, "
            f"jobs=<{len(self.jobs)}>, failures={self.failures!r})"
        )


def _wrap(error: BaseException, vendor: str, account: str, operation: str) -> BackupBridgeError:
    if isinstance(error, BackupBridgeError):
        error.vendor = error.vendor or vendor
        error.account = error.account or account
        error.operation = error.operation or operation
        return error
    wrapped = BackupBridgeError(f"{type(error).__name__}: {error}", vendor=vendor, account=account, operation=operation)
    wrapped.__cause__ = error
    return wrapped


Opener = Callable[[], Connection]


def _ready(conn: Connection) -> Opener:
    return lambda: conn


def _openers(accounts: Iterable[AccountConfig]) -> list[tuple[str, str, Opener]]:
    return [(a.vendor, a.name, lambda a=a: connect(a.vendor, **a.connect_kwargs())) for a in accounts]  # type: ignore[misc]


def _account_names(slots: Sequence[tuple[str, str, Any]]) -> list[str]:
    """``vendor/account`` of each slot, for reprs (never a credential)."""
    return [f"{vendor}/{account}" for vendor, account, _ in slots]


class Bridge:
    """Many accounts, listed concurrently on threads.

    Args:
        connections: ready connections, or
        accounts: account settings (connections are opened on first use; a failure to open is that
            account's failure, not everyone's).
        max_workers: accounts worked on at once (the overall bound; each account runs one listing at a time).
        progress: ``progress(done, total, account)`` as each account finishes.
        account_timeout: seconds one account may take over one fan-out (``None``: no limit). Past it the
            account is reported as failed with ``DeadlineExceededError`` at that moment, and the others carry
            on. A thread cannot be killed: the late one finishes on its own, stops before its next listing,
            and whatever it returns is discarded. It keeps its connection until ``close()``.
    """

    def __init__(
        self,
        connections: Sequence[Connection] = (),
        *,
        accounts: Sequence[AccountConfig] = (),
        max_workers: int = 8,
        progress: Progress | None = None,
        account_timeout: float | None = DEFAULT_ACCOUNT_TIMEOUT,
    ) -> None:
        if max_workers < 1:
            raise ValidationError("max_workers must be at least 1", field="max_workers")
        _check_timeout(account_timeout)
        self._slots: list[tuple[str, str, Opener]] = [(c.vendor_name, c.account, _ready(c)) for c in connections]
        self._slots += _openers(accounts)
        self._opened: dict[int, Connection] = {}
        self._lock = threading.Lock()
        # One lock per account: an account whose opening hangs holds up nobody else.
        self._opening = [threading.Lock() for _ in self._slots]
        # What each account's connection mints (tokens, session cookies) is registered for redaction under
        # its scope, and forgotten when the Bridge closes it.
        self._scopes = [SecretScope() for _ in self._slots]
        self.max_workers = max_workers
        self.progress = progress
        self.account_timeout = account_timeout

    def __repr__(self) -> str:
        return f"Bridge(accounts={_account_names(self._slots)}, max_workers={self.max_workers})"

    @classmethod
    def from_config(cls, path: Path | None = None, **kwargs: Any) -> Bridge:
        """Every account of a configuration file (``config.load_accounts``)."""
        return cls(accounts=load_accounts(path), **kwargs)

    @classmethod
    def sandbox(
        cls,
        vendors: Sequence[str] | None = None,
        *,
        accounts_per_vendor: int = 1,
        seed: int = 0,
        size: int = 40,
        latency: float = 0.0,
        faults: Any = None,
        **kwargs: Any,
    ) -> Bridge:
        """Every built-in simulator (or ``vendors``), ``accounts_per_vendor`` seeded tenants each."""
        from .sandbox import connect_sandbox, sandbox_tenants

        connections = [
            connect_sandbox(vendor, simulator=sim, account=account, latency=latency, faults=faults)
            for vendor, account, sim in sandbox_tenants(
                vendors, accounts_per_vendor=accounts_per_vendor, seed=seed, size=size
            )
        ]
        return cls(connections, **kwargs)

    @property
    def accounts(self) -> list[tuple[str, str]]:
        return [(vendor, account) for vendor, account, _ in self._slots]

    def _connection(self, index: int) -> Connection:
        with self._opening[index]:
            if index not in self._opened:
                conn = self._slots[index][2]()
                with self._lock:
                    self._opened[index] = conn
            return self._opened[index]

    def _fan_out(self, operation: str, work: Callable[[Connection], T]) -> list[tuple[int, T | AccountFailure]]:
        """``work`` on every account, ``max_workers`` at a time, each within ``account_timeout``.

        One thread per account: when an account passes its deadline its slot is freed for the next one, so a
        hung vendor costs the others nothing (a pool would keep the hung worker)."""
        total = len(self._slots)
        limit = self.account_timeout
        finished: queue.SimpleQueue[tuple[int, T | AccountFailure, float]] = queue.SimpleQueue()
        outcomes: dict[int, T | AccountFailure] = {}
        waiting = list(reversed(range(total)))
        running: dict[int, float] = {}  # index -> its deadline (time.monotonic)

        def one(index: int) -> None:
            vendor, account, _ = self._slots[index]
            outcome: T | AccountFailure
            try:
                with self._scopes[index].active():
                    outcome = work(self._connection(index))
            # Each account's failure is reported beside the results. BaseException too: a SystemExit raised in
            # this thread would otherwise end it silently and leave the account waiting for its deadline.
            except BaseException as exc:
                outcome = AccountFailure(
                    vendor=vendor, account=account, operation=operation, error=_wrap(exc, vendor, account, operation)
                )
            finished.put((index, outcome, time.monotonic()))  # when it finished, not when it is read

        def settle(index: int, outcome: T | AccountFailure) -> None:
            outcomes[index] = outcome
            if self.progress is not None:
                self.progress(len(outcomes), total, self._slots[index][1])

        while waiting or running:
            while waiting and len(running) < self.max_workers:
                index = waiting.pop()
                running[index] = time.monotonic() + limit if limit is not None else float("inf")
                threading.Thread(
                    target=one, args=(index,), name=f"backupbridge-{operation}-{index}", daemon=True
                ).start()
            soonest = min(running.values())
            try:
                index, outcome, finished_at = finished.get(
                    timeout=None if limit is None else max(0.0, soonest - time.monotonic())
                )
            except queue.Empty:
                now = time.monotonic()
                for index in [i for i, deadline in running.items() if deadline <= now]:
                    del running[index]
                    settle(index, self._past_deadline(index, operation))
                continue
            if index in running:  # an answer after the deadline was already reported as a failure: dropped
                # Judged by when the work finished, not by when this loop woke up to read it: work that ended
                # after its deadline (it stopped early, see ``_within``) is the deadline's failure.
                late = finished_at > running.pop(index)
                settle(index, self._past_deadline(index, operation) if late else outcome)
        return sorted(outcomes.items(), key=lambda item: item[0])

    def _past_deadline(self, index: int, operation: str) -> AccountFailure:
        vendor, account, _ = self._slots[index]
        error = DeadlineExceededError(self.account_timeout or 0.0, vendor=vendor, account=account, operation=operation)
        return AccountFailure(vendor=vendor, account=account, operation=operation, error=error)

    def _within(self, items: Iterable[T], started: float, conn: Connection, operation: str) -> Iterator[T]:
        """``items`` until the account's deadline: past it, ``DeadlineExceededError``. A thread cannot be
        killed, but a listing that will not end (a server inventing pages) must not go on for ever after its
        account was given up on."""
        limit = self.account_timeout
        if limit is None:
            yield from items
            return
        deadline = started + limit
        for item in items:
            if time.monotonic() > deadline:
                raise DeadlineExceededError(limit, vendor=conn.vendor_name, account=conn.account, operation=operation)
            yield item

    def _listing(self, operation: str, work: Callable[[Connection], Iterable[T]]) -> BridgeResult[T]:
        result: BridgeResult[T] = BridgeResult()

        def bounded(conn: Connection) -> list[T]:
            return list(self._within(work(conn), time.monotonic(), conn, operation))

        for _, outcome in self._fan_out(operation, bounded):
            if isinstance(outcome, AccountFailure):
                result.failures.append(outcome)
            else:
                result.records.extend(outcome)
        return result

    def list_companies(self) -> BridgeResult[Company]:
        return self._listing("list_companies", lambda c: c.list_companies())

    def list_devices(self) -> BridgeResult[Device]:
        """Every account's devices, each filled from its runs where the vendor's device records lack its last
        backup (``Connection.list_devices``: one job listing per such account). A failed job listing is that
        account's ``list_devices`` failure, never devices that look as if they had no backup."""
        return self._listing("list_devices", self._devices)

    def _devices(self, conn: Connection) -> Iterable[Device]:
        if not isinstance(conn, Connection) or not conn._needs_jobs(True):
            return conn.list_devices()  # a connection of another kind fills its devices itself
        return self._filled_devices(conn, time.monotonic())

    def _filled_devices(self, conn: Connection, started: float) -> Iterator[Device]:
        """``conn.list_devices()``, its job listing read within the account's deadline too (a listing of runs
        that never ends stops there, as any listing does)."""
        found = summarize(self._within(conn.list_jobs(), started, conn, "list_devices"))
        for device in conn.list_devices(activity=False):
            yield apply_activity(device, found.get((device.vendor, device.account, device.id)))

    def list_plans(self) -> BridgeResult[Plan]:
        return self._listing("list_plans", lambda c: c.list_plans())

    def list_jobs(self, since: dt.datetime | None = None, status: JobStatus | None = None) -> BridgeResult[Job]:
        return self._listing("list_jobs", lambda c: c.list_jobs(since=since, status=status))

    def snapshot(self, *, since: dt.datetime | None = None) -> Snapshot:
        """Companies, devices, plans and runs of every account in one pass (what ``report`` reads)."""

        def gather(conn: Connection) -> Snapshot:
            started = time.monotonic()
            part = Snapshot()
            part.clocks[(conn.vendor_name, conn.account)] = conn.now()
            part.timezones[(conn.vendor_name, conn.account)] = conn.timezone
            targets: list[tuple[str, list[Any]]] = [
                ("list_companies", part.companies),
                ("list_devices", part.devices),
                ("list_plans", part.plans),
                ("list_jobs", part.jobs),
            ]
            for name, fill in targets:
                if _supported(conn, name):
                    try:
                        # Into a list of its own first: a listing that fails on page 7 adds nothing. Past the
                        # deadline each listing not read fails (never a snapshot that merely looks shorter).
                        fill.extend(list(self._within(_source(conn, name, since), started, conn, name)))
                    except BackupBridgeError as exc:
                        part.failures.append(
                            AccountFailure(
                                vendor=conn.vendor_name,
                                account=conn.account,
                                operation=name,
                                error=_wrap(exc, conn.vendor_name, conn.account, name),
                            )
                        )
            _fill_devices(part)
            return part

        return _merge(self._fan_out("snapshot", gather))

    def close(self) -> None:
        for conn in self._opened.values():
            conn.close()
        for scope in self._scopes:
            scope.release()

    def __enter__(self) -> Bridge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_timeout(seconds: float | None) -> None:
    if seconds is not None and not seconds > 0:
        raise ValidationError("account_timeout must be a positive number of seconds, or None", field="account_timeout")


def _supported(conn: Connection | AsyncConnection, operation: str) -> bool:
    from .models import Capability

    return Capability(operation) in conn.capabilities


def _source(conn: Any, name: str, since: dt.datetime | None) -> Any:
    """One of a snapshot's listings. Its devices come without a job listing of their own: they are filled
    from the snapshot's jobs (``_fill_devices``), which costs no request."""
    if name == "list_jobs":
        return conn.list_jobs(since=since)
    if name == "list_devices":
        known = isinstance(conn, Connection | AsyncConnection)
        return conn.list_devices(activity=False) if known else conn.list_devices()
    return getattr(conn, name)()


def _fill_devices(part: Snapshot) -> None:
    """One account's devices, their empty fields filled from the runs this snapshot read
    (``backupbridge.activity``). When its run listing failed the devices stay as listed: the account is
    then ``incomplete`` (``list_jobs`` is a verdict listing), never judged on devices that only look as if
    they had no backup."""
    if part.devices and part.jobs and not any(f.operation == "list_jobs" for f in part.failures):
        part.devices[:] = with_activity(part.devices, part.jobs)


def _merge(outcomes: Iterable[tuple[int, Snapshot | AccountFailure]]) -> Snapshot:
    merged = Snapshot()
    for _, outcome in outcomes:
        if isinstance(outcome, AccountFailure):
            merged.failures.append(outcome)
            continue
        merged.companies += outcome.companies
        merged.devices += outcome.devices
        merged.plans += outcome.plans
        merged.jobs += outcome.jobs
        merged.failures += outcome.failures
        merged.clocks.update(outcome.clocks)
        merged.timezones.update(outcome.timezones)
    return merged


class LimitedTransport(httpx.AsyncBaseTransport):
    """Holds a request until both the overall and the account's semaphore allow it."""

    def __init__(self, inner: httpx.AsyncBaseTransport, overall: asyncio.Semaphore, account: asyncio.Semaphore) -> None:
        self.inner = inner
        self.overall = overall
        self.account = account

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        async with self.account, self.overall:
            response = await self.inner.handle_async_request(request)
            await response.aread()
        # The slot is free: let the request waiting for it be sent before this answer is decoded. Without
        # this yield every answer of a round was decoded before any waiting request went out, so the
        # slots sat idle in waves (size 2 took 2x the ideal, size 40 4x).
        await asyncio.sleep(0)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


Wrap = Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]
AsyncOpener = Callable[[Wrap], AsyncConnection]
"""``open(wrap)``: an ``AsyncConnection`` whose transport is ``wrap(its own transport)``."""


class AsyncBridge:
    """Many accounts, listed concurrently on one event loop.

    Args:
        accounts: account settings, or
        openers: ``(vendor, account, open)`` triples (``AsyncBridge.sandbox`` builds them for the simulators).
        concurrency: requests in flight at once, overall.
        per_account: requests in flight at once for one account (vendors rate-limit per account).
        progress: ``progress(done, total, account)`` as each account finishes.
        account_timeout: seconds one account may take over one fan-out (``None``: no limit); past it the
            account's work is cancelled and it fails alone with ``DeadlineExceededError``.
    """

    def __init__(
        self,
        *,
        accounts: Sequence[AccountConfig] = (),
        openers: Sequence[tuple[str, str, AsyncOpener]] = (),
        concurrency: int = 32,
        per_account: int = 4,
        progress: Progress | None = None,
        account_timeout: float | None = DEFAULT_ACCOUNT_TIMEOUT,
    ) -> None:
        if concurrency < 1 or per_account < 1:
            raise ValidationError("concurrency and per_account must be at least 1", field="concurrency")
        _check_timeout(account_timeout)
        self.account_timeout = account_timeout
        self._slots = list(openers) + [(a.vendor, a.name, _real_opener(a)) for a in accounts]
        self.concurrency = concurrency
        self.per_account = per_account
        self.progress = progress

    def __repr__(self) -> str:
        return (
            f"AsyncBridge(accounts={_account_names(self._slots)}, concurrency={self.concurrency}, "
            f"per_account={self.per_account})"
        )

    @classmethod
    def from_config(cls, path: Path | None = None, **kwargs: Any) -> AsyncBridge:
        return cls(accounts=load_accounts(path), **kwargs)

    @classmethod
    def sandbox(
        cls,
        vendors: Sequence[str] | None = None,
        *,
        accounts_per_vendor: int = 1,
        seed: int = 0,
        size: int = 40,
        latency: float = 0.0,
        faults: Any = None,
        **kwargs: Any,
    ) -> AsyncBridge:
        """Every built-in simulator (or ``vendors``), ``accounts_per_vendor`` seeded tenants each."""
        from .sandbox import SimulatorTransport, sandbox_tenants

        openers: list[tuple[str, str, AsyncOpener]] = []
        for vendor, account, sim in sandbox_tenants(
            vendors, accounts_per_vendor=accounts_per_vendor, seed=seed, size=size
        ):

            def open_with(wrap: Wrap, vendor: str = vendor, account: str = account, sim: Any = sim) -> AsyncConnection:
                transport = wrap(SimulatorTransport(sim.handle, latency=latency, faults=faults))
                return connect_async(vendor, transport=transport, account=account, clock=sim.now, **sim.credentials)

            openers.append((vendor, account, open_with))
        return cls(openers=openers, **kwargs)

    @property
    def accounts(self) -> list[tuple[str, str]]:
        return [(vendor, account) for vendor, account, _ in self._slots]

    async def _fan_out(
        self, operation: str, work: Callable[[AsyncConnection], Awaitable[T]]
    ) -> list[T | AccountFailure]:
        overall = asyncio.Semaphore(self.concurrency)
        total, done = len(self._slots), 0

        async def one(vendor: str, account: str, opener: AsyncOpener) -> T | AccountFailure:
            nonlocal done
            per_account = asyncio.Semaphore(self.per_account)
            deadline = asyncio.timeout(self.account_timeout)
            # The connection lives for this fan-out: what it mints is forgotten with it (this task's context
            # only; the tasks it starts inherit the scope). A long-running process doing pass after pass
            # keeps the tokens of the open connections alone.
            scope = SecretScope()
            scoped = scope.enter()
            try:
                async with deadline:
                    conn = opener(lambda inner: LimitedTransport(inner, overall, per_account))
                    try:
                        return await work(conn)
                    finally:
                        await conn.aclose()
            except TimeoutError as exc:
                if not deadline.expired():
                    return AccountFailure(
                        vendor=vendor,
                        account=account,
                        operation=operation,
                        error=_wrap(exc, vendor, account, operation),
                    )
                error = DeadlineExceededError(
                    self.account_timeout or 0.0, vendor=vendor, account=account, operation=operation
                )
                return AccountFailure(vendor=vendor, account=account, operation=operation, error=error)
            except (Exception, SystemExit) as exc:  # reported beside the results, never swallowed
                return AccountFailure(
                    vendor=vendor, account=account, operation=operation, error=_wrap(exc, vendor, account, operation)
                )
            finally:
                scope.exit(scoped)
                scope.release()
                done += 1
                if self.progress is not None:
                    self.progress(done, total, account)

        return await asyncio.gather(*(one(*slot) for slot in self._slots))

    async def _listing(self, operation: str, work: Callable[[AsyncConnection], AsyncIterator[T]]) -> BridgeResult[T]:
        async def collect(conn: AsyncConnection) -> list[T]:
            return [item async for item in work(conn)]

        result: BridgeResult[T] = BridgeResult()
        for outcome in await self._fan_out(operation, collect):
            if isinstance(outcome, AccountFailure):
                result.failures.append(outcome)
            else:
                result.records.extend(outcome)
        return result

    async def list_companies(self) -> BridgeResult[Company]:
        return await self._listing("list_companies", lambda c: c.list_companies())

    async def list_devices(self) -> BridgeResult[Device]:
        """As ``Bridge.list_devices``: filled from one job listing per account that needs it."""
        return await self._listing("list_devices", lambda c: c.list_devices())

    async def list_plans(self) -> BridgeResult[Plan]:
        return await self._listing("list_plans", lambda c: c.list_plans())

    async def list_jobs(self, since: dt.datetime | None = None, status: JobStatus | None = None) -> BridgeResult[Job]:
        return await self._listing("list_jobs", lambda c: c.list_jobs(since=since, status=status))

    async def snapshot(self, *, since: dt.datetime | None = None) -> Snapshot:
        """Companies, devices, plans and runs of every account, the four listings of an account concurrently."""

        async def gather(conn: AsyncConnection) -> Snapshot:
            part = Snapshot()
            key = (conn.vendor_name, conn.account)
            part.clocks[key], part.timezones[key] = conn.now(), conn.timezone

            async def fill(name: str, target: list[Any]) -> None:
                if not _supported(conn, name):
                    return
                try:
                    target.extend([item async for item in _source(conn, name, since)])  # all of it, or nothing
                except BackupBridgeError as exc:
                    part.failures.append(
                        AccountFailure(vendor=key[0], account=key[1], operation=name, error=_wrap(exc, *key, name))
                    )

            await asyncio.gather(
                fill("list_companies", part.companies),
                fill("list_devices", part.devices),
                fill("list_plans", part.plans),
                fill("list_jobs", part.jobs),
            )
            _fill_devices(part)
            return part

        return _merge(enumerate(await self._fan_out("snapshot", gather)))


def _real_opener(account: AccountConfig) -> AsyncOpener:
    def open_with(wrap: Wrap) -> AsyncConnection:
        kwargs = account.connect_kwargs()
        # The shared TLS context (see tls_verify): building one per account would stall the event loop.
        verify = tls_verify(kwargs.pop("verify", True), account.vendor, kwargs.get("base_url") or "")
        return connect_async(account.vendor, transport=wrap(_transport(account, verify)), **kwargs)

    return open_with


def _transport(account: AccountConfig, verify: Any) -> httpx.AsyncBaseTransport:
    """The account's configured transport: httpx's own, or httpx over aiohttp (``transport = "aiohttp"``)."""
    kind = getattr(account, "transport", "httpx")
    if kind == "httpx":
        return httpx.AsyncHTTPTransport(verify=verify)
    if kind == "aiohttp":
        try:
            from httpx_aiohttp import AiohttpTransport
        except ImportError as exc:
            raise ConfigurationError(
                f'account {account.name!r} asks for transport = "aiohttp": install backupbridge[aiohttp]',
                vendor=account.vendor,
            ) from exc
        # The shared context again (or False): without ``verify`` it would load a CA bundle per account. No
        # proxy is taken from the environment (aiohttp's session does not read it).
        return AiohttpTransport(verify=verify)
    raise ConfigurationError(
        f"account {account.name!r}: unknown transport {kind!r} (httpx or aiohttp)", vendor=account.vendor
    )
