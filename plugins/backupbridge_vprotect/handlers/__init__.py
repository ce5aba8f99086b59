"""The vProtect simulator's request handlers, one module per group of controllers.

Each module is a mixin over ``SimState`` (common.py: the tables, the error type, enums and references, paging
and the lookups every group shares) with one ``_route_<group>`` method adding its routes;
``VProtectSimulator`` (simulator.py) composes them on ``SimulatorBase``, which routes, checks the session and
turns a ``Fault`` into the vendor's error body.
"""
