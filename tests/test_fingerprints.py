"""Fingerprints: the fast texts give exactly the answers of their plain definitions."""

from __future__ import annotations

import hashlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from sheer.fingerprints import (
    MISSING_VERSION,
    exact_inputs_text,
    fast_inputs_text,
    inputs_prefix,
    inputs_text,
    legacy_exact_equal,
    virtual_template,
    virtual_version_from_template,
    virtual_version_sorted,
)
from sheer.versioning import virtual_version

names = st.text(alphabet="ab/_.-1", min_size=1, max_size=4)
versions = st.one_of(st.none(), st.text(max_size=6), st.sampled_from(["\x1f", "a\x1fb", "\x1e"]))
codes = st.one_of(st.none(), st.text(max_size=4), st.sampled_from(["1", "x\x1fy", "\x1e"]))
parents = st.dictionaries(names, versions, max_size=4)


def reference_virtual_version(code: str | None, given: dict[str, str | None]) -> str:
    """The definition: a hash of the JSON of ["virtual", code, sorted [name, version]]."""
    pairs = sorted((n, v if v is not None else MISSING_VERSION) for n, v in given.items())
    text = json.dumps(["virtual", code, pairs], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@settings(max_examples=400, deadline=None)
@given(codes, parents)
def test_the_fast_virtual_version_is_the_hash_of_its_json_text(code, given) -> None:
    ordered = sorted(given)
    fast = virtual_version_sorted(code, ordered, [given[n] for n in ordered])
    assert fast == reference_virtual_version(code, given)


# Names, codes and versions with the characters a template or JSON must escape.
awkward = st.text(alphabet='ab{}"\\\x00é\x1f', max_size=5)


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(st.none(), awkward),
    st.dictionaries(awkward.filter(bool), st.one_of(st.none(), awkward), max_size=4),
)
def test_the_templated_virtual_version_is_the_hash_of_its_json_text(code, given) -> None:
    ordered = sorted(given)
    template = virtual_template(code, ordered)
    got = virtual_version_from_template(template, code, ordered, [given[n] for n in ordered])
    assert got == reference_virtual_version(code, given)


def test_virtual_version_of_keys_is_the_same_hash() -> None:
    from sheer.keys import AssetKey

    got = virtual_version("1", [(AssetKey(["s", "t"]), "v"), (AssetKey("a"), None)])
    assert got == reference_virtual_version("1", {"s/t": "v", "a": None})


@settings(max_examples=600, deadline=None)
@given(codes, parents, codes, parents)
def test_two_inputs_texts_are_equal_exactly_when_their_inputs_are(c1, p1, c2, p2) -> None:
    same = (c1, p1) == (c2, p2)
    assert (inputs_text(c1, p1.items()) == inputs_text(c2, p2.items())) is same


@settings(max_examples=300, deadline=None)
@given(codes, parents)
def test_the_reading_side_builds_the_text_the_writing_side_stored(code, given) -> None:
    ordered = sorted(given)
    values = [given[n] for n in ordered]
    prefix = inputs_prefix(code, ordered)
    now = fast_inputs_text(prefix, values) if prefix is not None else None
    if now is None:
        now = exact_inputs_text(code, ordered, values)
    assert now == inputs_text(code, given.items())


def test_a_missing_version_or_a_separator_in_a_version_takes_the_exact_form() -> None:
    assert inputs_text("1", [("a", "v1"), ("b", "v2")]) == "=1\x1ea\x1fb\x1ev1\x1fv2"
    assert inputs_text("1", [("a", None)]).startswith("\x02")
    assert inputs_text("1", [("a", "x\x1fy")]).startswith("\x02")
    assert inputs_text("x\x1e", [("a", "v")]).startswith("\x02")
    assert inputs_text(None, []) == "-\x1e\x1e"


def test_exact_texts_written_with_a_nul_before_stx_still_compare_equal() -> None:
    now = inputs_text("1", [("a", None)])
    assert legacy_exact_equal("\x00" + now[1:], now)
    assert not legacy_exact_equal("\x00" + now[1:-1], now)
