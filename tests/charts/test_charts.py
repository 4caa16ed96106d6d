"""The Helm charts lint strictly, render, and what they render is valid Kubernetes.

Built-in kinds are checked with kubernetes-validate in strict mode (unknown fields fail);
custom resources against the openAPIV3Schema of their CRD in shared/crds, closed the same way.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "charts"
SERVICE_CHARTS = ("auth-gateway", "tasks", "suggest", "notify", "admin")
ALL_CHARTS = ("taskflow-lib", *SERVICE_CHARTS, "taskflow")
Render = Callable[..., list[dict[str, Any]]]
Helm = Callable[..., Any]

KUBERNETES_VERSION = "1.31"  # the oldest minor release the charts promise to support
# The peer values-production.yaml admits into every role: Prometheus' namespace.
MONITORING_PEER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
}


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """Close every object that lists its properties, as the API server's strict field
    validation does: a misspelt field in a custom resource must fail, not vanish."""
    schema = copy.deepcopy(schema)

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    # Some CRDs (Keycloak's) leave the envelope out of their schema.
    for field in ("apiVersion", "kind"):
        schema.setdefault("properties", {}).setdefault(field, {"type": "string"})
    schema["properties"].setdefault("metadata", {"type": "object"})
    return schema


def validate(docs: list[dict[str, Any]], crd_schemas: dict[tuple[str, str], Any]) -> list[str]:
    errors = []
    validators: dict[tuple[str, str], jsonschema.Draft7Validator] = {}
    for doc in docs:
        key = (doc["apiVersion"], doc["kind"])
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        if key in crd_schemas:
            if key not in validators:
                validators[key] = jsonschema.Draft7Validator(strict(crd_schemas[key]))
            for error in validators[key].iter_errors(doc):
                errors.append(f"{where}: {'/'.join(map(str, error.path))}: {error.message}")
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{where}: {'/'.join(map(str, error.path))}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{where}: no schema for {key} (neither built in nor a vendored CRD)")
    return errors


def test_every_chart_lints_strictly(helm: Helm, built_charts: Path) -> None:
    result = helm("lint", "--strict", *(str(built_charts / chart) for chart in ALL_CHARTS))
    assert f"{len(ALL_CHARTS)} chart(s) linted, 0 chart(s) failed" in result.stdout


def test_umbrella_lints_strictly_with_production_values(helm: Helm, built_charts: Path) -> None:
    values = CHARTS / "taskflow" / "values-production.yaml"
    helm("lint", "--strict", str(built_charts / "taskflow"), "-f", str(values))


@pytest.mark.parametrize("docs_fixture", ["default_docs", "production_docs"])
def test_umbrella_renders_valid_manifests(
    request: pytest.FixtureRequest, docs_fixture: str, crd_schemas: dict[tuple[str, str], Any]
) -> None:
    docs = request.getfixturevalue(docs_fixture)
    assert validate(docs, crd_schemas) == []
    kinds = {doc["kind"] for doc in docs}
    assert {"Cluster", "RabbitmqCluster", "Exchange", "Queue", "Policy", "Redis"} <= kinds
    assert {"User", "Permission"} <= kinds
    assert {"Keycloak", "KeycloakRealmImport", "HTTPRoute", "PrometheusRule"} <= kinds


@pytest.mark.parametrize("chart", SERVICE_CHARTS)
def test_each_service_chart_renders_valid_manifests_on_its_own(
    render: Render, chart: str, crd_schemas: dict[tuple[str, str], Any]
) -> None:
    docs = render(chart, "--set", "metrics.serviceMonitor.enabled=true")
    assert validate(docs, crd_schemas) == []
    assert any(doc["kind"] == "ServiceMonitor" for doc in docs)


def test_validation_catches_an_unknown_field(crd_schemas: dict[tuple[str, str], Any]) -> None:
    """The validators are not toothless: a typo in a built-in kind and in a custom resource fail."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"prots": [{"port": 80}]},
    }
    queue = {
        "apiVersion": "rabbitmq.com/v1beta1",
        "kind": "Queue",
        "metadata": {"name": "q"},
        "spec": {"name": "q", "rabbitmqClusterReference": {"name": "r"}, "durabel": True},
    }
    errors = validate([service, queue], crd_schemas)
    assert any("Service/x" in e for e in errors)
    assert any("Queue/q" in e for e in errors)


