"""Structural checks of rendered Kubernetes objects (dicts); each returns problems.

kubernetes-validate checks every object against the API schema; these check what a schema
cannot: that the objects agree with the code (subcommands, settings, queues) and each other.
"""

from __future__ import annotations

from typing import Any

from tests.deploy.facts import allowed_env, argv_problems, celery_queues

# Kinds from CRDs: kubernetes-validate has no schema for them, so they are checked here.
CRD_KINDS = frozenset({"ScaledObject", "TriggerAuthentication", "PrometheusRule"})
KEDA_API = "keda.sh/v1alpha1"
KEDA_AUTH_PARAMETERS = frozenset({"address", "host", "port", "username", "password"})
WORKER_MIN_GRACE_S = 120
# Deployments whose pods need the schema, so run `mediasync migrate` first.
NEEDS_SCHEMA = ("receiver", "worker", "beat", "listener")


def component(obj: dict[str, Any]) -> str:
    labels = obj.get("metadata", {}).get("labels") or {}
    return str(labels.get("app.kubernetes.io/component", ""))


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d.get("kind") == kind]


def deployment(docs: list[dict[str, Any]], role: str) -> dict[str, Any]:
    for d in by_kind(docs, "Deployment"):
        if component(d) == role:
            return d
    raise LookupError(f"no Deployment with app.kubernetes.io/component={role}")


def _pod(d: dict[str, Any]) -> dict[str, Any]:
    return d.get("spec", {}).get("template", {}).get("spec", {})


