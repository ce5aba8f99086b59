"""The Managed Backup endpoints, declared on ``backupbridge.plugin.Service`` (common.py), one module per group
of the docs' API methods; each group's class is what ``conn.vendor.<group>`` runs (client.py composes them)."""
