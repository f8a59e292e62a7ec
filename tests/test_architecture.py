"""The way through the code (.importlinter, drawn in docs/architecture.md): the contracts
hold on this tree, and each kind of wrong import, added to a copy of it, breaks them."""

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("mediasync", "webhook_receiver", "workers", "db", "cloudinary_emulator")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(root / ".importlinter")],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_tree_keeps_every_contract():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def copy_of_the_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(
            REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO / ".importlinter", root / ".importlinter")
    return root


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        # one flow reaching into another, inside a function (where ad hoc imports hide)
        (
            "workers/inbox/events.py",
            "def _bad():\n    from workers.cleanup import queue  # noqa\n",
            "Inside workers",
        ),
        (
            "workers/reconcile/page.py",
            "import workers.inbox.registers\n",
            "Inside workers",
        ),
        # the core reaching up into a flow, or into the operator operations
        ("workers/config.py", "import workers.beat.schedule\n", "Inside workers"),
        (
            "workers/inbox/batch.py",
            "import workers.operations.queries\n",
            "Inside workers",
        ),
        # a lower layer reaching up
        ("db/models.py", "import workers.config\n", "then the database"),
        ("workers/logs.py", "import webhook_receiver.app\n", "then the database"),
        ("webhook_receiver/health.py", "import mediasync.cli\n", "then the database"),
        # the emulator, in both directions
        ("workers/cloudinary_client.py", "import cloudinary_emulator\n", "emulator"),
        ("cloudinary_emulator/store.py", "import db.json_codec\n", "emulator"),
        # Flask where it does not belong; the webhook edge reaching into a flow's logic
        ("workers/inbox/tasks.py", "import flask\n", "never import Flask"),
        (
            "webhook_receiver/views.py",
            "import workers.inbox.handlers\n",
            "webhook edge",
        ),
    ],
)
def test_a_wrong_import_breaks_a_contract(
    copy_of_the_tree, module, bad_import, contract
):
    path = copy_of_the_tree / module
    original = path.read_text()
    path.write_text(original + "\n\n" + bad_import)
    try:
        result = lint_imports(copy_of_the_tree)
    finally:
        path.write_text(original)
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in " ".join(broken.split()), result.stdout


def test_every_core_module_is_in_the_core_layer():
    """A module added at the top of workers/ is core: it must be listed (else the layers
    contract would not hold it below the flows)."""
    config = configparser.ConfigParser()
    config.read(REPO / ".importlinter")
    core_layer = (
        config["importlinter:contract:workers"]["layers"].strip().splitlines()[-1]
    )
    listed = {name.strip() for name in core_layer.split(":")}
    on_disk = {
        p.stem for p in (REPO / "workers").glob("*.py") if p.name != "__init__.py"
    }
    assert on_disk == listed
    flows = {p.parent.name for p in (REPO / "workers").glob("*/__init__.py")}
    assert flows == {"inbox", "cleanup", "reconcile", "beat", "operations"}