def test_ingress_variant_renders_valid_manifests(
    render: Render, crd_schemas: dict[tuple[str, str], Any]
) -> None:
    docs = render(
        "taskflow",
        "--set", "route.httpRoute.enabled=false",
        "--set", "route.ingress.enabled=true",
        "--set", "route.ingress.tlsSecretName=taskflow-tls",
    )  # fmt: skip
    assert validate(docs, crd_schemas) == []
    assert [d["kind"] for d in docs].count("Ingress") == 1
    assert not any(d["kind"] == "HTTPRoute" for d in docs)


# --set flag -> (chart whose schema must refuse it, JSON pointer helm reports)
BAD_VALUES = {
    "tasks.components.serve.replicaCount=-1": ("tasks", "/components/serve/replicaCount"),
    "notify.components.worker.replicaCount=-3": ("notify", "/components/worker/replicaCount"),
    "auth-gateway.image.tag=latest": ("auth-gateway", "/image/tag"),
    "tasks.migrations.hookEvents=whenever": ("tasks", "/migrations/hookEvents"),
    "postgres.instances=0": ("taskflow", "/postgres/instances"),
    "global.taskflow.hosts.app=Not_A_Host": ("taskflow", "/global/taskflow/hosts/app"),
}


def test_values_schema_rejects_bad_values(
    helm: Helm, built_charts: Path, schema_violations: Callable[[str], set[tuple[str, str, str]]]
) -> None:
    """helm reports every schema violation at once: one render with all the bad values."""
    flags = [arg for flag in BAD_VALUES for arg in ("--set", flag)]
    result = helm("template", "t", str(built_charts / "taskflow"), *flags, check=False)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    found = {(chart, pointer) for chart, pointer, _ in schema_violations(result.stderr)}
    assert found == set(BAD_VALUES.values()), result.stderr


def test_values_schema_accepts_the_defaults_of_every_chart(helm: Helm, built_charts: Path) -> None:
    """The other half of the check above: the same render without the bad values passes."""
    helm("template", "t", str(built_charts / "taskflow"))


def _suite_processes() -> set[tuple[str, str]]:
    """(module, role) of every process scripts/suite starts: the distributed mode's truth."""
    text = (REPO / "scripts" / "suite").read_text()
    return set(re.findall(r'Process\("[^"]+", "(taskflow_\w+)", "(\w+)"', text))


def test_every_process_role_is_its_own_deployment(default_docs: list[dict[str, Any]]) -> None:
    rendered = set()
    for doc in default_docs:
        if doc["kind"] != "Deployment":
            continue
        container = doc["spec"]["template"]["spec"]["containers"][0]
        service = container["image"].split("/")[-1].split(":")[0]
        rendered.add((f"taskflow_{service.replace('-', '_')}", container["args"][0]))
    assert rendered == _suite_processes()


def test_pods_are_locked_down_probed_and_roll_on_config_change(
    production_docs: list[dict[str, Any]],
) -> None:
    deployments = [d for d in production_docs if d["kind"] == "Deployment"]
    assert len(deployments) == 10
    for deployment in deployments:
        pod = deployment["spec"]["template"]
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["automountServiceAccountToken"] is False
        annotations = pod["metadata"]["annotations"]
        assert {"checksum/config", "checksum/secret"} <= set(annotations)
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["limits"]
            assert container["resources"]["requests"]
            env = {e["name"]: e for e in container["env"]}
            assert env["TASKFLOW_ENV"]["value"] == "production"
            if deployment["metadata"]["labels"]["app.kubernetes.io/component"] == "serve":
                assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
                assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
                assert env["TASKFLOW_HOST"]["value"] == "0.0.0.0"


