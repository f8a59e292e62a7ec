"""The Dockerfile and what `pip install .` puts in the image (no Docker engine needed)."""

from __future__ import annotations

import re
import tomllib

from tests.deploy.facts import REPO

DOCKERFILE = REPO / "Dockerfile"


def test_image_is_a_slim_python_running_mediasync_as_a_non_root_user():
    dockerfile = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    user = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert user, "the image must switch to a non-root USER"
    assert not user[-1].startswith(("root", "0")), user
    assert re.search(r'^ENTRYPOINT \["mediasync"\]$', dockerfile, re.MULTILINE)
    assert re.search(r"pip install \.(\s|$)", dockerfile), (
        "install the package, no extras"
    )


def test_build_context_holds_every_top_level_package():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    assert "*" in ignore, ".dockerignore allow-lists the build context"
    declared = _declared(config)
    if declared is None:  # packages.find: every importable top-level directory
        tops = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests", "bench"}
    else:
        tops = {name.split(".")[0] for name in declared}
    for top in sorted(tops):
        assert f"!{top}" in ignore, f"{top}/ is not in the build context"


def test_pip_install_dot_ships_every_subpackage():
    # The dev venv is an editable install, which finds subpackages by itself; the image's
    # `pip install .` ships only the packages pyproject.toml declares. A package left out
    # (e.g. mediasync.commands) makes `mediasync` fail with ModuleNotFoundError in the image.
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = _declared(config)
    if declared is None:  # packages.find: setuptools discovers them
        return
    tops = {name.split(".")[0] for name in declared}
    on_disk = {
        ".".join(init.parent.relative_to(REPO).parts)
        for top in tops
        for init in (REPO / top).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    missing = sorted(on_disk - set(declared))
    assert missing == [], (
        f"pyproject.toml [tool.setuptools] packages lacks {missing}: the Docker image "
        "would not contain them"
    )


def _declared(config: dict) -> list[str] | None:
    packages = config.get("packages")
    return packages if isinstance(packages, list) else None
