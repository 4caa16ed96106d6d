"""Text cues: the indexed lookup finds exactly what a plain scan of the text for each cue finds."""

from __future__ import annotations

import random

from taskflow_suggest.domain.cues import (
    _NEGATIONS,
    CALM_CUES,
    CRITICAL_CUES,
    PRESSURE_CUES,
    WORK_CUES,
    CueHit,
    text_cues,
    words,
)

TABLES = (CRITICAL_CUES, PRESSURE_CUES, WORK_CUES, CALM_CUES)


def scanned_cues(text: str) -> list[CueHit]:
    """The reference: for each cue in table order, its first occurrence, unless negated."""
    tokens = words(text)
    hits: dict[str, CueHit] = {}
    for table in TABLES:
        for cue, weight in table.items():
            phrase = cue.split()
            starts = [
                i
                for i in range(len(tokens) - len(phrase) + 1)
                if tokens[i : i + len(phrase)] == phrase
            ]
            if cue in hits or not starts:
                continue
            if starts[0] > 0 and tokens[starts[0] - 1] in _NEGATIONS:
                continue
            hits[cue] = CueHit(cue, weight, "text")
    return list(hits.values())


def test_the_indexed_lookup_matches_a_plain_scan_on_many_texts():
    rng = random.Random(406)
    vocabulary = [w for table in TABLES for cue in table for w in cue.split()]
    vocabulary += [*_NEGATIONS, "the", "a", "down", "site", "read", "day", "time", "Prod,", "\n"]
    for _ in range(3000):
        text = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 24)))
        assert text_cues(text) == scanned_cues(text), text


def test_a_cue_counts_at_its_first_occurrence_only():
    # The first "urgent" is negated, so the second does not count either (as before).
    assert text_cues("not urgent, but urgent") == []
    assert [h.cue for h in text_cues("Site down! the site down again")] == ["site down"]
    # In table order, not text order.
    assert [h.cue for h in text_cues("someday maybe, one day")] == ["someday", "one day", "maybe"]
