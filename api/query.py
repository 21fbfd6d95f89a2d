"""Reading query strings: an empty parameter (``?end=``) means "not given", everywhere in the API."""

from __future__ import annotations

from django.http import QueryDict


def given(params: QueryDict) -> QueryDict:
    """``params`` without the parameters whose every value is empty (django-filter reads them so too)."""
    cleaned = params.copy()
    for key, values in params.lists():
        if all(value == "" for value in values):
            del cleaned[key]
    return cleaned
