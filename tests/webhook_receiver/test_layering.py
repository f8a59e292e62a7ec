"""The receiver stays an edge and the workers never load Flask. Which imports are allowed is
the import contracts' job (.importlinter, tests/test_architecture.py); this checks what a
process really loads, dynamic imports included."""

import subprocess
import sys


def test_importing_the_tasks_does_not_import_flask():
    code = (
        "import sys, workers.inbox.tasks, workers.cleanup.tasks, workers.reconcile.tasks,"
        " workers.beat.maintenance; print('flask' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "False"
