"""The receiver stays an edge: from workers it takes only tasks (to wake them), settings,
the Celery app's configure() and, for the operator API, the plain operator functions; the
workers never import Flask."""

import ast
import subprocess
import sys
from pathlib import Path

import webhook_receiver

ALLOWED = {
    "workers.config": None,
    "workers.inbox.tasks": None,
    "workers.cleanup.tasks": None,
    "workers.reconcile.tasks": None,
    "workers.celery_app": {"configure"},
    # The operator API and the sync gauges (lead's rule, deliberately relaxed): plain
    # Session-in functions, none of which imports Flask; the views own the transactions.
    "workers": {"cleanup_ops", "history", "inbox", "ops_queries", "reconcile"},
    "workers.operations.queries": {"SyncSnapshot", "sync_snapshot"},
    "workers.cleanup.queue": {"drains_for"},
    "workers.rate_governor": {"RateGovernor"},
    # one logging setup for every process
    "workers.logs": {"configure_logging"},
}


def imports_from_workers():
    package = Path(webhook_receiver.__file__).parent
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "workers"
            ):
                yield path.name, node.module, {alias.name for alias in node.names}
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("workers"):
                        yield path.name, alias.name, set()


def test_the_receiver_imports_only_tasks_settings_and_configure_from_workers():
    found = list(imports_from_workers())
    assert found
    for module_file, module, names in found:
        assert module in ALLOWED, (module_file, module)
        allowed_names = ALLOWED[module]
        assert allowed_names is None or names <= allowed_names, (module_file, names)


def test_importing_the_tasks_does_not_import_flask():
    code = "import sys, workers.inbox.tasks, workers.cleanup.tasks, workers.reconcile.tasks; print('flask' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "False"
