"""The one reader of JSON that arrives from outside (FHIR bodies, provider webhooks): the
nesting depth is checked on the raw text before anything parses it, so a body nested
thousands of levels deep is refused as bad input instead of exhausting the parser's, the
validator's or our own recursion."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64  # arrays and objects inside each other; real FHIR resources stay far below
# A string (its escapes included) or a bracket: brackets inside strings do not nest.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
# The escape of a NUL character (not an escaped backslash followed by "u0000"): PostgreSQL's
# text columns cannot store one, so a body holding one is bad input, not a server error.
_NUL_ESCAPE = re.compile(rb'(?<!\\)(?:\\\\)*\\u0000')


class JsonRefused(ValueError):
    """Not JSON, nested deeper than ``MAX_DEPTH``, or holding a NUL character; the message
    says which."""


def read_json(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    raw = data.encode() if isinstance(data, str) else data
    depth = 0
    for token in _TOKEN.finditer(raw):
        bracket = token.group()
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                raise JsonRefused(f"nested deeper than {max_depth} levels")
        elif bracket in (b"]", b"}"):
            depth -= 1
    if _NUL_ESCAPE.search(raw):
        raise JsonRefused("a string holds a NUL character (\\u0000)")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise JsonRefused("not valid JSON") from None
