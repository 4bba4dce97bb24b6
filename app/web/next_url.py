"""Where to go after signing in: the ``next`` parameter, read one way everywhere.

A ``next`` value comes from the query string, so anyone can craft it. Browsers forgive a lot
in a ``Location`` header: they drop tabs and newlines (``/\\t/host`` becomes ``//host``), read
``\\`` as ``/`` and ``//host`` as another site; a newline is also a header Werkzeug refuses (a
500). So only a same-origin path made of the characters a URL path and query may hold is
accepted; anything else means "no target".
"""

from __future__ import annotations

import re

MAX_LENGTH = 2000
# One "/" then RFC 3986 path, query and fragment characters: no control characters, spaces,
# backslashes or anything outside ASCII; a second "/" or a "\" right after the first is refused.
_SAME_ORIGIN_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@/?%#]*")


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None."""
    if not target or len(target) > MAX_LENGTH:
        return None
    return target if _SAME_ORIGIN_PATH.fullmatch(target) else None
