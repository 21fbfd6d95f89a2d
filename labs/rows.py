"""Light, read-only stand-ins for Resource rows, for pages and APIs that read hundreds at once.

A model instance costs ~0.1 ms to build (more with deferred fields); a lab page of 1,000
resources or a grid request spent most of its time on them. A ``ResourceRow`` subclass names the
columns it reads (``FIELDS``, ending with ``lab_id``) and is built from one value tuple, sharing
one ``Lab`` per lab with the other rows. It offers what the calendar code and the readers use of a
Resource: ``pk``, ``name``, ``is_exclusive``, ``get_status_display()`` and ``lab``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import get_language

from labs.models import Lab, Resource


class ResourceRow:
    """Base of the light resource rows; subclasses set ``FIELDS`` and ``__slots__ = FIELDS``."""

    FIELDS: tuple[str, ...] = ()
    __slots__ = ("lab",)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.FIELDS or cls.FIELDS[-1] != "lab_id":
            raise TypeError(f"{cls.__name__}.FIELDS must end with 'lab_id'")

    def __init__(self, values: tuple, lab: Lab) -> None:
        for name, value in zip(self.FIELDS, values, strict=False):
            setattr(self, name, value)
        self.lab = lab

    @property
    def pk(self) -> int:
        return self.id

    @property
    def is_exclusive(self) -> bool:
        return self.capacity == 1

    @property
    def name(self) -> str:
        """The name in the active language, as Resource.name."""
        if (get_language() or "vi").startswith("en") and self.name_en:
            return self.name_en
        return self.name_vi

    def get_status_display(self) -> str:
        """The status's label in the active language, as Resource.get_status_display."""
        return str(dict(Resource.Status.choices).get(self.status, self.status))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.slug}>"


def rows_with_labs(
    row_class: type[ResourceRow], value_rows: Iterable[tuple], lab_fields: tuple[str, ...], alias: str
) -> list:
    """``row_class`` rows from tuples of (``row_class.FIELDS``..., ``lab_fields``...).

    One Lab per lab, built as ``.only(*lab_fields)`` would build it (the other fields deferred) and
    shared by that lab's rows. ``lab_fields`` must be in the model's field order (Model.from_db).
    """
    labs: dict[int, Lab] = {}
    width = len(row_class.FIELDS)
    rows = []
    for values in value_rows:
        lab_id = values[width - 1]
        lab = labs.get(lab_id)
        if lab is None:
            lab = labs[lab_id] = Lab.from_db(alias, lab_fields, values[width:])
        rows.append(row_class(values[:width], lab))
    return rows
