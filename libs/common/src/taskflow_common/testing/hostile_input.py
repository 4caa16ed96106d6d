"""Hypothesis strategies for what a hostile or careless caller sends: odd text (NUL bytes, lone
surrogates, bidi controls, very long strings), numbers past every column's range, deep JSON, and
URL text. The property tests of every service draw on these, each adding its own samples.
Imported by tests only (hypothesis is a development dependency)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

_ODD_SAMPLES = ("\ud800", "a\x00b", "\u202e", "\ufeff", " ")
_URL_SAMPLES = ("a\x00b", "\u202e", "%00", "%ff", "%ED%A0%80", "x" * 3_000, " ", "..", ".")


def odd_text(*extra: str, long: int = 5_000) -> st.SearchStrategy[str]:
    """Short text, text ending in NUL, and samples no form should take (plus `extra`)."""
    return st.one_of(
        st.text(max_size=30),
        st.text(max_size=20).map(lambda t: t + "\x00"),
        st.sampled_from([*_ODD_SAMPLES, "x" * long, *extra]),
    )


HUGE_INTS = st.one_of(st.integers(), st.sampled_from([0, -1, 2**63, 10**400]))
FINITE = st.floats(allow_nan=False, allow_infinity=False)


def json_leaf(
    text: st.SearchStrategy[str], ints: st.SearchStrategy[int] = HUGE_INTS
) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), ints, FINITE, text)


def deep_json(
    text: st.SearchStrategy[str], ints: st.SearchStrategy[int] = HUGE_INTS
) -> st.SearchStrategy[Any]:
    """Nested lists and objects of odd leaves, keys drawn from `text`."""
    return st.recursive(
        json_leaf(text, ints),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
        max_leaves=15,
    )


def url_text(*extra: str) -> st.SearchStrategy[str]:
    """What can travel in a URL: no lone surrogates (not UTF-8), but NUL, controls, escapes."""
    return st.one_of(
        st.text(st.characters(exclude_categories=["Cs"]), max_size=30),
        st.sampled_from([*_URL_SAMPLES, *extra]),
    )
