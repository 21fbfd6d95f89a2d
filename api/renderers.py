"""JSON out through orjson: datetimes natively (ISO 8601 with the offset), the same bytes as DRF's encoder writes."""

from __future__ import annotations

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_drf = JSONEncoder()
_OPTIONS = orjson.OPT_NON_STR_KEYS


class ORJSONRenderer(JSONRenderer):
    """DRF's JSONRenderer through orjson; anything orjson does not know (lazy text, Decimal, …) goes
    through DRF's own encoder, so the output is what DRF would write, minus the time."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        options = _OPTIONS
        if self.get_indent(accepted_media_type, renderer_context or {}):
            options |= orjson.OPT_INDENT_2  # the browsable API and "; indent=…" ask for it
        return orjson.dumps(data, default=_drf.default, option=options)
