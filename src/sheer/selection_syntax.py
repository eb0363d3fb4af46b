"""The selection strings users type, parsed into `AssetSelection` trees.

Grammar (Dagster's asset selection syntax, plus `is:` and dbt-style `*`):

    expr  := and (("or" | ",")? and)*      juxtaposition ("a d") is a union
    and   := not ("and" not)*
    not   := "not" not | trav
    trav  := [N+ | + | *] atom [+N | + | *]   upstream / downstream, N layers or all
    atom  := "(" expr ")" | "*" | attr:value | func "(" expr ")" | key
    attr  := key | group | kind | tag | owner | is      (tag:k=v, is:virtual)

A key is written `name` or `prefix/name`; inside `key:` a `*` is a wildcard.
"""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass

from sheer.errors import SelectionSyntaxError, did_you_mean
from sheer.keys import AssetKey
from sheer.selection import (
    AllSelection,
    AssetSelection,
    DownstreamSelection,
    GroupsSelection,
    KeysSelection,
    KeyWildcardSelection,
    KindOfNodeSelection,
    KindSelection,
    OwnerSelection,
    RootsSelection,
    SinksSelection,
    TagSelection,
    UpstreamSelection,
)

_ATTRIBUTES = ("key", "group", "kind", "tag", "owner", "is")
_IS_VALUES = ("virtual", "external", "materializable")
_FUNCTIONS = ("roots", "sinks")
_WORD = re.compile(r"[A-Za-z0-9_./\-=*:]+")
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # WORD STRING ( ) , UP DOWN ALL AND OR NOT EOF
    text: str
    pos: int
    depth: int | None = None


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        attached = bool(toks) and i > 0 and not text[i - 1].isspace()
        if c.isspace():
            i += 1
        elif c in "(),":
            toks.append(_Tok(c, c, i))
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise _syntax(text, i, "a quote is never closed")
            toks.append(_Tok("STRING", text[i + 1 : end], i))
            i = end + 1
        elif c == "+":
            m = _NUMBER.match(text, i + 1)
            after = m.end() if m else i + 1
            operand_before = attached and toks[-1].kind in ("WORD", "STRING", ")")
            if operand_before and (after >= n or text[after].isspace() or text[after] in "),"):
                toks.append(_Tok("DOWN", "+", i, int(m.group()) if m else None))
                i = after
            elif operand_before:
                toks.append(_Tok("DOWN", "+", i))
                i += 1
            else:
                toks.append(_Tok("UP", "+", i))
                i += 1
        elif c.isdigit() and (m := re.match(r"(\d+)\+", text[i:])):
            toks.append(_Tok("UP", m.group(), i, int(m.group(1))))
            i += m.end()
        elif c == "*":
            # *x, *(x), *"s/t": all upstream; (x)*: all downstream; alone: everything.
            operand_after = i + 1 < n and (text[i + 1] in '("' or bool(_WORD.match(text, i + 1)))
            operand_before = attached and toks[-1].kind in ("WORD", "STRING", ")")
            kind = "UP" if operand_after else "DOWN" if operand_before else "ALL"
            toks.append(_Tok(kind, "*", i))
            i += 1
        else:
            m = _WORD.match(text, i)
            if not m:
                raise _syntax(text, i, f"unexpected character {c!r}")
            toks.extend(_word_tokens(m.group(), i))
            i = m.end()
    toks.append(_Tok("EOF", "", n))
    return toks


def _word_tokens(word: str, pos: int) -> list[_Tok]:
    lower = word.lower()
    if lower in ("and", "or", "not"):
        return [_Tok(lower.upper(), word, pos)]
    # A trailing '*' outside key: is "everything downstream" (dbt style).
    if word.endswith("*") and not word.startswith("key:") and len(word) > 1:
        return [_Tok("WORD", word[:-1], pos), _Tok("DOWN", "*", pos + len(word) - 1)]
    return [_Tok("WORD", word, pos)]


def _syntax(text: str, pos: int, why: str) -> SelectionSyntaxError:
    return SelectionSyntaxError(
        f"Cannot parse the selection {text!r}: {why} at position {pos}.\n  {text}\n  "
        f"{' ' * pos}^\nFix: write keys, attributes like group:name, kind:view, tag:k=v or "
        "is:virtual, joined by and / or / not, with + for upstream/downstream (+x, x+, 2+x).",
    )


