"""The API's JSON parser: strict JSON through orjson, with a nesting limit answered by a coded 400.

Python's json module recurses once per nesting level: a body of a few thousand ``[`` raised
RecursionError, which DRF does not catch (a 500 on ``/api/auth/login/``). orjson parses without
recursion, refuses what is not JSON (NaN, Infinity, numbers that overflow a double such as
``1e400``) and stops at 1,024 levels; our own limit, far below, is what a client meets.
"""

from __future__ import annotations

import orjson
from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from core.errors import DomainError


def json_depth(value: object) -> int:
    """How deeply ``value`` nests lists and objects (a scalar is 0), computed without recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        pending.extend((child, level + 1) for child in children)
    return deepest


class JSONParser(parsers.JSONParser):
    """``application/json`` bodies, UTF-8 as RFC 8259 requires; too deep is ``json_too_deep``."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.LABSHARE_API_MAX_JSON_DEPTH
        raw = stream.read() if stream is not None else b""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if "depth limit" in str(exc):
                raise DomainError("json_too_deep", limit=limit) from None
            raise ParseError(f"JSON parse error - {exc}") from None
        if json_depth(data) > limit:
            raise DomainError("json_too_deep", limit=limit)
        return data
