"""OpenTelemetry, initialised exactly once per process.

Call `init_telemetry` from a composition root (or Celery's `worker_process_init`). It installs
a tracer provider with the W3C propagator, and an OTLP exporter when
OTEL_EXPORTER_OTLP_ENDPOINT is set. Calling it again is a no-op.
"""

from __future__ import annotations

import importlib.metadata
import threading

from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_lock = threading.Lock()
_provider: TracerProvider | None = None


def release_version() -> str:
    """TaskFlow's version: the workspace's members are released together."""
    try:
        return importlib.metadata.version("taskflow-common")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def service_resource(service_name: str, *, environment: str, version: str) -> Resource:
    """What every span says about its process: service.name, service.version and
    deployment.environment, under whatever OTEL_RESOURCE_ATTRIBUTES adds. The charts put the
    image's version and the pod's k8s.* attributes (the downward API) there, and those win over
    the defaults here."""
    defaults = Resource(
        {
            "service.name": service_name,
            "service.namespace": "taskflow",
            "service.version": version,
            "deployment.environment": environment,
        }
    )
    merged = defaults.merge(OTELResourceDetector().detect())
    return Resource.create({**merged.attributes, "service.name": service_name})


def init_telemetry(
    service_name: str,
    *,
    environment: str = "development",
    version: str | None = None,
    otlp_endpoint: str | None = None,
    otlp_protocol: str = "grpc",
    disabled: bool = False,
    extra_processors: tuple[SpanProcessor, ...] = (),
) -> TracerProvider | None:
    """Install the global tracer provider once; later calls return the first provider."""
    global _provider
    with _lock:
        if _provider is not None:
            return _provider
        propagate.set_global_textmap(
            CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
        )
        if disabled:
            return None
        resource = service_resource(
            service_name, environment=environment, version=version or release_version()
        )
        provider = TracerProvider(resource=resource)
        if otlp_endpoint:
            provider.add_span_processor(
                BatchSpanProcessor(_otlp_exporter(otlp_endpoint, otlp_protocol))
            )
        for processor in extra_processors:
            provider.add_span_processor(processor)
        trace.set_tracer_provider(provider)
        _provider = provider
        return provider


def current_provider() -> TracerProvider | None:
    return _provider


def _otlp_exporter(endpoint: str, protocol: str) -> SpanExporter:
    if protocol.startswith("http"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpExporter,
        )

        return HttpExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
        OTLPSpanExporter as GrpcExporter,
    )

    return GrpcExporter(endpoint=endpoint, insecure=endpoint.startswith("http://"))
