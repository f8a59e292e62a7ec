"""Celery tasks: thin wrappers, one module per flow. Importing this registers them all.

Task names are explicit (`mediasync.<flow>.<verb>`) so moving code never strands messages
already in Redis.
"""

from workers.tasks import maintenance

__all__ = ["maintenance"]
