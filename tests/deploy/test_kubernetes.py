"""deploy/: the kustomize render, validated offline against the Kubernetes 1.32 schema."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from tests.deploy import k8s_checks
from tests.deploy.facts import REPO, allowed_env
from tests.deploy.tools import (
    NOT_RENDERED,
    kubectl,
    kubernetes_validate,
    kustomize,
    load_base_without_kustomize,
    validation_problems,
)

BASE = REPO / "deploy" / "base"
PRODUCTION = REPO / "deploy" / "overlays" / "production"


@pytest.fixture(scope="module")
def rendered() -> str:
    """The production overlay as kubectl renders it; without kubectl, the base files
    (conftest.py then says so in the session summary)."""
    if kubectl():
        return kustomize(PRODUCTION)
    return yaml.safe_dump_all(load_base_without_kustomize(BASE))


@pytest.fixture(scope="module")
def docs(rendered) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(rendered) if d]


def test_render_passes_the_strict_schema_check(rendered):
    code, lines = kubernetes_validate(rendered)
    bad, crds = validation_problems(lines)
    assert code == 0, "\n".join(lines)
    assert bad == []
    # The kinds without a schema are exactly those the structural checks cover.
    assert crds == {"ScaledObject", "TriggerAuthentication"}


def test_base_without_kustomize_also_passes():
    # The fallback a machine without kubectl takes must itself be sound.
    code, lines = kubernetes_validate(
        yaml.safe_dump_all(load_base_without_kustomize(BASE))
    )
    assert code == 0, "\n".join(lines)
    assert validation_problems(lines)[0] == []


def test_render_agrees_with_the_code(docs):
    assert k8s_checks.problems(docs) == []


def test_production_overlay_sets_namespace_and_a_pinned_image(docs):
    if not kubectl():
        pytest.skip(NOT_RENDERED)
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "mediasync", doc["metadata"]
    images = {
        c["image"]
        for d in k8s_checks.by_kind(docs, "Deployment")
        for c in [
            *d["spec"]["template"]["spec"].get("initContainers", []),
            *d["spec"]["template"]["spec"]["containers"],
        ]
    }
    assert len(images) == 1
    assert not images.pop().endswith((":latest", "mediasync"))


def test_secret_example_is_not_applied_and_names_only_settings():
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    assert "secret.example.yaml" not in kustomization["resources"]
    secrets = {
        d["metadata"]["name"]: d
        for d in yaml.safe_load_all((BASE / "secret.example.yaml").read_text())
    }
    assert set(secrets["mediasync-secrets"]["stringData"]) <= allowed_env("")


def test_every_secret_reference_is_in_the_example(docs):
    example = {
        d["metadata"]["name"]: set(d["stringData"])
        for d in yaml.safe_load_all((BASE / "secret.example.yaml").read_text())
    }
    referenced = {
        (ref["name"], ref["key"])
        for d in k8s_checks.by_kind(docs, "Deployment")
        for c in [
            *d["spec"]["template"]["spec"].get("initContainers", []),
            *d["spec"]["template"]["spec"]["containers"],
        ]
        for e in c.get("env", [])
        if (ref := e.get("valueFrom", {}).get("secretKeyRef"))
    }
    referenced |= {
        (ref["name"], ref["key"])
        for a in k8s_checks.by_kind(docs, "TriggerAuthentication")
        for ref in a["spec"]["secretTargetRef"]
    }
    missing = {
        (name, key) for name, key in referenced if key not in example.get(name, set())
    }
    assert missing == set()


def test_the_validator_rejects_a_bad_field(rendered):
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    k8s_checks.deployment(docs, "beat")["spec"]["replicas"] = "one"
    code, lines = kubernetes_validate(yaml.safe_dump_all(docs))
    assert code != 0
    assert any("'one' is not of type 'integer'" in line for line in lines), lines


def test_an_unknown_kind_is_not_waved_through(rendered):
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    docs[0] = {**docs[0], "kind": "Deploymnt"}
    code, lines = kubernetes_validate(yaml.safe_dump_all(docs))
    # kubernetes-validate itself exits 0 here: our line check is what fails it
    bad, _ = validation_problems(lines)
    assert any("Deploymnt" in line for line in bad), (code, lines)


def _edit(docs, role, edit):
    docs = copy.deepcopy(docs)
    edit(k8s_checks.deployment(docs, role), docs)
    return docs


def _container(d):
    return d["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize(
    ("role", "edit", "expected"),
    [
        (
            "listener",
            lambda d, _: _container(d).update(args=["listen"]),
            "`listen` is not a mediasync subcommand",
        ),
        (
            "worker",
            lambda d, _: _container(d).update(command=["celery"]),
            "not mediasync",
        ),
        (
            "receiver",
            lambda d, _: _container(d)["readinessProbe"]["httpGet"].update(
                path="/healthz"
            ),
            "readiness probe",
        ),
        (
            "receiver",
            lambda d, _: _container(d)["livenessProbe"]["httpGet"].update(
                path="/readyz"
            ),
            "liveness probe",
        ),
        ("beat", lambda d, _: d["spec"].update(replicas=2), "beat must be replicas 1"),
        (
            "beat",
            lambda d, _: d["spec"].update(strategy={"type": "RollingUpdate"}),
            "Recreate",
        ),
        (
            "worker",
            lambda d, _: d["spec"]["template"]["spec"].update(
                terminationGracePeriodSeconds=30
            ),
            "terminationGracePeriodSeconds 30",
        ),
        (
            "worker",
            lambda d, _: _container(d)["env"].append(
                {"name": "MEDIASYNC_TYPO", "value": "1"}
            ),
            "sets MEDIASYNC_TYPO",
        ),
        (
            "worker",
            lambda d, _: _container(d)["envFrom"].append({"secretRef": {"name": "x"}}),
            "hides the names",
        ),
        (
            "worker",
            lambda d, _: d["spec"]["template"]["spec"].pop("initContainers"),
            "worker has no `mediasync migrate`",
        ),
        ("worker", lambda d, _: d["spec"].update(replicas=3), "worker sets replicas"),
        (
            "worker",
            lambda d, docs: docs.append(
                {"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"a": "b"}}
            ),
            "Secret s carries values",
        ),
        (
            "worker",
            lambda d, docs: k8s_checks.by_kind(docs, "ScaledObject")[0]["spec"][
                "triggers"
            ].pop(),
            "ScaledObject watches",
        ),
        (
            "worker",
            lambda d, docs: k8s_checks.by_kind(docs, "ScaledObject")[0]["spec"].update(
                minReplicaCount=0
            ),
            "need 1 <= min",
        ),
        (
            "worker",
            lambda d, docs: docs.remove(
                k8s_checks.by_kind(docs, "TriggerAuthentication")[0]
            ),
            "not rendered",
        ),
        (
            "worker",
            lambda d, docs: docs.remove(
                k8s_checks.by_kind(docs, "PodDisruptionBudget")[-1]
            ),
            "no PodDisruptionBudget selects the worker",
        ),
        (
            "receiver",
            lambda d, docs: docs.remove(
                k8s_checks.by_kind(docs, "HorizontalPodAutoscaler")[0]
            ),
            "no CPU HorizontalPodAutoscaler",
        ),
    ],
)
def test_structural_checks_catch(docs, role, edit, expected):
    found = k8s_checks.problems(_edit(docs, role, edit))
    assert any(expected in problem for problem in found), found
