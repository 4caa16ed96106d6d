"""PriorityModel over any OpenAI-compatible chat completions API (OpenAI, vLLM, Ollama,
the llama.cpp server), with structured output, one repair retry and GenAI-convention spans."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletion
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, StatusCode
from pydantic import ValidationError

from taskflow_suggest.application.errors import ModelFailure
from taskflow_suggest.application.metrics import MODEL_LATENCY
from taskflow_suggest.domain.model import TaskFacts, Verdict
from taskflow_suggest.infrastructure.llm.prompt import (
    ANSWER_JSON_SCHEMA,
    REPAIR_PROMPT,
    ModelAnswer,
    build_messages,
    parse_answer,
)

log = logging.getLogger(__name__)
tracer = trace.get_tracer("taskflow.suggest.llm")

StructuredMode = Literal["auto", "json_schema", "json_object"]


class OpenAICompatibleModel:
    def __init__(
        self,
        client: AsyncOpenAI,
        model: str,
        *,
        timeout: float = 8.0,
        structured: StructuredMode = "auto",
        system: str = "openai",
        max_tokens: int = 300,
    ) -> None:
        self._client = client
        self._model = model
        self._timeout = timeout
        # "auto" starts with json_schema and steps down to json_object, for good, the first
        # time a server rejects it (older vLLM/Ollama builds only know json_object).
        self._mode: Literal["json_schema", "json_object"] = (
            "json_object" if structured == "json_object" else "json_schema"
        )
        self._may_step_down = structured == "auto"
        self._system = system
        self._max_tokens = max_tokens
        server = urlsplit(str(client.base_url))
        self._server = (server.hostname or "", server.port or 443)

    @property
    def model_name(self) -> str:
        return self._model

    async def suggest(self, task: TaskFacts, now: datetime) -> Verdict:
        started = time.perf_counter()
        outcome = "ok"
        try:
            async with asyncio.timeout(self._timeout):
                answer = await self._answer(build_messages(task, now))
        except TimeoutError:
            outcome = "timeout"
            raise ModelFailure("timeout", f"no valid answer within {self._timeout:g}s") from None
        except ModelFailure as failure:
            outcome = failure.reason
            raise
        finally:
            MODEL_LATENCY.labels(self._model, outcome).observe(time.perf_counter() - started)
        return Verdict(
            priority=answer.priority,
            rationale=answer.rationale,
            confidence=answer.confidence,
            suggested_due_at=answer.suggested_due_at,
            source="llm",
            model=self._model,
        )

    async def _answer(self, messages: list[dict[str, str]]) -> ModelAnswer:
        raw = await self._chat(messages)
        try:
            return parse_answer(raw)
        except (ValidationError, ValueError) as first_error:
            log.info("model reply invalid, asking once for a repair", extra={"model": self._model})
            repair = [
                *messages,
                {"role": "assistant", "content": (raw or "")[:2000]},
                {"role": "user", "content": REPAIR_PROMPT.format(error=_short(first_error))},
            ]
        raw = await self._chat(repair)
        try:
            return parse_answer(raw)
        except (ValidationError, ValueError) as second_error:
            raise ModelFailure("invalid_output", _short(second_error)) from None

    async def _chat(self, messages: list[dict[str, str]]) -> str | None:
        with tracer.start_as_current_span(
            f"chat {self._model}", kind=SpanKind.CLIENT, attributes=self._request_attributes()
        ) as span:
            try:
                response = await self._create(messages)
            except openai.APIStatusError as exc:
                if not self._refused_json_schema(exc):
                    raise _failure(exc, span) from exc
                log.info("server refused json_schema; using json_object from now on")
                self._mode = "json_object"
                self._may_step_down = False
                span.set_attribute("gen_ai.output.type", "json")
                try:
                    response = await self._create(messages)
                except openai.OpenAIError as retry_exc:
                    raise _failure(retry_exc, span) from retry_exc
            except openai.OpenAIError as exc:
                raise _failure(exc, span) from exc
            self._record_response(span, response)
            if not response.choices:
                return None
            return response.choices[0].message.content

    async def _create(self, messages: list[dict[str, str]]) -> ChatCompletion:
        return await self._client.chat.completions.create(
            model=self._model,
            messages=cast(Any, messages),
            temperature=0,
            max_tokens=self._max_tokens,
            response_format=cast(Any, self._response_format()),
        )

    def _refused_json_schema(self, exc: openai.APIStatusError) -> bool:
        """A server without json_schema answers 400 (vLLM, Ollama), 422 (llama-cpp-python's
        request validation) or even 500 naming response_format (some llama.cpp forks)."""
        if not (self._may_step_down and self._mode == "json_schema"):
            return False
        if exc.status_code in (400, 422):
            return True
        return exc.status_code == 500 and "response_format" in str(exc)

    def _response_format(self) -> dict[str, Any]:
        if self._mode == "json_object":
            # "schema" is the json_object extension of llama-cpp-python (and Anyscale): it
            # constrains decoding to the schema; servers that do not know it ignore it.
            return {"type": "json_object", "schema": ANSWER_JSON_SCHEMA}
        return {
            "type": "json_schema",
            "json_schema": {
                "name": "priority_suggestion",
                "strict": True,
                "schema": ANSWER_JSON_SCHEMA,
            },
        }

    def _request_attributes(self) -> dict[str, Any]:
        return {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": self._system,
            "gen_ai.provider.name": self._system,
            "gen_ai.request.model": self._model,
            "gen_ai.request.temperature": 0.0,
            "gen_ai.request.max_tokens": self._max_tokens,
            "gen_ai.output.type": "json",
            "server.address": self._server[0],
            "server.port": self._server[1],
        }

    @staticmethod
    def _record_response(span: Span, response: Any) -> None:
        span.set_attribute("gen_ai.response.model", str(getattr(response, "model", "") or ""))
        if getattr(response, "id", None):
            span.set_attribute("gen_ai.response.id", str(response.id))
        reasons = [str(c.finish_reason) for c in response.choices or [] if c.finish_reason]
        if reasons:
            span.set_attribute("gen_ai.response.finish_reasons", reasons)
        usage = getattr(response, "usage", None)
        if usage is not None:
            span.set_attribute("gen_ai.usage.input_tokens", int(usage.prompt_tokens or 0))
            span.set_attribute("gen_ai.usage.output_tokens", int(usage.completion_tokens or 0))


def _failure(exc: BaseException, span: Span) -> ModelFailure:
    """Map a client error to a fallback reason (also the span's error.type)."""
    if isinstance(exc, openai.APITimeoutError):
        reason = "timeout"
    elif isinstance(exc, openai.RateLimitError):
        reason = "rate_limited"
    elif isinstance(exc, openai.APIConnectionError):
        reason = "connection_error"
    elif isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
        reason = "server_error"
    elif isinstance(exc, openai.APIStatusError):
        reason = "client_error"
    else:
        reason = "invalid_output"
    span.set_attribute("error.type", reason)
    span.set_status(StatusCode.ERROR, reason)
    return ModelFailure(reason, _short(exc))


def _short(exc: BaseException) -> str:
    return str(exc).replace("\n", " ")[:200]
