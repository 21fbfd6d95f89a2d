"""Page-number pagination with a client-chosen page size (bounded), strict about both numbers."""

from __future__ import annotations

import re

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

_WHOLE = re.compile(r"[0-9]{1,9}")


class Pagination(PageNumberPagination):
    """``?page=2&page_size=100``; at most 500 rows a page so one request stays cheap.

    DRF quietly uses the default for a ``page_size`` it cannot read and answers 404 for a bad
    ``page``; here either is a 400 naming the parameter (a page past the last one stays a 404), and
    the schema states the bounds.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def _number(self, request, name: str, *, maximum: int) -> int | None:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return None  # an empty value means "not given", as for every filter
        if not _WHOLE.fullmatch(raw) or not 1 <= int(raw) <= maximum:
            raise ValidationError({name: [f"A whole number from 1 to {maximum} / Số nguyên từ 1 đến {maximum}."]})
        return int(raw)

    def get_page_size(self, request):
        return self._number(request, self.page_size_query_param, maximum=self.max_page_size) or self.page_size

    def paginate_queryset(self, queryset, request, view=None):
        self._number(request, self.page_query_param, maximum=999_999_999)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.page_query_param: 999_999_999, self.page_size_query_param: self.max_page_size}
        for parameter in parameters:
            if parameter["name"] in bounds:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": bounds[parameter["name"]]}
        return parameters
