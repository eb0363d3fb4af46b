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
        if self.peek().kind == "EOF":
            raise _syntax(self.text, 0, "the selection is empty")
        sel = self.parse_or()
        tok = self.peek()
        if tok.kind != "EOF":
            raise _syntax(self.text, tok.pos, f"unexpected {tok.text!r}")
        return sel

    def parse_or(self) -> AssetSelection:
        sel = self.parse_and()
        while True:
            kind = self.peek().kind
            if kind in ("OR", ","):
                self.take()
            elif kind not in ("WORD", "STRING", "(", "UP", "ALL", "NOT"):
                return sel
            sel = sel | self.parse_and()

    def parse_and(self) -> AssetSelection:
        sel = self.parse_not()
        while self.peek().kind == "AND":
            self.take()
            sel = sel & self.parse_not()
        return sel

    def parse_not(self) -> AssetSelection:
        if self.peek().kind == "NOT":
            self.take()
            return AllSelection(include_external=True) - self.parse_not()
        return self.parse_traversal()

    def parse_traversal(self) -> AssetSelection:
        up = self.take() if self.peek().kind == "UP" else None
        atom = self.parse_atom()
        down = self.take() if self.peek().kind == "DOWN" else None
        if down is None:
            return atom if up is None else UpstreamSelection(child=atom, depth=up.depth)
        downstream = DownstreamSelection(child=atom, depth=down.depth)
        if up is None:
            return downstream
        # +x+ is x with its ancestors and its descendants (as in Dagster and dbt),
        # not everything downstream of its ancestors.
        return UpstreamSelection(child=atom, depth=up.depth) | downstream

    def parse_atom(self) -> AssetSelection:
        tok = self.take()
        if tok.kind == "(":
            sel = self.parse_or()
            self.expect(")")
            return sel
        if tok.kind == "ALL":
            return AllSelection(include_external=True)
        if tok.kind == "STRING":
            return KeysSelection(selected_keys=(AssetKey(tok.text),))
        if tok.kind != "WORD":
            shown = tok.text or "the end"
            raise _syntax(self.text, tok.pos, f"expected an asset or attribute, found {shown!r}")
        if tok.text in _FUNCTIONS and self.peek().kind == "(":
            self.take()
            inner = self.parse_or()
            self.expect(")")
            return (
                RootsSelection(child=inner) if tok.text == "roots" else SinksSelection(child=inner)
            )
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
