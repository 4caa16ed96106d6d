"""The suggest service's settings (env prefix TASKFLOW_)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from taskflow_common.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    service_name: str = "suggest"
    mode: Literal["distributed", "embedded"] = "distributed"
    host: str = "127.0.0.1"
    port: int = 8002

    database_url: str = "postgresql://taskflow:taskflow@127.0.0.1:55432/taskflow"
    redis_url: str | None = "redis://127.0.0.1:56379/0"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:55672/"
    consumer_name: str = Field(
        default="suggest", description="The durable queue is taskflow.<consumer_name>."
    )
    tasks_url: str = "http://127.0.0.1:8001"
    tasks_timeout_seconds: float = Field(default=5.0, gt=0)

    # The model: unset base URL means heuristic only (the embedded default).
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr = SecretStr("not-needed-for-local-servers")
    llm_timeout_seconds: float = Field(default=8.0, gt=0, le=120)
    llm_structured_output: Literal["auto", "json_schema", "json_object"] = "auto"
    llm_system: str = Field(
        default="openai", description="gen_ai.system for traces (openai, vllm, ollama...)"
    )
    llm_cache_ttl_seconds: int = Field(default=3600, ge=0)
    llm_breaker_failures: int = Field(default=5, ge=1)
    llm_breaker_reset_seconds: float = Field(default=30.0, gt=0)
