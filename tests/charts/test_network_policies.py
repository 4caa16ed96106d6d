"""The production profile's NetworkPolicies, evaluated against the traffic TaskFlow really has.

No cluster runs here, so the rendered policies are evaluated by the rules of the Kubernetes
NetworkPolicy API (policies add up; a pod selected by no policy of a direction is open in that
direction; a connection needs the source's egress and the destination's ingress): each flow
the suite needs must pass and each flow an attacker would want must not. The workloads are the
rendered Deployments and Jobs with their real labels and named ports, the data plane's pods
carry the labels their operators give them, and the peers outside the namespace are the ones
docs/deploy.md installs.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import pytest

from .conftest import CHARTS, NAMESPACE, Render

DNS = ("kube-system", {"k8s-app": "kube-dns"})


@dataclass(frozen=True)
class Endpoint:
    name: str
    namespace: str | None  # None: an address outside the cluster
    labels: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    ip: str = "10.244.0.10"


def pod(name: str, labels: dict[str, str], namespace: str = NAMESPACE, **ports: int) -> Endpoint:
    return Endpoint(name, namespace, labels, ports)


def outside(name: str, ip: str) -> Endpoint:
    return Endpoint(name, None, ip=ip)


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        present = key in labels
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def peer_matches(peer: dict[str, Any], other: Endpoint) -> bool:
    if "ipBlock" in peer:
        if other.namespace is not None:
            return (
                False  # pod addresses are not meant for ipBlock (CNI-dependent): never rely on it
            )
        address = ipaddress.ip_address(other.ip)
        block = peer["ipBlock"]
        network = ipaddress.ip_network(block["cidr"])
        if address.version != network.version or address not in network:
            return False
        return not any(address in ipaddress.ip_network(e) for e in block.get("except", []))
    if other.namespace is None:
        return False
    if "namespaceSelector" in peer:
        namespace_labels = {"kubernetes.io/metadata.name": other.namespace}
        if not matches(peer["namespaceSelector"], namespace_labels):
            return False
    elif other.namespace != NAMESPACE:
        return False
    return matches(peer.get("podSelector") or {}, other.labels)


def port_matches(rule_ports: list[dict[str, Any]] | None, port: int, target: Endpoint) -> bool:
    if not rule_ports:
        return True
    for rule_port in rule_ports:
        wanted = rule_port.get("port")
        if isinstance(wanted, str):
            wanted = target.ports.get(wanted)
        if wanted is None and "port" in rule_port:
            continue
        if wanted is None or wanted <= port <= rule_port.get("endPort", wanted):
            return True
    return False


def allowed(policies: list[dict[str, Any]], source: Endpoint, target: Endpoint, port: int) -> bool:
    def direction(subject: Endpoint, kind: str, peer_key: str, other: Endpoint) -> bool:
        if subject.namespace != NAMESPACE:
            return True  # outside the release's namespace: its own policies, not ours
        selecting = [
            p
            for p in policies
            if kind in p["spec"]["policyTypes"]
            and matches(p["spec"]["podSelector"], subject.labels)
        ]
        if not selecting:
            return True
        rules = [rule for p in selecting for rule in p["spec"].get(kind.lower(), [])]
        return any(
            (peer_key not in rule or any(peer_matches(x, other) for x in rule[peer_key]))
            and port_matches(rule.get("ports"), port, target)
            for rule in rules
        )

    return direction(source, "Egress", "to", target) and direction(
        target, "Ingress", "from", source
    )


@pytest.fixture(scope="module")
def production(render: Render) -> list[dict[str, Any]]:
    return render("taskflow", "-f", str(CHARTS / "taskflow" / "values-production.yaml"))


@pytest.fixture(scope="module")
def policies(production: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in production if d["kind"] == "NetworkPolicy"]


@pytest.fixture(scope="module")
def workloads(production: list[dict[str, Any]]) -> dict[str, Endpoint]:
    """Every rendered Deployment and Job (migrations, `helm test` pods) as a pod."""
    endpoints = {}
    for doc in production:
        if doc["kind"] in ("Deployment", "Job"):
            template = doc["spec"]["template"]
            spec = template["spec"]
        elif doc["kind"] == "Pod":
            template, spec = doc, doc["spec"]
        else:
            continue
        ports = {
            p["name"]: p["containerPort"]
            for c in spec["containers"]
            for p in c.get("ports", [])
            if "name" in p
        }
        endpoints[doc["metadata"]["name"]] = pod(
            doc["metadata"]["name"], template["metadata"]["labels"], **ports
        )
    return endpoints


# The data plane's pods, labelled as their operators label them.
POSTGRES = pod(
    "postgres-1", {"cnpg.io/cluster": "taskflow-postgres", "cnpg.io/podRole": "instance"}
)
POSTGRES_2 = pod(
    "postgres-2", {"cnpg.io/cluster": "taskflow-postgres", "cnpg.io/podRole": "instance"}
)
POOLER = pod(
    "pooler", {"cnpg.io/poolerName": "taskflow-postgres-pooler-rw", "cnpg.io/podRole": "pooler"}
)
RABBIT = pod(
    "rabbitmq-0",
    {"app.kubernetes.io/name": "taskflow-rabbitmq", "app.kubernetes.io/component": "rabbitmq"},
)
RABBIT_2 = pod(
    "rabbitmq-1",
    {"app.kubernetes.io/name": "taskflow-rabbitmq", "app.kubernetes.io/component": "rabbitmq"},
)
REDIS = pod("redis", {"app": "taskflow-redis", "redis_setup_type": "standalone"})
KEYCLOAK_LABELS = {
    "app": "keycloak",
    "app.kubernetes.io/managed-by": "keycloak-operator",
    "app.kubernetes.io/instance": "taskflow-keycloak",
}
KEYCLOAK = pod("keycloak-0", KEYCLOAK_LABELS)
KEYCLOAK_2 = pod("keycloak-1", KEYCLOAK_LABELS)
KEYCLOAK_OPERATOR = pod("keycloak-operator", {"app.kubernetes.io/name": "keycloak-operator"})
# Outside the namespace.
COREDNS = pod("coredns", DNS[1], namespace=DNS[0])
PROMETHEUS = pod("prometheus", {"app.kubernetes.io/name": "prometheus"}, namespace="monitoring")
ENVOY = pod("gateway-envoy", {"app": "envoy"}, namespace="gateway-system")
CNPG_OPERATOR = pod("cnpg", {"app.kubernetes.io/name": "cloudnative-pg"}, namespace="cnpg-system")
RABBIT_OPERATOR = pod(
    "topology",
    {"app.kubernetes.io/name": "messaging-topology-operator"},
    namespace="rabbitmq-system",
)
COLLECTOR = pod("otel-collector", {"app": "otel-collector"}, namespace="observability")
INTRUDER = pod("intruder", {"app.kubernetes.io/instance": "taskflow"}, namespace="other-team")
API_SERVER = outside("kube-apiserver", "10.96.0.1")
RECEIVER = outside("webhook receiver", "93.184.216.34")
RECEIVER_V6 = outside("webhook receiver (IPv6)", "2606:2800:220:1::1")
METADATA = outside("cloud metadata", "169.254.169.254")
PRIVATE = outside("a private address", "10.1.2.3")
NAT64 = outside("a NAT64 address", "64:ff9b::a01:203")

SERVICE_ROLES = [
    "taskflow-auth-gateway-serve",
    "taskflow-tasks-serve",
    "taskflow-tasks-relay",
    "taskflow-tasks-scheduler",
    "taskflow-suggest-serve",
    "taskflow-suggest-consume",
    "taskflow-notify-serve",
    "taskflow-notify-consume",
    "taskflow-notify-worker",
    "taskflow-admin-serve",
]


def test_the_namespace_denies_by_default(policies: list[dict[str, Any]]) -> None:
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and "ingress" not in p["spec"]]
    assert [p["spec"]["policyTypes"] for p in deny if "egress" not in p["spec"]] == [
        ["Ingress", "Egress"]
    ]


def test_every_pod_of_the_namespace_resolves_names(
    policies: list[dict[str, Any]], workloads: dict[str, Endpoint]
) -> None:
    pods = [*workloads.values(), POSTGRES, POOLER, RABBIT, REDIS, KEYCLOAK, KEYCLOAK_OPERATOR]
    assert [p.name for p in pods if not allowed(policies, p, COREDNS, 53)] == []


def test_the_services_reach_what_they_use(
    policies: list[dict[str, Any]], workloads: dict[str, Endpoint]
) -> None:
    roles = [workloads[name] for name in SERVICE_ROLES]
    migrations = [w for name, w in workloads.items() if name.endswith("-migrate")]
    assert migrations, sorted(workloads)
    flows = [(role, POOLER, 5432) for role in roles + migrations]
    flows += [(role, target, port) for role in roles for target, port in
              ((RABBIT, 5672), (REDIS, 6379), (KEYCLOAK, 8080), (COLLECTOR, 4317))]  # fmt: skip
    gateway = workloads["taskflow-auth-gateway-serve"]
    admin = workloads["taskflow-admin-serve"]
    for service in ("tasks", "suggest", "notify", "admin"):
        serve = workloads[f"taskflow-{service}-serve"]
        flows += [(gateway, serve, serve.ports["http"])]
        if service != "admin":
            flows += [(admin, serve, serve.ports["http"])]  # the admin console's upstreams
    tasks = workloads["taskflow-tasks-serve"]
    flows += [(workloads["taskflow-suggest-consume"], tasks, tasks.ports["http"])]
    flows += [(ENVOY, gateway, gateway.ports["http"]), (ENVOY, KEYCLOAK, 8080)]
    flows += [(PROMETHEUS, w, w.ports["metrics"]) for w in roles]
    blocked = [(s.name, t.name, port) for s, t, port in flows if not allowed(policies, s, t, port)]
    assert blocked == []


def test_notify_delivers_and_suggest_asks_its_llm_on_the_internet_only(
    policies: list[dict[str, Any]], workloads: dict[str, Endpoint]
) -> None:
    worker = workloads["taskflow-notify-worker"]
    suggest = [workloads["taskflow-suggest-serve"], workloads["taskflow-suggest-consume"]]
    for target in (RECEIVER, RECEIVER_V6):
        assert allowed(policies, worker, target, 443)
        assert allowed(policies, worker, target, 587)  # the SMTP relay
        assert all(allowed(policies, s, target, 443) for s in suggest)
    assert allowed(policies, KEYCLOAK, RECEIVER, 587)  # password-reset emails
    for target in (PRIVATE, METADATA, NAT64):
        assert not allowed(policies, worker, target, 443), target.name
    # A webhook on an odd port, and any other role going out: refused.
    assert not allowed(policies, worker, RECEIVER, 6379)
    others = [
        w for name, w in workloads.items() if "notify-worker" not in name and "suggest" not in name
    ]
    assert [w.name for w in others if allowed(policies, w, RECEIVER, 443)] == []


def test_the_data_plane_does_its_own_work(policies: list[dict[str, Any]]) -> None:
    flows = [
        (POOLER, POSTGRES, 5432),
        (POSTGRES_2, POSTGRES, 5432),  # replication
        (POSTGRES, API_SERVER, 443),
        (POSTGRES, RECEIVER, 443),  # Barman to the object store (backups are on in production)
        (CNPG_OPERATOR, POSTGRES, 8000),
        (RABBIT_2, RABBIT, 25672),
        (RABBIT, RABBIT_2, 4369),
        (RABBIT, API_SERVER, 443),
        (RABBIT_OPERATOR, RABBIT, 15672),
        (KEYCLOAK, POOLER, 5432),
        (KEYCLOAK, POSTGRES, 5432),
        (KEYCLOAK_2, KEYCLOAK, 7800),
        (KEYCLOAK_OPERATOR, API_SERVER, 443),
        (PROMETHEUS, POSTGRES, 9187),
        (PROMETHEUS, RABBIT, 15692),
        (PROMETHEUS, KEYCLOAK, 9000),
    ]
    blocked = [(s.name, t.name, port) for s, t, port in flows if not allowed(policies, s, t, port)]
    assert blocked == []


def test_nothing_else_gets_in_or_out(
    policies: list[dict[str, Any]], workloads: dict[str, Endpoint]
) -> None:
    gateway = workloads["taskflow-auth-gateway-serve"]
    tasks = workloads["taskflow-tasks-serve"]
    flows = [
        # Another namespace's pod, even one wearing the release's labels.
        (INTRUDER, tasks, tasks.ports["http"]),
        (INTRUDER, POSTGRES, 5432),
        (INTRUDER, REDIS, 6379),
        (INTRUDER, RABBIT, 5672),
        # The public entry reaches the gateway, not what is behind it.
        (ENVOY, tasks, tasks.ports["http"]),
        (ENVOY, POSTGRES, 5432),
        # Data-plane pods talk to the services' data only, never to each other's.
        (REDIS, RECEIVER, 443),
        (REDIS, POSTGRES, 5432),
        (KEYCLOAK, REDIS, 6379),
        (RABBIT, POSTGRES, 5432),
        (KEYCLOAK_OPERATOR, POSTGRES, 5432),
        (POSTGRES, REDIS, 6379),
        # The services reach the data plane's ports, not its management.
        (gateway, POSTGRES, 8000),
        (gateway, RABBIT, 15672),
        (gateway, API_SERVER, 443),
    ]
    passed = [(s.name, t.name, port) for s, t, port in flows if allowed(policies, s, t, port)]
    assert passed == []


def test_the_evaluator_refuses_what_no_policy_allows() -> None:
    """The evaluator itself: a default deny alone refuses, an empty policy list allows."""
    deny = {"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
    a = pod("a", {"x": "1"})
    b = pod("b", {"x": "2"}, http=8000)
    assert allowed([], a, b, 8000)
    assert not allowed([deny], a, b, 8000)
    allow = {
        "spec": {
            "podSelector": {"matchLabels": {"x": "2"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"x": "1"}}}],
                    "ports": [{"port": "http"}],
                }
            ],
        }
    }
    out = {
        "spec": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"podSelector": {}}]}],
        }
    }
    assert allowed([deny, allow, out], a, b, 8000)
    assert not allowed([deny, allow, out], a, b, 8001)
    assert not allowed([deny, allow, out], b, a, 8000)
