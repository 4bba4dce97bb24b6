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


class JsonRefused(ValueError):
    """Not JSON, or nested deeper than ``MAX_DEPTH``; the message says which."""


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
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise JsonRefused("not valid JSON") from None
