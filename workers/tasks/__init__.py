"""Celery tasks: thin wrappers, one module per flow. Importing this registers them all.

Task names are explicit (`mediasync.<flow>.<verb>`) so moving code never strands messages
already in Redis.
"""

from workers.tasks import cleanup, inbox, maintenance, reconcile

__all__ = ["cleanup", "inbox", "maintenance", "reconcile"]
