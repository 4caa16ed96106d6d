"""Words and labels that move urgency, and instruction-like text that must not.

Weights are points on the urgency scale of `urgency.py`. A cue preceded by a negation
("not urgent", "no outage") does not count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Incidents and impact: a task that says these is usually on fire.
CRITICAL_CUES: dict[str, float] = {
    "outage": 5.0,
    "is down": 5.0,
    "are down": 5.0,
    "went down": 5.0,
    "goes down": 5.0,
    "site down": 5.0,
    "server down": 5.0,
    "service down": 5.0,
    "api down": 5.0,
    "app down": 5.0,
    "website down": 5.0,
    "database down": 5.0,
    "incident": 4.0,
    "sev1": 5.0,
    "sev-1": 5.0,
    "p0": 5.0,
    "data loss": 5.0,
    "breach": 5.0,
    "compromised": 5.0,
    "leaked": 4.0,
    "leak": 3.0,
    "exploit": 4.0,
    "cve": 3.0,
    "vulnerability": 4.0,
    "security": 3.0,
    "production": 3.0,
    "prod": 3.0,
    "customers": 3.0,
    "customer": 2.5,
    "blocker": 4.0,
    "blocking": 3.0,
    "broken": 3.0,
    "crash": 3.0,
    "crashes": 3.0,
    "crashing": 3.0,
    "not working": 3.0,
    "failing": 2.0,
    "cannot": 1.5,
    "can't": 1.5,
    "blocked": 2.0,
    "users": 1.0,
    "sick": 2.5,
}
# Explicit time pressure.
PRESSURE_CUES: dict[str, float] = {
    "urgent": 4.0,
    "urgently": 4.0,
    "asap": 4.0,
    "emergency": 4.0,
    "immediately": 4.0,
    "critical": 3.0,
    "right away": 3.0,
    "deadline": 2.0,
    "today": 2.0,
    "tonight": 2.0,
    "by eod": 2.5,
    "hotfix": 3.0,
    "escalated": 3.0,
}
# Everyday work that matters but is rarely on fire.
WORK_CUES: dict[str, float] = {
    "bug": 1.5,
    "fix": 1.0,
    "regression": 2.0,
    "error": 1.0,
    "invoice": 1.5,
    "payment": 1.5,
    "taxes": 1.5,
    "contract": 1.0,
    "review": 0.5,
    "release": 1.0,
    "renew": 1.0,
    "expires": 1.5,
    "appointment": 1.0,
}
# Leisure and "some other time": these pull urgency down.
CALM_CUES: dict[str, float] = {
    "someday": -4.0,
    "some day": -4.0,
    "one day": -3.0,
    "maybe": -2.0,
    "eventually": -3.0,
    "nice to have": -3.0,
    "when i have time": -3.0,
    "if time permits": -3.0,
    "no rush": -3.0,
    "low priority": -3.0,
    "wishlist": -3.0,
    "idea": -1.5,
    "ideas": -1.5,
    "brainstorm": -1.5,
    "explore": -1.0,
    "read a": -1.0,
    "novel": -1.5,
    "hobby": -2.0,
    "for fun": -2.0,
    "optional": -2.0,
    "later": -1.0,
}
LABEL_CUES: dict[str, float] = {
    "urgent": 4.0,
    "blocker": 4.0,
    "incident": 4.0,
    "outage": 4.0,
    "p0": 4.0,
    "p1": 2.5,
    "security": 3.0,
    "hotfix": 3.0,
    "customer": 2.0,
    "customers": 2.0,
    "production": 2.0,
    "prod": 2.0,
    "bug": 1.0,
    "finance": 0.5,
    "someday": -4.0,
    "someday-maybe": -4.0,
    "wishlist": -3.0,
    "idea": -2.0,
    "ideas": -2.0,
    "backlog": -1.5,
    "later": -2.0,
    "hobby": -2.0,
    "leisure": -2.0,
    "reading": -1.5,
}
# At most this many points come from text cues of each sign, so piling up buzzwords
# cannot make any task urgent on its own.
MAX_TEXT_BOOST = 13.0
MAX_TEXT_DAMPING = -6.0

_NEGATIONS = {"not", "no", "non", "never", "without"}
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")

# Text that addresses a model rather than describing work. The heuristic ignores the wording
# of such a task (it may be planted), and the model's answer for it is bounded (see policy.py).
_INSTRUCTION_LIKE = re.compile(
    r"(ignore|disregard|forget|override)\s+(all\s+|any\s+|the\s+|your\s+)*"
    r"(previous|prior|above|earlier|system|these)?\s*(instructions|rules|prompts?|guidelines)"
    r"|system\s+prompt|you\s+are\s+now|new\s+instructions"
    r"|(reply|respond|answer|output)\s+(only\s+)?with\s+(priority|the\s+priority|\{)"
    r"|set\s+(the\s+)?priority\s+to|</?\s*(task|system|instructions)\s*>",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CueHit:
    cue: str
    weight: float
    where: str  # "text" or "label"


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def looks_like_instructions(text: str) -> bool:
    return bool(_INSTRUCTION_LIKE.search(text))


def text_cues(text: str) -> list[CueHit]:
    """Every cue in the text once, skipping negated ones ("not urgent").

    A cue counts at its first occurrence, as a plain left-to-right scan would find it; hits
    come in the tables' order."""
    tokens = words(text)
    where: dict[str, list[int]] = {}
    for i, token in enumerate(tokens):
        where.setdefault(token, []).append(i)
    found: list[tuple[int, CueHit]] = []
    for word, starts in where.items():
        for rank, cue, weight, phrase in _CUES_BY_FIRST_WORD.get(word, ()):
            position = _first_at(tokens, phrase, starts)
            if position is None:
                continue
            if position > 0 and tokens[position - 1] in _NEGATIONS:
                continue
            found.append((rank, CueHit(cue, weight, "text")))
    found.sort(key=lambda hit: hit[0])
    return [hit for _, hit in found]


def label_cues(labels: tuple[str, ...]) -> list[CueHit]:
    seen: dict[str, CueHit] = {}
    for label in labels:
        key = label.strip().lower()
        if key in LABEL_CUES and key not in seen:
            seen[key] = CueHit(key, LABEL_CUES[key], "label")
    return list(seen.values())


def _first_at(tokens: list[str], phrase: list[str], starts: list[int]) -> int | None:
    """The first of `starts` (where the phrase's first word is, ascending) the phrase begins at."""
    if len(phrase) == 1:
        return starts[0]
    width = len(phrase)
    for i in starts:
        if tokens[i : i + width] == phrase:
            return i
    return None


def _cues_by_first_word() -> dict[str, list[tuple[int, str, float, list[str]]]]:
    """First word -> (rank in table order, cue, weight, its words); the first table naming a
    cue wins."""
    ranked: dict[str, tuple[int, str, float, list[str]]] = {}
    for table in (CRITICAL_CUES, PRESSURE_CUES, WORK_CUES, CALM_CUES):
        for cue, weight in table.items():
            ranked.setdefault(cue, (len(ranked), cue, weight, cue.split()))
    by_word: dict[str, list[tuple[int, str, float, list[str]]]] = {}
    for entry in ranked.values():
        by_word.setdefault(entry[3][0], []).append(entry)
    return by_word


# Built once at import: text_cues runs for every task event, and splitting each of the ~90
# cues and scanning the text once per cue was most of the heuristic's CPU (ADR 0406). Now
# each distinct word of the text is looked up once.
_CUES_BY_FIRST_WORD = _cues_by_first_word()
