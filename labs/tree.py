"""The lab tree in SQL, written once: subtrees (a lab and every lab below it) and ancestor chains.

Centers have sub-labs (``labs_lab.parent_id``); a manager of a center manages its subtree, a
policy or opening hours of a center apply below it. Every walk of the tree goes through the two
common table expressions here, used as whole statements (:func:`subtree_ids`,
:func:`ancestor_ids`) or inside other statements (:func:`subtree_cte`, :func:`ancestors_cte`,
:func:`subtree_subquery`). Subtrees use UNION (not UNION ALL) and chains stop at 32 levels, so a
malformed parent cycle can never make a query recurse for ever.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models.expressions import RawSQL

#: The deepest chain walked (a center, its sub-centers, … — far more than any real network).
MAX_DEPTH = 32


def subtree_cte(name: str, roots: str) -> str:
    """``name(id) AS (…)``: the labs ``roots`` selects (a SELECT of one id column) and all below them."""
    return (
        f"{name}(id) AS ({roots} UNION SELECT child.id FROM labs_lab child JOIN {name} ON child.parent_id = {name}.id)"
    )


def ancestors_cte(name: str, origins: str) -> str:
    """``name(origin, id, parent_id, depth) AS (…)``: each lab ``origins`` selects and its ancestors.

    ``origins`` is a condition on ``labs_lab`` (e.g. ``id = ANY(%s)``); ``depth`` is 0 for the lab
    itself, 1 for its parent, and so on; ``origin`` tells the chains apart.
    """
    return (
        f"{name}(origin, id, parent_id, depth) AS ("
        f"SELECT id, id, parent_id, 0 FROM labs_lab WHERE {origins} "
        f"UNION ALL SELECT {name}.origin, lab.id, lab.parent_id, {name}.depth + 1 "
        f"FROM labs_lab lab JOIN {name} ON lab.id = {name}.parent_id WHERE {name}.depth < {MAX_DEPTH - 1})"
    )


_SUBTREE_SQL = (
    f"WITH RECURSIVE {subtree_cte('subtree', 'SELECT id FROM labs_lab WHERE id = ANY(%s)')} SELECT id FROM subtree"
)
_ANCESTORS_SQL = f"WITH RECURSIVE {ancestors_cte('up', 'id = %s')} SELECT id FROM up ORDER BY depth"


def subtree_ids(lab_ids: Iterable[int]) -> list[int]:
    """Ids of the given labs and every lab below them (one query; none for no labs)."""
    ids = sorted({int(i) for i in lab_ids})
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_SUBTREE_SQL, [ids])
        return [row[0] for row in cursor.fetchall()]


def ancestor_ids(lab_id: int) -> list[int]:
    """Ids of the lab and its ancestors, nearest first (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(_ANCESTORS_SQL, [int(lab_id)])
        return [row[0] for row in cursor.fetchall()]


def subtree_subquery(lab_id: int) -> RawSQL:
    """The subtree of ``lab_id`` as a subquery, for ``filter(lab_id__in=…)`` in the same statement."""
    return RawSQL(_SUBTREE_SQL, [[int(lab_id)]])


def nearest_up_sql(table: str, column: str = "lab_id") -> str:
    """A statement finding the row of ``table`` attached to the nearest lab up the chain of ``%s``.

    E.g. a lab's booking policy: its own, else its center's, else the center above.
    """
    return (
        f"WITH RECURSIVE {ancestors_cte('up', 'id = %s')} "
        f"SELECT row.id FROM up JOIN {table} row ON row.{column} = up.id ORDER BY up.depth LIMIT 1"
    )
