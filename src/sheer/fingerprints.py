"""Fingerprints: the texts staleness builds for every asset of a graph, made cheap.

A whole-graph staleness pass computes the version of every virtual asset and compares
what every materialization recorded of its inputs with what they are now. Both are
per-asset string work over the whole graph, so this module builds the strings with as
few Python-level steps as it can, and defines them exactly:

- `virtual_version_sorted` gives the same hash as `versioning.virtual_version` (the
  text hashed is the JSON `["virtual", code_version, [[name, version], ...]]`), with the
  JSON built by one reusable C encoder instead of a new encoder per call.
- `inputs_text` is what the latest-record index stores of a materialization's
  provenance: its code version, its parents' names and their versions. Two texts are
  equal exactly when all three are. The fast form joins them with the ASCII unit and
  record separators, which asset names cannot hold; when a version is missing or holds
  a unit separator, or the code version holds a separator, the exact form (STX and
  JSON) is used instead, on both the writing and the reading side, so the fast form is
  never ambiguous.

Pure functions, no storage, no graph.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

MISSING_VERSION = "<missing>"  # stands in, inside hashes, for a parent never materialized
_US, _RS = "\x1f", "\x1e"  # the ASCII unit and record separators
# The first character of an exact inputs text: STX, which a fast text never starts with
# (it starts with "-" or "="), and which PostgreSQL text can hold (a NUL it cannot).
EXACT_MARK = "\x02"


def _unencodable(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# One C encoder for every call: `json.dumps` makes a new one each time, which cost more
# than the encoding of a virtual asset's few parents. Same text as
# `json.JSONEncoder(separators=(",", ":"))`.
_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_ENCODE: Any = (
    _make_encoder(
        None,  # no cycle check: the values are flat lists of strings
        _unencodable,
        json.encoder.encode_basestring_ascii,
        None,
        ":",
        ",",
        False,
        False,
        True,
    )
    if _make_encoder is not None
    else None
)
_SLOW_ENCODER = json.JSONEncoder(separators=(",", ":"))
_encode_string: Any = json.encoder.encode_basestring_ascii  # a JSON string literal


def _json(value: Any) -> str:
    if _ENCODE is None:  # an interpreter without the C accelerator
        return _SLOW_ENCODER.encode(value)
    return "".join(_ENCODE(value, 0))


def virtual_version_sorted(
    code_version: str | None, names: Sequence[str], versions: Sequence[str | None]
) -> str:
    """The version of a virtual asset whose parents, in name order, are `names` with
    `versions` (None for a parent never materialized)."""
    if None in versions:
        versions = [MISSING_VERSION if v is None else v for v in versions]
    text = _json(["virtual", code_version, list(zip(names, versions, strict=True))])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def virtual_template(code_version: str | None, names: Sequence[str]) -> str:
    """The JSON text `virtual_version_sorted` hashes for a virtual asset with these
    parents (in name order), with one `str.format` field per parent version: what
    depends on the definition only, encoded once per graph."""
    pairs = ",".join(
        f"[{_json(name)},{{}}]" for name in (n.replace("{", "{{").replace("}", "}}") for n in names)
    )
    return f'["virtual",{_json(code_version).replace("{", "{{").replace("}", "}}")},[{pairs}]]'


def virtual_version_from_template(
    template: str, code_version: str | None, names: Sequence[str], versions: Sequence[str | None]
) -> str:
    """`virtual_version_sorted(code_version, names, versions)`, filling `template` (from
    `virtual_template(code_version, names)`) with the versions: one C call per version
    and one for the text, where the generic form builds and encodes nested lists."""
    try:
        text = template.format(*map(_encode_string, versions))
    except TypeError:  # a parent never materialized
        return virtual_version_sorted(code_version, names, versions)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def inputs_prefix(code_version: str | None, names: Sequence[str]) -> str | None:
    """The part of an inputs text that depends on the definition only (code version and
    parent names in name order); None when only the exact form can hold it."""
    code = "-" if code_version is None else f"={code_version}"
    if _US in code or _RS in code:
        return None
    return f"{code}{_RS}{_US.join(names)}{_RS}"


def inputs_text(code_version: str | None, parents: Iterable[tuple[str, str | None]]) -> str:
    """What the index stores of a materialization made from `parents` (name, version)."""
    pairs = sorted(parents)
    names = [name for name, _ in pairs]
    versions = [v for _, v in pairs]
    prefix = inputs_prefix(code_version, names)
    fast = fast_inputs_text(prefix, versions) if prefix is not None else None
    return fast if fast is not None else exact_inputs_text(code_version, names, versions)


def fast_inputs_text(prefix: str, versions: Sequence[str | None]) -> str | None:
    """The fast form, or None when it cannot hold these versions."""
    try:
        text = prefix + _US.join(versions)  # type: ignore[arg-type]
    except TypeError:  # a missing version
        return None
    if text.count(_US, len(prefix)) != max(len(versions) - 1, 0):
        return None  # a version holds a unit separator
    return text


def exact_inputs_text(
    code_version: str | None, names: Sequence[str], versions: Sequence[str | None]
) -> str:
    return EXACT_MARK + _json([code_version, list(names), list(versions)])


def legacy_exact_equal(recorded: str, now: str) -> bool:
    """Whether `recorded`, an exact text written before the mark was STX (with a NUL,
    which PostgreSQL text cannot hold), says what `now` says."""
    return recorded[:1] == "\x00" and now[:1] == EXACT_MARK and recorded[1:] == now[1:]
