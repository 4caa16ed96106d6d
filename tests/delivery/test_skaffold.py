"""skaffold.yaml, checked without the skaffold CLI (the Go module proxy does not serve it here,
so `skaffold diagnose` cannot run; ADR 0013): a JSON Schema of the fields it uses, with the
names and nesting of Skaffold's v4beta14 schema, then what it points at, rendered with helm."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SKAFFOLD = REPO / "skaffold.yaml"
HELM = Path(
    os.environ.get("TASKFLOW_HELM_BIN") or Path.home() / ".cache" / "taskflow" / "bin" / "helm"
)
SERVICES = sorted(p.parent.name for p in (REPO / "services").glob("*/Dockerfile"))


def closed(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object that accepts only the named fields (a typo is an error, as skaffold says)."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


STRING = {"type": "string"}
STRINGS = {"type": "array", "items": STRING}
PORT_FORWARD = {
    "type": "array",
    "items": closed(
        {
            "resourceType": {"enum": ["pod", "deployment", "service"]},
            "resourceName": STRING,
            "namespace": STRING,
            "port": {"type": "integer"},
            "localPort": {"type": "integer"},
            "address": STRING,
        },
        ("resourceType", "resourceName", "port"),
    ),
}
BUILD = closed(
    {
        "tagPolicy": closed({"gitCommit": closed({"variant": STRING, "prefix": STRING})}),
        "local": closed(
            {
                "push": {"type": "boolean"},
                "useBuildkit": {"type": "boolean"},
                "concurrency": {"type": "integer"},
            }
        ),
        "artifacts": {
            "type": "array",
            "items": closed(
                {
                    "image": STRING,
                    "context": STRING,
                    "docker": closed({"dockerfile": STRING, "target": STRING}),
                },
                ("image",),
            ),
        },
    }
)
RELEASE = closed(
    {
        "name": STRING,
        "chartPath": STRING,
        "namespace": STRING,
        "createNamespace": {"type": "boolean"},
        "skipBuildDependencies": {"type": "boolean"},
        "valuesFiles": STRINGS,
        "setValues": {"type": "object"},
        "setValueTemplates": {"type": "object", "additionalProperties": STRING},
    },
    ("name",),
)
DEPLOY = closed({"helm": closed({"releases": {"type": "array", "items": RELEASE}})})
SCHEMA = closed(
    {
        "apiVersion": {"const": "skaffold/v4beta14"},
        "kind": {"const": "Config"},
        "metadata": closed({"name": STRING}),
        "build": BUILD,
        "deploy": DEPLOY,
        "portForward": PORT_FORWARD,
        "profiles": {
            "type": "array",
            "items": closed(
                {
                    "name": STRING,
                    "activation": {"type": "array", "items": closed({"command": STRING})},
                    "build": BUILD,
                    "deploy": DEPLOY,
                    "portForward": PORT_FORWARD,
                    "patches": {
                        "type": "array",
                        "items": closed(
                            {
                                "op": {"enum": ["add", "remove", "replace"]},
                                "path": STRING,
                                "value": {},
                            },
                            ("path",),
                        ),
                    },
                },
                ("name",),
            ),
        },
    },
    ("apiVersion", "kind"),
)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    data = yaml.safe_load(SKAFFOLD.read_text())
    assert isinstance(data, dict)
    return data


def release(config: dict[str, Any]) -> dict[str, Any]:
    (only,) = config["deploy"]["helm"]["releases"]
    return dict(only)


def profile(config: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(next(p for p in config["profiles"] if p["name"] == name))


def template_name(image: str) -> str:
    """Skaffold's name of an artifact inside value templates: / - . : become _."""
    return re.sub(r"[/\-.:]", "_", image)


def test_schema_refuses_a_misspelt_field(config: dict[str, Any]) -> None:
    config = {**config, "build": {**config["build"], "local": {"useBuildKit": True}}}
    with pytest.raises(jsonschema.ValidationError, match="useBuildKit"):
        jsonschema.validate(config, SCHEMA)


def test_skaffold_yaml_matches_the_schema(config: dict[str, Any]) -> None:
    jsonschema.validate(config, SCHEMA)


def test_one_artifact_per_service_dockerfile_built_from_the_root(config: dict[str, Any]) -> None:
    artifacts = config["build"]["artifacts"]
    assert sorted(a["image"] for a in artifacts) == [f"taskflow/{s}" for s in SERVICES]
    for artifact in artifacts:
        service = artifact["image"].split("/", 1)[1]
        assert artifact["context"] == "."
        assert artifact["docker"]["dockerfile"] == f"services/{service}/Dockerfile"


