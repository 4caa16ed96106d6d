"""Trace sampling: every process gets the same parent-based ratio sampler, next to its OTLP
exporter settings, so a trace is kept or dropped whole across services (docs/kubernetes.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "charts"
SERVICE_CHARTS = ("auth-gateway", "tasks", "suggest", "notify", "admin")
Render = Callable[..., list[dict[str, Any]]]
Helm = Callable[..., Any]
ENDPOINT = "global.taskflow.otel.endpoint=http://otel-collector.observability:4317"
CHARTS_WITH_A_SCHEMA = {"taskflow", *SERVICE_CHARTS}
DEPLOYMENTS = 10  # every process role (tests/charts/test_charts.py)
MIGRATION_JOBS = 4  # tasks, suggest, notify, admin


def _process_envs(docs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """'Kind/name' -> the env of every workload container running a TaskFlow process."""
    envs = {}
    for doc in docs:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            if "OTEL_SERVICE_NAME" in env:
                envs[f"{doc['kind']}/{doc['metadata']['name']}"] = env
    kinds = [key.split("/")[0] for key in envs]
    assert (kinds.count("Deployment"), kinds.count("Job")) == (DEPLOYMENTS, MIGRATION_JOBS)
    return envs


def _sampler(env: dict[str, str]) -> tuple[str | None, float | None]:
    arg = env.get("OTEL_TRACES_SAMPLER_ARG")
    return env.get("OTEL_TRACES_SAMPLER"), None if arg is None else float(arg)


def test_default_values_keep_every_trace_on_every_workload(render: Render) -> None:
    envs = _process_envs(render("taskflow", "--set", ENDPOINT))
    for workload, env in envs.items():
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"], workload
        assert _sampler(env) == ("parentbased_traceidratio", 1.0), workload


def test_production_values_keep_one_trace_in_ten_on_every_workload(
    production_docs: list[dict[str, Any]],
) -> None:
    for workload, env in _process_envs(production_docs).items():
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"], workload
        assert _sampler(env) == ("parentbased_traceidratio", 0.1), workload


def test_no_sampler_without_an_endpoint(default_docs: list[dict[str, Any]]) -> None:
    for workload, env in _process_envs(default_docs).items():
        assert env["OTEL_SDK_DISABLED"] == "true", workload
        assert _sampler(env) == (None, None), workload


def test_a_service_chart_alone_takes_the_ratio(render: Render) -> None:
    docs = render("tasks", "--set", ENDPOINT, "--set-json", "global.taskflow.otel.sampleRatio=0.25")
    envs = [
        {e["name"]: e.get("value") for e in d["spec"]["template"]["spec"]["containers"][0]["env"]}
        for d in docs
        if d["kind"] in ("Deployment", "Job")
    ]
    assert envs
    assert {_sampler(env) for env in envs} == {("parentbased_traceidratio", 0.25)}


def test_every_process_names_its_version_and_pod_on_its_spans(
    production_docs: list[dict[str, Any]],
) -> None:
    for doc in production_docs:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            env = container.get("env", [])
            names = [e["name"] for e in env]
            if "OTEL_SERVICE_NAME" not in names:
                continue
            where = f"{doc['kind']}/{doc['metadata']['name']}"
            attributes = dict(
                pair.split("=", 1)
                for pair in next(
                    e["value"] for e in env if e["name"] == "OTEL_RESOURCE_ATTRIBUTES"
                ).split(",")
            )
            assert attributes["service.version"] == container["image"].rsplit(":", 1)[1], where
            for key, var in (
                ("k8s.pod.name", "K8S_POD_NAME"),
                ("k8s.namespace.name", "K8S_NAMESPACE_NAME"),
                ("k8s.node.name", "K8S_NODE_NAME"),
            ):
                assert attributes[key] == f"$({var})", where
                # defined before it is referenced, from the downward API
                assert names.index(var) < names.index("OTEL_RESOURCE_ATTRIBUTES"), where
                source = next(e for e in env if e["name"] == var)
                assert "fieldRef" in source["valueFrom"], where


def test_the_schemas_refuse_a_ratio_outside_0_to_1(
    helm: Helm, built_charts: Path, schema_violations: Callable[[str], set[tuple[str, str, str]]]
) -> None:
    # --set-json: plain --set passes 1.5 as a string (helm parses only integers and booleans).
    for ratio, bound in (("1.5", "maximum"), ("-0.1", "minimum")):
        result = helm(
            "template", "t", str(built_charts / "taskflow"),
            "--set-json", f"global.taskflow.otel.sampleRatio={ratio}",
            check=False,
        )  # fmt: skip
        assert result.returncode != 0
        expected = {(c, "/global/taskflow/otel/sampleRatio", bound) for c in CHARTS_WITH_A_SCHEMA}
        assert schema_violations(result.stderr) == expected, result.stderr


def test_every_chart_defaults_to_full_sampling() -> None:
    for chart in CHARTS_WITH_A_SCHEMA:
        values = yaml.safe_load((CHARTS / chart / "values.yaml").read_text())
        assert values["global"]["taskflow"]["otel"]["sampleRatio"] == 1.0, chart
