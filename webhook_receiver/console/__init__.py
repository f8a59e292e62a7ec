"""The operator console: server-rendered pages under /console/ on the operator API's
queries and actions (workers/operations/). `bp` is registered by webhook_receiver/app.py."""

from webhook_receiver.console import (
    assets,
    audit_log,
    changes,
    cleanups,
    flows,
    inbox,
    login,
    overview,
    reconcile,
)
from webhook_receiver.console.blueprint import bp

# the view modules register their routes on bp when imported
VIEWS = (assets, audit_log, changes, cleanups, flows, inbox, login, overview, reconcile)

__all__ = ["bp"]
