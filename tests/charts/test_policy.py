"""Every workload the charts render passes the pod policy, whatever profile renders it:
Deployments, the migration Jobs and the `helm test` pods alike.

Non-root, read-only root filesystem, no privilege escalation, every capability dropped, seccomp
RuntimeDefault, requests and limits on every container, a liveness probe on every long-running
container (background roles too, on their metrics port), and images pinned (never `:latest`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "charts"
SERVICE_CHARTS = ("auth-gateway", "tasks", "suggest", "notify", "admin")
Render = Callable[..., list[dict[str, Any]]]
LONG_RUNNING = {"Deployment", "StatefulSet", "DaemonSet"}
PROFILES = {
    "defaults": (),
    "production": ("-f", str(CHARTS / "taskflow" / "values-production.yaml")),
    "development": ("-f", str(CHARTS / "taskflow" / "values-dev.yaml")),
}


def pod_specs(docs: list[dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(kind, name, pod spec) of every object that runs pods."""
    for doc in docs:
        kind = doc["kind"]
        if kind == "Pod":
            yield kind, doc["metadata"]["name"], doc["spec"]
        elif kind in {*LONG_RUNNING, "Job"}:
            yield kind, doc["metadata"]["name"], doc["spec"]["template"]["spec"]
        elif kind == "CronJob":
            yield (
                kind,
                doc["metadata"]["name"],
                doc["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            )


def violations(docs: list[dict[str, Any]]) -> list[str]:
    found = []
    for kind, name, pod in pod_specs(docs):
        where = f"{kind}/{name}"
        pod_context = pod.get("securityContext", {})
        if pod.get("hostNetwork") or pod.get("hostPID") or pod.get("hostIPC"):
            found.append(f"{where}: shares a host namespace")
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            at = f"{where}/{container['name']}"
            context = container.get("securityContext", {})

            def setting(
                key: str, context: dict[str, Any] = context, pod: dict[str, Any] = pod_context
            ) -> Any:
                """The container's setting, else the pod's (the API server's precedence)."""
                return context.get(key, pod.get(key))

            if setting("runAsNonRoot") is not True:
                found.append(f"{at}: may run as root")
            if setting("runAsUser") == 0:
                found.append(f"{at}: runs as uid 0")
            if context.get("readOnlyRootFilesystem") is not True:
                found.append(f"{at}: writable root filesystem")
            if context.get("allowPrivilegeEscalation") is not False:
                found.append(f"{at}: privilege escalation allowed")
            if context.get("privileged"):
                found.append(f"{at}: privileged")
            if context.get("capabilities", {}).get("drop") != ["ALL"]:
                found.append(f"{at}: capabilities not all dropped")
            if context.get("capabilities", {}).get("add"):
                found.append(f"{at}: adds capabilities")
            if (setting("seccompProfile") or {}).get("type") != "RuntimeDefault":
                found.append(f"{at}: seccomp profile is not RuntimeDefault")
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                if not resources.get(part):
                    found.append(f"{at}: no resource {part}")
            if not resources.get("requests", {}).get("memory"):
                found.append(f"{at}: no memory request")
            if not resources.get("limits", {}).get("memory"):
                found.append(f"{at}: no memory limit")
            image = container["image"]
            tag = image.rsplit("/", 1)[-1]
            if "@sha256:" not in image and (":" not in tag or tag.endswith(":latest")):
                found.append(f"{at}: image {image} is not pinned")
            if kind in LONG_RUNNING and "livenessProbe" not in container:
                found.append(f"{at}: no liveness probe")
            if (
                kind in LONG_RUNNING
                and container.get("ports")
                and not (
                    "readinessProbe" in container
                    or all(p["name"] == "metrics" for p in container["ports"])
                )
            ):
                found.append(f"{at}: serves traffic without a readiness probe")
    return found


@pytest.mark.parametrize("profile", PROFILES)
def test_every_rendered_workload_passes_the_pod_policy(render: Render, profile: str) -> None:
    docs = render("taskflow", *PROFILES[profile])
    kinds = {kind for kind, _, _ in pod_specs(docs)}
    assert {"Deployment", "Job", "Pod"} <= kinds, "hooks and test pods must be checked too"
    assert violations(docs) == []


@pytest.mark.parametrize("chart", SERVICE_CHARTS)
def test_each_service_chart_alone_passes_the_pod_policy(render: Render, chart: str) -> None:
    assert violations(render(chart)) == []


def test_background_roles_are_probed_on_their_metrics_port(render: Render) -> None:
    docs = render("taskflow", *PROFILES["production"])
    background = [
        d
        for d in docs
        if d["kind"] == "Deployment"
        and d["metadata"]["labels"]["app.kubernetes.io/component"] != "serve"
    ]
    assert len(background) == 5
    for deployment in background:
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        probe = container["livenessProbe"]["httpGet"]
        assert (probe["path"], probe["port"]) == ("/healthz", "metrics")


def test_the_policy_sees_each_kind_of_violation() -> None:
    """The checker is not toothless: a pod breaking every rule is reported on every rule."""
    bad = {
        "kind": "Deployment",
        "metadata": {"name": "bad"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "image": "busybox:latest",
                            "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}},
                            "ports": [{"name": "http", "containerPort": 80}],
                        }
                    ]
                }
            }
        },
    }
    found = " ".join(violations([bad]))
    for rule in (
        "may run as root",
        "writable root filesystem",
        "privilege escalation",
        "capabilities not all dropped",
        "adds capabilities",
        "seccomp",
        "no resource requests",
        "no resource limits",
        "not pinned",
        "no liveness probe",
        "without a readiness probe",
    ):
        assert rule in found, rule