def _containers(d: dict[str, Any]) -> list[dict[str, Any]]:
    pod = _pod(d)
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def problems(docs: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for secret in by_kind(docs, "Secret"):
        if secret.get("data") or secret.get("stringData"):
            found.append(f"Secret {secret['metadata']['name']} carries values")
    config_maps = {c["metadata"]["name"]: c for c in by_kind(docs, "ConfigMap")}
    for d in by_kind(docs, "Deployment"):
        found += _deployment_problems(d, config_maps)
    missing = []
    for role in ("receiver", "worker", "beat", "listener", "flower"):
        try:
            deployment(docs, role)
        except LookupError as exc:
            missing.append(str(exc))
    if missing:
        return found + missing
    return found + _role_problems(docs) + _keda_problems(docs)


def _deployment_problems(
    d: dict[str, Any], config_maps: dict[str, dict[str, Any]]
) -> list[str]:
    name = d["metadata"]["name"]
    found = []
    selector = d["spec"].get("selector", {}).get("matchLabels", {})
    labels = d["spec"].get("template", {}).get("metadata", {}).get("labels", {})
    if not selector or any(labels.get(k) != v for k, v in selector.items()):
        found.append(f"{name}: selector {selector} does not match its pod labels")
    for c in _containers(d):
        where = f"{name}/{c['name']}"
        argv = [*c.get("command", []), *c.get("args", [])]
        if argv[:1] != ["mediasync"]:
            found.append(f"{where}: runs {argv[:1]}, not mediasync")
        found += argv_problems(argv[1:], where)
        allowed = allowed_env(argv[1] if len(argv) > 1 else "")
        names = {e["name"] for e in c.get("env", [])}
        for source in c.get("envFrom", []):
            ref = source.get("configMapRef")
            if ref is None:
                found.append(
                    f"{where}: envFrom {source} hides the names; list them in env"
                )
            elif ref["name"] not in config_maps:
                found.append(
                    f"{where}: envFrom ConfigMap {ref['name']} is not rendered"
                )
            else:
                names |= set(config_maps[ref["name"]].get("data", {}))
        found += [
            f"{where}: sets {n}, which no settings module reads"
            for n in sorted(names - allowed)
        ]
        resources = c.get("resources", {})
        requests, limits = resources.get("requests", {}), resources.get("limits", {})
        if not {"cpu", "memory"} <= set(requests) or "memory" not in limits:
            found.append(f"{where}: needs cpu/memory requests and a memory limit")
    return found


def _probe_path(container: dict[str, Any], probe: str) -> str | None:
    return container.get(probe, {}).get("httpGet", {}).get("path")


def _role_problems(docs: list[dict[str, Any]]) -> list[str]:
    found = []
    receiver = _pod(deployment(docs, "receiver"))["containers"][0]
    if _probe_path(receiver, "livenessProbe") != "/healthz":
        found.append("receiver liveness probe is not GET /healthz")
    if _probe_path(receiver, "readinessProbe") != "/readyz":
        found.append("receiver readiness probe is not GET /readyz")
    beat = deployment(docs, "beat")["spec"]
    if beat.get("replicas") != 1 or beat.get("strategy", {}).get("type") != "Recreate":
        found.append("beat must be replicas 1 with strategy Recreate")
    grace = _pod(deployment(docs, "worker")).get("terminationGracePeriodSeconds", 30)
    if grace < WORKER_MIN_GRACE_S:
        found.append(
            f"worker terminationGracePeriodSeconds {grace} < {WORKER_MIN_GRACE_S}"
        )
    for role in NEEDS_SCHEMA:
        init = _pod(deployment(docs, role)).get("initContainers", [])
        if not any(c.get("args", [])[:1] == ["migrate"] for c in init):
            found.append(f"{role} has no `mediasync migrate` initContainer")
    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    receiver_name = deployment(docs, "receiver")["metadata"]["name"]
    if not any(
        h["spec"]["scaleTargetRef"]["name"] == receiver_name
        and any(
            m.get("resource", {}).get("name") == "cpu"
            for m in h["spec"].get("metrics", [])
        )
        for h in hpas
    ):
        found.append("no CPU HorizontalPodAutoscaler targets the receiver")
    for role in ("receiver", "worker"):
        d = deployment(docs, role)
        if "replicas" in d["spec"]:
            found.append(f"{role} sets replicas, which its autoscaler owns")
        labels = d["spec"]["template"]["metadata"]["labels"]
        if not any(
            all(
                labels.get(k) == v
                for k, v in p["spec"]["selector"]["matchLabels"].items()
            )
            for p in by_kind(docs, "PodDisruptionBudget")
        ):
            found.append(f"no PodDisruptionBudget selects the {role} pods")
    return found


def _keda_problems(docs: list[dict[str, Any]]) -> list[str]:
    found = []
    worker = deployment(docs, "worker")["metadata"]["name"]
    auths = {a["metadata"]["name"]: a for a in by_kind(docs, "TriggerAuthentication")}
    scaled = [
        s
        for s in by_kind(docs, "ScaledObject")
        if s["spec"]["scaleTargetRef"]["name"] == worker
    ]
    if len(scaled) != 1:
        return [f"expected one ScaledObject for {worker}, found {len(scaled)}"]
    spec = scaled[0]["spec"]
    if scaled[0].get("apiVersion") != KEDA_API:
        found.append(f"ScaledObject apiVersion is not {KEDA_API}")
    low, high = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
    if not (isinstance(low, int) and isinstance(high, int) and 1 <= low <= high):
        found.append(f"ScaledObject replicas {low}..{high}: need 1 <= min <= max")
    lists = set()
    for trigger in spec.get("triggers", []):
        meta = trigger.get("metadata", {})
        if trigger.get("type") != "redis":
            found.append(f"trigger type {trigger.get('type')!r} is not redis")
            continue
        lists.add(meta.get("listName"))
        if not str(meta.get("listLength", "")).isdigit() or int(meta["listLength"]) < 1:
            found.append(
                f"trigger {meta.get('listName')}: listLength must be a positive integer string"
            )
        ref = trigger.get("authenticationRef", {}).get("name")
        if ref not in auths:
            found.append(
                f"trigger {meta.get('listName')}: TriggerAuthentication {ref!r} not rendered"
            )
    if lists != celery_queues():
        found.append(
            f"ScaledObject watches {sorted(lists)}, the Celery queues are {sorted(celery_queues())}"
        )
    for name, auth in auths.items():
        if auth.get("apiVersion") != KEDA_API:
            found.append(f"TriggerAuthentication {name} apiVersion is not {KEDA_API}")
        for ref in auth.get("spec", {}).get("secretTargetRef", []):
            if (
                ref.get("parameter") not in KEDA_AUTH_PARAMETERS
                or not ref.get("name")
                or not ref.get("key")
            ):
                found.append(f"TriggerAuthentication {name}: bad secretTargetRef {ref}")
    return found