class _Frame:
    """One open group while parsing: its finished or-terms and the current and-term."""

    def __init__(self, opener: str | None = None) -> None:
        self.opener = opener  # None for parentheses (or the whole text), else roots/sinks
        self.up: _Tok | None = None  # the traversal before the group that opened this frame
        self.nots = 0  # `not`s waiting for the current operand
        self.terms: list[AssetSelection] = []
        self.factors: list[AssetSelection] = []

    def add(self, sel: AssetSelection) -> None:
        for _ in range(self.nots):
            sel = AllSelection(include_external=True) - sel
        self.nots = 0
        self.factors.append(sel)

    def end_term(self) -> None:
        self.terms.append(functools.reduce(operator.and_, self.factors))
        self.factors = []

    def result(self) -> AssetSelection:
        self.end_term()
        return functools.reduce(operator.or_, self.terms)

    def close(self) -> AssetSelection:
        inner = self.result()
        if self.opener == "roots":
            return RootsSelection(child=inner)
        if self.opener == "sinks":
            return SinksSelection(child=inner)
        return inner


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, kind: str) -> _Tok:
        tok = self.take()
        if tok.kind != kind:
            shown = tok.text or "the end"
            raise _syntax(self.text, tok.pos, f"expected {kind!r} but found {shown!r}")
        return tok

    def parse(self) -> AssetSelection:
        """The whole selection, read with an explicit stack of open groups.

        Each `(` or `roots(` opens a frame; a `not` is counted, not recursed into; a list
        is gathered into one frame. So 10,000 nested parentheses, 10,000 `not`s or a
        50,000-key list parse without RecursionError.
        """
        if self.peek().kind == "EOF":
            raise _syntax(self.text, 0, "the selection is empty")
        frames = [_Frame()]
        while True:
            sel = self.parse_operand(frames)
            if sel is None:
                continue  # a group opened: its first operand comes next
            while True:
                frame = frames[-1]
                frame.add(self.finish_traversal(frame.up, sel))
                frame.up = None
                if self.continue_expression(frame):
                    break
                if len(frames) == 1:
                    tok = self.peek()
                    if tok.kind != "EOF":
                        raise _syntax(self.text, tok.pos, f"unexpected {tok.text!r}")
                    return frame.result()
                self.expect(")")
                frames.pop()
                sel = frame.close()

    def parse_operand(self, frames: list[_Frame]) -> AssetSelection | None:
        """The next atom of the innermost frame, or None when it opens a group."""
        frame = frames[-1]
        while self.peek().kind == "NOT":
            self.take()
            frame.nots += 1
        frame.up = self.take() if self.peek().kind == "UP" else None
        tok = self.peek()
        if tok.kind == "(":
            self.take()
            frames.append(_Frame(opener=None))
            return None
        if tok.kind == "WORD" and tok.text in _FUNCTIONS and self.toks[self.i + 1].kind == "(":
            self.i += 2
            frames.append(_Frame(opener=tok.text))
            return None
        return self.parse_atom()

    def finish_traversal(self, up: _Tok | None, atom: AssetSelection) -> AssetSelection:
        down = self.take() if self.peek().kind == "DOWN" else None
        if down is None:
            return atom if up is None else UpstreamSelection(child=atom, depth=up.depth)
        downstream = DownstreamSelection(child=atom, depth=down.depth)
        if up is None:
            return downstream
        # +x+ is x with its ancestors and its descendants (as in Dagster and dbt),
        # not everything downstream of its ancestors.
        return UpstreamSelection(child=atom, depth=up.depth) | downstream

    def continue_expression(self, frame: _Frame) -> bool:
        """Read the operator after an operand; False when the frame's expression ends."""
        kind = self.peek().kind
        if kind == "AND":
            self.take()
            return True
        if kind in ("OR", ","):
            self.take()
        elif kind not in ("WORD", "STRING", "(", "UP", "ALL", "NOT"):
            return False
        frame.end_term()
        return True

    def parse_atom(self) -> AssetSelection:
        tok = self.take()
        if tok.kind == "ALL":
            return AllSelection(include_external=True)
        if tok.kind == "STRING":
            return KeysSelection(selected_keys=(AssetKey(tok.text),))
        if tok.kind != "WORD":
            shown = tok.text or "the end"
            raise _syntax(self.text, tok.pos, f"expected an asset or attribute, found {shown!r}")
        if ":" in tok.text:
            return self.parse_attribute(tok)
        return _key_selection(tok.text, self.text, tok.pos)

    def parse_attribute(self, tok: _Tok) -> AssetSelection:
        attr, _, value = tok.text.partition(":")
        if attr not in _ATTRIBUTES:
            hint = did_you_mean(attr, _ATTRIBUTES)
            raise _syntax(
                self.text,
                tok.pos,
                f"unknown attribute {attr!r}.{hint} Known: " + ", ".join(_ATTRIBUTES),
            )
        if not value and self.peek().kind == "STRING":
            value = self.take().text
            if attr == "tag" and self.peek().kind == "WORD" and self.peek().text.startswith("="):
                rest = self.take().text[1:]
                if not rest and self.peek().kind == "STRING":
                    rest = self.take().text
                value = f"{value}={rest}"
        elif attr == "tag" and value.endswith("=") and self.peek().kind == "STRING":
            value += self.take().text
        if not value:
            raise _syntax(self.text, tok.pos, f"{attr}: needs a value, e.g. {attr}:name")
        return _attribute_selection(attr, value, self.text, tok.pos)


def _attribute_selection(attr: str, value: str, text: str, pos: int) -> AssetSelection:
    if attr == "key":
        return _key_selection(value, text, pos, wildcard=True)
    if attr == "group":
        return GroupsSelection(selected_groups=(value,))
    if attr == "kind":
        return KindSelection(kind_str=value)
    if attr == "owner":
        return OwnerSelection(selected_owner=value)
    if attr == "tag":
        k, eq, v = value.partition("=")
        return TagSelection(key=k, value=v if eq else None)
    if value not in _IS_VALUES:
        hint = did_you_mean(value, _IS_VALUES)
        raise _syntax(
            text, pos, f"is:{value} is not known.{hint} Known: is:" + ", is:".join(_IS_VALUES)
        )
    return KindOfNodeSelection(what=value)


def _key_selection(value: str, text: str, pos: int, *, wildcard: bool = False) -> AssetSelection:
    if wildcard and "*" in value:
        return KeyWildcardSelection(pattern=value)
    try:
        return KeysSelection(selected_keys=(AssetKey(value),))
    except ValueError as exc:
        raise _syntax(text, pos, f"{value!r} is not a valid asset key") from exc


def parse_selection(text: str) -> AssetSelection:
    """Parse a selection string into an `AssetSelection`.

    Example:
        >>> str(parse_selection("a d"))
        '(key:a or key:d)'
    """
    return _Parser(text).parse()
