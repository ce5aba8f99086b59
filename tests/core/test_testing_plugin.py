"""The pytest plugin integrators use (backupbridge.testing, entry point pytest11), run with pytester."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_fixtures_hand_out_simulated_accounts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import asyncio
        from backupbridge import JobStatus
        from backupbridge.sandbox import Faults, FaultKind

        def test_integration_counts_failures(backupbridge_sandbox):
            conn = backupbridge_sandbox("cleverfox", seed=3, size=12)
            failed = [j for j in conn.list_jobs() if j.status is JobStatus.FAILED]
            truth = [r for r in conn.simulator.tables["logs"].values() if r["JobStatus"] == "Failed"]
            assert len(failed) == len(truth) > 0

        def test_faults_and_latency(backupbridge_sandbox):
            faults = Faults(rate=0.5, kinds=(FaultKind.SERVER_ERROR,), seed=1)
            conn = backupbridge_sandbox("idrive360", size=5, faults=faults)
            assert len(list(conn.list_devices())) == 5
            assert conn.transport.faults_injected

        def test_async(backupbridge_async_sandbox):
            async def main():
                async with backupbridge_async_sandbox("vprotect", size=4) as conn:
                    return [d async for d in conn.list_devices()]
            assert len(asyncio.run(main())) == 4

        def test_every_vendor(backupbridge_vendors):
            assert set(backupbridge_vendors) >= {"idrive360", "cleverfox", "managedbackup", "vprotect"}
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
