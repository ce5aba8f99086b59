"""The Managed Backup simulator's request handlers, one module per group of the docs' API methods.

Each module is a mixin over ``SimState`` (common.py: the tables, the error type and the lookups every group
shares) with one ``_route_<group>`` method adding its routes; ``ManagedBackupSimulator`` (simulator.py)
composes them on ``SimulatorBase``, which routes, checks the bearer token and turns a ``Fault`` into the
vendor's error body.
"""