def test_config_change_changes_the_checksum(render: Render) -> None:
    def checksum(*args: str) -> str:
        docs = render("tasks", *args)
        deployment = next(d for d in docs if d["kind"] == "Deployment")
        return str(deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"])

    assert checksum() != checksum("--set", "config.TASKFLOW_DB_POOL_SIZE=11")


def test_migrations_run_as_hook_jobs(default_docs: list[dict[str, Any]]) -> None:
    jobs = {d["metadata"]["name"]: d for d in default_docs if d["kind"] == "Job"}
    assert set(jobs) == {f"taskflow-{s}-migrate" for s in ("tasks", "suggest", "notify", "admin")}
    for job in jobs.values():
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
        pod = job["spec"]["template"]["spec"]
        assert pod["containers"][0]["args"][0] == "migrate"
        # Hooks run before the release's own objects exist: nothing of the release is referenced.
        assert "serviceAccountName" not in pod
        env_from = pod["containers"][0].get("envFrom", [])
        assert not any("configMapRef" in source for source in env_from)


def test_realm_in_the_chart_is_the_realm_as_code() -> None:
    copy_in_chart = CHARTS / "taskflow" / "files" / "taskflow-realm.json"
    source = REPO / "deploy" / "keycloak" / "taskflow-realm.json"
    assert copy_in_chart.read_bytes() == source.read_bytes(), (
        "charts/taskflow/files/taskflow-realm.json differs from the realm as code: "
        "cp deploy/keycloak/taskflow-realm.json charts/taskflow/files/"
    )


def test_realm_import_holds_the_realm_with_public_redirects(
    production_docs: list[dict[str, Any]],
) -> None:
    source = json.loads((REPO / "deploy" / "keycloak" / "taskflow-realm.json").read_text())
    imported = next(d for d in production_docs if d["kind"] == "KeycloakRealmImport")["spec"]
    assert {c["clientId"] for c in imported["realm"]["clients"]} == {
        c["clientId"] for c in source["clients"]
    }
    assert imported["realm"]["roles"] == source["roles"]
    api = next(c for c in imported["realm"]["clients"] if c["clientId"] == "taskflow-api")
    assert api["redirectUris"] == ["https://tasks.acme.example/*"]
    placeholders = set(re.findall(r"\$\{(\w+)", json.dumps(source)))
    assert placeholders == set(imported["placeholders"])


def test_umbrella_without_its_data_plane_renders_only_the_services(
    render: Render, crd_schemas: dict[tuple[str, str], Any]
) -> None:
    """Bring-your-own databases and identity provider: no custom resource is rendered."""
    off = ["postgres", "rabbitmq", "redis", "keycloak", "monitoring.rules", "monitoring.dashboards"]
    flags = [f"{part}.enabled=false" for part in off] + ["route.httpRoute.enabled=false"]
    docs = render("taskflow", *(arg for flag in flags for arg in ("--set", flag)))
    assert validate(docs, crd_schemas) == []
    assert {d["apiVersion"].split("/")[0] for d in docs} <= {"v1", "apps", "batch"}
    assert [d["kind"] for d in docs].count("Deployment") == 10


def test_network_policies_admit_only_the_release_and_named_peers(
    production_docs: list[dict[str, Any]],
) -> None:
    policies = {
        d["metadata"]["name"]: d["spec"] for d in production_docs if d["kind"] == "NetworkPolicy"
    }
    deployments = {d["metadata"]["name"] for d in production_docs if d["kind"] == "Deployment"}
    # Each role's own ingress policy (the namespace's other policies: test_network_policies).
    assert deployments <= set(policies)
    for name in deployments:
        spec = policies[name]
        (rule,) = spec["ingress"]
        # serve: its HTTP port and its metrics port; a background role: only its metrics port.
        ports = ["http", "metrics"] if name.endswith("-serve") else ["metrics"]
        assert rule["ports"] == [{"port": p, "protocol": "TCP"} for p in ports], name
        release_pods = {"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "taskflow"}}}
        assert release_pods in rule["from"], name
        assert MONITORING_PEER in rule["from"], f"{name}: Prometheus cannot scrape it"


def test_a_role_without_any_port_accepts_no_connection(render: Render) -> None:
    docs = render(
        "tasks",
        "--set", "components.relay.metricsPort=null",
        "--set", "networkPolicy.enabled=true",
    )  # fmt: skip
    policy = next(d for d in docs if d["metadata"]["name"] == "taskflow-tasks-relay")
    assert policy["spec"]["ingress"] == []


def test_a_background_roles_metrics_port_can_be_changed(
    render: Render, crd_schemas: dict[tuple[str, str], Any]
) -> None:
    docs = render(
        "notify",
        "--set", "components.consume.metricsPort=9464",
        "--set", "metrics.serviceMonitor.enabled=true",
        "--set", "networkPolicy.enabled=true",
    )  # fmt: skip
    assert validate(docs, crd_schemas) == []
    monitors = {
        d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]: d
        for d in docs
        if d["kind"] == "PodMonitor"
    }
    assert set(monitors) == {"consume", "worker"}
    consume = next(
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("consume")
    )
    container = consume["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "TASKFLOW_METRICS_PORT", "value": "9464"} in container["env"]
    assert container["ports"] == [{"name": "metrics", "containerPort": 9464, "protocol": "TCP"}]
    policy = next(
        d
        for d in docs
        if d["kind"] == "NetworkPolicy" and d["metadata"]["name"].endswith("consume")
    )
    assert policy["spec"]["ingress"][0]["ports"] == [{"port": "metrics", "protocol": "TCP"}]


def _background_roles(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Deployment name -> Deployment, for every role that is not `serve`."""
    return {
        d["metadata"]["name"]: d
        for d in docs
        if d["kind"] == "Deployment"
        and d["metadata"]["labels"]["app.kubernetes.io/component"] != "serve"
    }


def test_every_background_role_serves_metrics_on_the_pod_ip(
    default_docs: list[dict[str, Any]],
) -> None:
    """Without monitors too: the port and the bind address belong to the pod, not to Prometheus."""
    roles = _background_roles(default_docs)
    suite_roles = {(m, r) for m, r in _suite_processes() if r != "serve"}
    assert len(roles) == len(suite_roles) == 5
    for name, deployment in roles.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["TASKFLOW_METRICS_PORT"] == "9100", name
        # Every role binds its exporter to TASKFLOW_HOST.
        assert env["TASKFLOW_HOST"] == "0.0.0.0", name
        assert container["ports"] == [
            {"name": "metrics", "containerPort": 9100, "protocol": "TCP"}
        ], name
        # No HTTP port, so no readiness; liveness is the metrics port's /healthz (test_policy).
        assert "readinessProbe" not in container, name
    assert not any(d["kind"] == "PodMonitor" for d in default_docs), "monitors are opt-in"


def test_every_background_role_is_scraped_by_a_pod_monitor(
    production_docs: list[dict[str, Any]],
) -> None:
    roles = _background_roles(production_docs)
    monitors = [d for d in production_docs if d["kind"] == "PodMonitor"]
    scraped = {}
    for monitor in monitors:
        selector = monitor["spec"]["selector"]["matchLabels"]
        assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["taskflow"]}
        for name, deployment in roles.items():
            if selector == deployment["spec"]["selector"]["matchLabels"]:
                (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
                assert endpoint["port"] == "metrics"
                assert endpoint["path"] == "/metrics"
                assert endpoint["honorLabels"] is True
                scraped[name] = monitor["metadata"]["name"]
    assert set(scraped) == set(roles), "a background role nobody scrapes"
    assert set(roles) == {
        "taskflow-tasks-relay",
        "taskflow-tasks-scheduler",
        "taskflow-suggest-consume",
        "taskflow-notify-consume",
        "taskflow-notify-worker",
    }


def test_service_monitors_scrape_the_metrics_port_never_the_public_one(
    production_docs: list[dict[str, Any]],
) -> None:
    """/metrics answers on the metrics listener only: a monitor on `http` would scrape a 404."""
    serve = {
        d["metadata"]["labels"]["app.kubernetes.io/name"]: d
        for d in production_docs
        if d["kind"] == "Deployment"
        and d["metadata"]["labels"]["app.kubernetes.io/component"] == "serve"
    }
    assert len(serve) == len(SERVICE_CHARTS)
    services = [d for d in production_docs if d["kind"] == "Service"]
    service_monitors = [d for d in production_docs if d["kind"] == "ServiceMonitor"]
    pod_monitors = [d for d in production_docs if d["kind"] == "PodMonitor"]
    assert len(service_monitors) == len(serve)
    for name, deployment in serve.items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["TASKFLOW_METRICS_PORT"] == "9100", name
        assert {"name": "metrics", "containerPort": 9100, "protocol": "TCP"} in container["ports"]
        (service,) = [s for s in services if s["spec"]["selector"] == selector]
        ports = {p["name"]: p for p in service["spec"]["ports"]}
        assert ports["metrics"]["targetPort"] == "metrics", name
        (monitor,) = [
            m for m in service_monitors if m["spec"]["selector"]["matchLabels"] == selector
        ]
        (endpoint,) = monitor["spec"]["endpoints"]
        assert (endpoint["port"], endpoint["path"]) == ("metrics", "/metrics"), name
        # Scraped once: no PodMonitor for a role its ServiceMonitor already covers.
        assert not [m for m in pod_monitors if m["spec"]["selector"]["matchLabels"] == selector]
    # The public route reaches the gateway's http port, never its metrics port.
    (route,) = [
        d
        for d in production_docs
        if d["kind"] == "HTTPRoute" and "gateway" in d["metadata"]["name"]
    ]
    backends = [b for rule in route["spec"]["rules"] for b in rule["backendRefs"]]
    assert {b["port"] for b in backends} == {8080}


# The umbrella's profiles: values-dev.yaml (one of everything, small), values-production.yaml
# (highly available), and plain defaults that are a minimal install, not a production one.


def _one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (doc,) = [d for d in docs if d["kind"] == kind]
    return doc


def _replicas(docs: list[dict[str, Any]]) -> dict[str, int]:
    return {d["metadata"]["name"]: d["spec"]["replicas"] for d in docs if d["kind"] == "Deployment"}


def _memory_mebibytes(quantity: str) -> float:
    units = {"Mi": 1, "Gi": 1024, "Ki": 1 / 1024}
    return float(quantity[:-2]) * units[quantity[-2:]]


def test_dev_profile_renders_valid_manifests(
    dev_docs: list[dict[str, Any]],
    crd_schemas: dict[tuple[str, str], Any],
    helm: Helm,
    built_charts: Path,
) -> None:
    helm(
        "lint",
        "--strict",
        str(built_charts / "taskflow"),
        "-f",
        str(CHARTS / "taskflow" / "values-dev.yaml"),
    )
    assert validate(dev_docs, crd_schemas) == []


def test_dev_profile_runs_one_of_everything_with_small_requests(
    dev_docs: list[dict[str, Any]],
) -> None:
    replicas = _replicas(dev_docs)
    assert len(replicas) == 10
    assert set(replicas.values()) == {1}
    assert not [
        d for d in dev_docs if d["kind"] in ("HorizontalPodAutoscaler", "PodDisruptionBudget")
    ]
    assert _one(dev_docs, "Cluster")["spec"]["instances"] == 1
    assert _one(dev_docs, "RabbitmqCluster")["spec"]["replicas"] == 1
    assert _one(dev_docs, "Keycloak")["spec"]["instances"] == 1
    assert "redisReplication" not in _one(dev_docs, "Redis")["spec"]  # standalone
    for doc in dev_docs:
        if doc["kind"] == "Deployment":
            (container,) = doc["spec"]["template"]["spec"]["containers"]
            requests = container["resources"]["requests"]
            assert _memory_mebibytes(requests["memory"]) <= 160, doc["metadata"]["name"]
            env = {e["name"]: e.get("value") for e in container["env"]}
            assert env["TASKFLOW_ENV"] == "development"
    assert not [d for d in dev_docs if d["kind"] == "HTTPRoute"], "skaffold dev port-forwards"


def test_plain_defaults_do_not_pretend_to_be_production(
    default_docs: list[dict[str, Any]], production_docs: list[dict[str, Any]]
) -> None:
    """Without a profile: single instances, no autoscaling, no disruption budgets; the HA shape
    is what values-production.yaml asks for, explicitly."""
    assert _one(default_docs, "Cluster")["spec"]["instances"] == 1
    assert _one(default_docs, "RabbitmqCluster")["spec"]["replicas"] == 1
    assert _one(default_docs, "Keycloak")["spec"]["instances"] == 1
    assert set(_replicas(default_docs).values()) == {1}
    assert not [d for d in default_docs if d["kind"] == "HorizontalPodAutoscaler"]
    assert _one(production_docs, "Cluster")["spec"]["instances"] == 3
    assert _one(production_docs, "RabbitmqCluster")["spec"]["replicas"] == 3
    assert _one(production_docs, "Keycloak")["spec"]["instances"] == 3
    assert [d for d in production_docs if d["kind"] == "HorizontalPodAutoscaler"]


def _containers(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (d["metadata"]["name"], c)
        for d in docs
        if d["kind"] in ("Deployment", "Job")
        for c in d["spec"]["template"]["spec"]["containers"]
    ]


def test_production_reaches_postgres_through_a_pgbouncer_pooler(
    production_docs: list[dict[str, Any]],
) -> None:
    (pooler,) = [d for d in production_docs if d["kind"] == "Pooler"]
    assert pooler["metadata"]["name"] == "taskflow-postgres-pooler-rw"
    assert pooler["spec"]["cluster"] == {"name": "taskflow-postgres"}
    assert (pooler["spec"]["type"], pooler["spec"]["pgbouncer"]["poolMode"]) == ("rw", "session")
    users = 0
    for name, container in _containers(production_docs):
        env = {e["name"]: e for e in container["env"]}
        if "TASKFLOW_DATABASE_URL" not in env:
            continue
        users += 1
        url = env["TASKFLOW_DATABASE_URL"]["value"]
        assert "@taskflow-postgres-pooler-rw:5432/" in url, name
        for part in ("USER", "PASSWORD", "NAME"):
            ref = env[f"TASKFLOW_DATABASE_{part}"]["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "taskflow-postgres-app", name
    assert users == 13  # every role but the gateway (nine) and the four migration Jobs


def test_plain_defaults_use_the_clusters_own_uri(default_docs: list[dict[str, Any]]) -> None:
    assert not [d for d in default_docs if d["kind"] in ("Pooler", "ScheduledBackup")]
    for name, container in _containers(default_docs):
        env = {e["name"]: e for e in container["env"]}
        if "TASKFLOW_DATABASE_URL" in env:
            ref = env["TASKFLOW_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": "taskflow-postgres-app", "key": "uri"}, name


def test_production_archives_wal_and_takes_scheduled_base_backups(
    production_docs: list[dict[str, Any]],
) -> None:
    cluster = next(d for d in production_docs if d["kind"] == "Cluster")
    store = cluster["spec"]["backup"]["barmanObjectStore"]
    assert store["destinationPath"] == "s3://acme-taskflow-backups/postgres"
    assert store["s3Credentials"]["accessKeyId"]["name"] == "taskflow-backup-s3"
    (scheduled,) = [d for d in production_docs if d["kind"] == "ScheduledBackup"]
    assert scheduled["spec"]["cluster"] == {"name": cluster["metadata"]["name"]}
    assert scheduled["spec"]["method"] == "barmanObjectStore"
    assert len(scheduled["spec"]["schedule"].split()) == 6  # CloudNativePG: seconds first


def test_backups_without_a_target_fail_with_what_to_set(helm: Helm, built_charts: Path) -> None:
    result = helm(
        "template", "t", str(built_charts / "taskflow"), "--set", "postgres.backup.enabled=true",
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "postgres.backup.destinationPath" in result.stderr


def test_admin_reads_its_own_keycloak_client_secret(production_docs: list[dict[str, Any]]) -> None:
    """The admin web UI logs in through the `taskflow-admin` client: its pods read the secret
    the realm import gives that client, from the same key of the clients' Secret."""
    (realm_import,) = [d for d in production_docs if d["kind"] == "KeycloakRealmImport"]
    given = realm_import["spec"]["placeholders"]["TASKFLOW_KEYCLOAK_ADMIN_UI_SECRET"]["secret"]
    (clients,) = [
        d
        for d in production_docs
        if d["kind"] == "Secret" and d["metadata"]["name"] == given["name"]
    ]
    assert given["key"] in clients["stringData"]
    admin = [
        (name, container)
        for name, container in _containers(production_docs)
        if name.startswith("taskflow-admin-")
    ]
    assert {name for name, _ in admin} == {"taskflow-admin-serve", "taskflow-admin-migrate"}
    for name, container in admin:
        env = {e["name"]: e for e in container["env"]}
        ref = env["TASKFLOW_KEYCLOAK_ADMIN_UI_SECRET"]["valueFrom"]["secretKeyRef"]
        assert ref == given, name
        assert env["TASKFLOW_KEYCLOAK_URL"]["value"] == "http://taskflow-keycloak-service:8080"
        assert env["TASKFLOW_KEYCLOAK_REALM"]["value"] == "taskflow"
    # Only admin holds it; the gateway's secret stays with the gateway and notify.
    for name, container in _containers(production_docs):
        names = {e["name"] for e in container["env"]}
        is_admin = name.startswith("taskflow-admin-")
        assert ("TASKFLOW_KEYCLOAK_ADMIN_UI_SECRET" in names) == is_admin, name
        assert not (is_admin and "TASKFLOW_KEYCLOAK_GATEWAY_SECRET" in names), name