def test_umbrella_chart_is_deployed_with_the_development_profile(config: dict[str, Any]) -> None:
    umbrella = release(config)
    assert umbrella["chartPath"] == "charts/taskflow"
    assert umbrella["valuesFiles"] == ["charts/taskflow/values-dev.yaml"]
    assert "push" not in config["build"]["local"], "skaffold decides: load locally, else push"
    prod = {p["path"]: p["value"] for p in profile(config, "prod")["patches"]}
    assert prod["/deploy/helm/releases/0/valuesFiles"] == ["charts/taskflow/values-production.yaml"]
    assert prod["/build/local/push"] is True
    for values in (*umbrella["valuesFiles"], *prod["/deploy/helm/releases/0/valuesFiles"]):
        assert (REPO / values).is_file(), values


def test_dev_profile_is_active_in_skaffold_dev(config: dict[str, Any]) -> None:
    assert profile(config, "dev")["activation"] == [{"command": "dev"}]


def test_every_built_image_reaches_its_subchart(config: dict[str, Any]) -> None:
    templates = release(config)["setValueTemplates"]
    for service in SERVICES:
        name = template_name(f"taskflow/{service}")
        assert templates[f"{service}.image.registry"] == ""
        assert templates[f"{service}.image.repository"] == f"{{{{.IMAGE_REPO_{name}}}}}"
        assert (
            templates[f"{service}.image.tag"]
            == f"{{{{.IMAGE_TAG_{name}}}}}@{{{{.IMAGE_DIGEST_{name}}}}}"
        )


def prod_values_files(config: dict[str, Any]) -> list[str]:
    patches = {p["path"]: p["value"] for p in profile(config, "prod")["patches"]}
    return list(patches["/deploy/helm/releases/0/valuesFiles"])


def render(config: dict[str, Any], values_files: list[str] | None = None) -> list[dict[str, Any]]:
    """helm template as skaffold would run it, the value templates filled in as skaffold does."""
    if not HELM.is_file():
        pytest.fail(f"helm is missing at {HELM}: run `scripts/stack up helm` first")
    umbrella = release(config)
    args = ["template", umbrella["name"], str(REPO / umbrella["chartPath"])]
    args += ["--namespace", umbrella["namespace"]]
    for values in umbrella["valuesFiles"] if values_files is None else values_files:
        args += ["-f", str(REPO / values)]
    for key, template in umbrella["setValueTemplates"].items():
        value = re.sub(r"\{\{\.IMAGE_REPO_(\w+)\}\}", r"registry.test/\1", template)
        value = re.sub(r"\{\{\.IMAGE_TAG_\w+\}\}", "abc1234", value)
        value = re.sub(r"\{\{\.IMAGE_DIGEST_\w+\}\}", "sha256:" + "0" * 64, value)
        args += ["--set-string", f"{key}={value}"]
    result = subprocess.run(
        [str(HELM), *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def rendered(config: dict[str, Any]) -> list[dict[str, Any]]:
    return render(config)


@pytest.mark.parametrize("profile_name", ["dev", "prod"])
def test_rendered_workloads_run_the_images_skaffold_built(
    config: dict[str, Any], profile_name: str
) -> None:
    rendered = render(config, None if profile_name == "dev" else prod_values_files(config))
    expected = {
        f"registry.test/{template_name('taskflow/' + s)}:abc1234@sha256:{'0' * 64}"
        for s in SERVICES
    }
    images = {
        container["image"]
        for doc in rendered
        if doc["kind"] in ("Deployment", "Job")
        for container in doc["spec"]["template"]["spec"]["containers"]
    }
    assert images & expected == expected
    assert not {i for i in images if i.startswith(("ghcr.io/taskflow/", "taskflow/"))}


def test_port_forwards_name_rendered_services_and_their_ports(
    config: dict[str, Any], rendered: list[dict[str, Any]]
) -> None:
    forwards = profile(config, "dev")["portForward"]
    namespace = release(config)["namespace"]
    ports = {
        doc["metadata"]["name"]: {p["port"] for p in doc["spec"]["ports"]}
        for doc in rendered
        if doc["kind"] == "Service"
    }
    # the Keycloak operator serves each Keycloak resource as <name>-service on its HTTP port
    for doc in rendered:
        if doc["kind"] == "Keycloak" and doc["spec"]["http"].get("httpEnabled"):
            ports[f"{doc['metadata']['name']}-service"] = {8080}
    in_chart = [f for f in forwards if f["namespace"] == namespace]
    assert {f["localPort"] for f in forwards} == {8080, 8180, 3000}  # gateway, Keycloak, Grafana
    for forward in in_chart:
        assert forward["port"] in ports.get(forward["resourceName"], set()), forward
    # Grafana is installed beside TaskFlow, not by its chart
    (grafana,) = [f for f in forwards if f["namespace"] != namespace]
    assert grafana["resourceName"] == "grafana"
