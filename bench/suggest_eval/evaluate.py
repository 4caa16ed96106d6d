"""Agreement of the priority engines with TaskFlow's evaluation set.

    uv run python bench/suggest_eval/evaluate.py                 # the heuristic
    TASKFLOW_LLM_BASE_URL=http://127.0.0.1:8090/v1 TASKFLOW_LLM_MODEL=smollm2 \\
        uv run python bench/suggest_eval/evaluate.py             # and the model
    ... --show-misses                                            # list each disagreement

Prints exact agreement, agreement within one level, quadratic-weighted kappa (priorities are
ordinal) and a confusion matrix (rows: expected, columns: suggested) per engine. The model is
evaluated as the service uses it (heuristic fallback on failure), with its failures counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from taskflow_suggest.application.errors import ModelFailure
from taskflow_suggest.domain.cues import looks_like_instructions
from taskflow_suggest.domain.model import PRIORITIES, TaskFacts
from taskflow_suggest.domain.policy import bound_model_verdict
from taskflow_suggest.domain.urgency import heuristic_verdict

SET = Path(__file__).with_name("tasks.json")
# Benchmarks here never run longer than this (the machine is shared).
MODEL_BUDGET_SECONDS = 55.0


@dataclass(frozen=True)
class Case:
    id: str
    facts: TaskFacts
    expected: str
    why: str


def load_cases(now: datetime) -> list[Case]:
    document = json.loads(SET.read_text())
    cases = []
    for item in document["tasks"]:
        due = item.get("due_in_hours")
        facts = TaskFacts(
            title=item["title"],
            description=item.get("description", ""),
            labels=tuple(item.get("labels", ())),
            due_at=now + timedelta(hours=due) if due is not None else None,
            created_at=now - timedelta(days=item.get("created_days_ago", 0)),
        )
        cases.append(Case(item["id"], facts, item["expected"], item["why"]))
    return cases


def report(name: str, cases: list[Case], predicted: list[str], show_misses: bool) -> float:
    n = len(cases)
    rank = {p: i for i, p in enumerate(PRIORITIES)}
    exact = sum(c.expected == p for c, p in zip(cases, predicted, strict=True))
    near = sum(abs(rank[c.expected] - rank[p]) <= 1 for c, p in zip(cases, predicted, strict=True))
    print(f"\n== {name}: {n} tasks")
    print(f"exact agreement      {exact}/{n} = {exact / n:.0%}")
    print(f"within one level     {near}/{n} = {near / n:.0%}")
    print(f"weighted kappa (q)   {_quadratic_kappa(cases, predicted):.2f}")
    pairs = Counter(zip((c.expected for c in cases), predicted, strict=True))
    width = max(len(p) for p in PRIORITIES) + 2
    print("confusion (rows expected, columns suggested)")
    print(" " * width + "".join(p.rjust(width) for p in PRIORITIES))
    for expected in PRIORITIES:
        row = "".join(str(pairs[(expected, p)] or ".").rjust(width) for p in PRIORITIES)
        print(expected.ljust(width) + row)
    if show_misses:
        for case, got in zip(cases, predicted, strict=True):
            if case.expected != got:
                print(f"  {case.id} expected {case.expected:<6} got {got:<6} {case.facts.title!r}")
    return exact / n


def _quadratic_kappa(cases: list[Case], predicted: list[str]) -> float:
    rank = {p: i for i, p in enumerate(PRIORITIES)}
    k = len(PRIORITIES)
    n = len(cases)
    observed = [[0.0] * k for _ in range(k)]
    for case, got in zip(cases, predicted, strict=True):
        observed[rank[case.expected]][rank[got]] += 1
    rows = [sum(r) for r in observed]
    cols = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    num = den = 0.0
    for i in range(k):
        for j in range(k):
            weight = (i - j) ** 2 / (k - 1) ** 2
            num += weight * observed[i][j]
            den += weight * rows[i] * cols[j] / n
    return 1.0 - num / den if den else 1.0


async def model_predictions(
    cases: list[Case], now: datetime, base_url: str, model: str
) -> list[str]:
    from openai import AsyncOpenAI

    from taskflow_suggest.infrastructure.llm.openai_provider import OpenAICompatibleModel

    timeout = float(os.environ.get("TASKFLOW_LLM_TIMEOUT_SECONDS", "8"))
    client = AsyncOpenAI(
        base_url=base_url,
        api_key=os.environ.get("TASKFLOW_LLM_API_KEY", "not-needed"),
        max_retries=0,
        timeout=timeout,
    )
    provider = OpenAICompatibleModel(client, model, timeout=timeout)
    failures: Counter[str] = Counter()
    predicted: list[str] = []
    started = time.monotonic()
    try:
        for case in cases:
            heuristic = heuristic_verdict(case.facts, now)
            if time.monotonic() - started > MODEL_BUDGET_SECONDS:
                failures["time_budget"] += 1
                predicted.append(heuristic.priority)
                continue
            try:
                verdict = await provider.suggest(case.facts, now)
            except ModelFailure as failure:
                failures[failure.reason] += 1
                predicted.append(heuristic.priority)
                continue
            instruction_like = looks_like_instructions(case.facts.title + case.facts.description)
            bounded = bound_model_verdict(
                verdict, heuristic, instruction_like=instruction_like, now=now
            )
            predicted.append(bounded.priority)
    finally:
        await client.close()
    answered = len(cases) - sum(failures.values())
    print(
        f"\nmodel {model} at {base_url}: {answered}/{len(cases)} answered in "
        f"{time.monotonic() - started:.1f} s; fell back: {dict(failures) or 'never'}"
    )
    return predicted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--base-url", default=os.environ.get("TASKFLOW_LLM_BASE_URL"))
    parser.add_argument("--model", default=os.environ.get("TASKFLOW_LLM_MODEL", "gpt-4o-mini"))
    args = parser.parse_args()
    now = datetime.now(UTC)
    cases = load_cases(now)
    report(
        "heuristic",
        cases,
        [heuristic_verdict(c.facts, now).priority for c in cases],
        args.show_misses,
    )
    if args.base_url:
        predicted = asyncio.run(model_predictions(cases, now, args.base_url, args.model))
        report(f"model {args.model} (heuristic on failure)", cases, predicted, args.show_misses)
    else:
        print(
            "\n(no model configured: set TASKFLOW_LLM_BASE_URL and TASKFLOW_LLM_MODEL to "
            "evaluate one)"
        )


if __name__ == "__main__":
    main()
