"""The plain way: each report summed straight from the bookings, in a constant number of statements.

The reports read the roll-up (``reports/rollup.py``) when they can; this module is what they fall
back on (a period in another zone than its labs' roll-up days) and what the tests hold the roll-up
to: both return the same containers (``reports/figures.py``) for the same question. The SQL is the
reports' definition of each figure (``reports/selectors.py`` says it in words).

Measured with 1,000,000 bookings (``bench/bench_reports.py``): a center's yearly utilisation and the
network's yearly figures take PostgreSQL 1.5–2 s this way, against a few hundred milliseconds from the
roll-up: summing a year of booking rows is the cost, not Python.
"""

from __future__ import annotations

from reports.figures import NetworkFigures, Query, SponsorFigures, UtilisationFigures, fetch_all, report_cursor

# One pass over the period's bookings gives every breakdown: GROUPING() tells which set a row
# belongs to (bit 3: resource, 2: audience, 1: organisation, 0: bucket; a set's own columns are 0).
UTILISATION_SQL = """
WITH b AS (
    SELECT b.resource_id, b.user_id, b.status, b.start, b."end", b.checked_in_at, b.checked_out_at,
           COALESCE(NULLIF(b.price_details->>'audience', ''), m.audience, 'external') AS audience,
           COALESCE(b.organization_id, m.organization_id) AS org_id,
           date_trunc(%(bucket)s, b.start AT TIME ZONE %(tz)s)::date AS bucket
    FROM bookings_booking b
    JOIN labs_resource r ON r.id = b.resource_id
    LEFT JOIN labs_member m ON m.user_id = b.user_id
    WHERE r.lab_id = ANY(%(labs)s) AND b.start >= %(start)s AND b.start < %(end)s
)
SELECT GROUPING(resource_id, audience, org_id, bucket) AS g, resource_id, audience, org_id, bucket,
       COALESCE(SUM(EXTRACT(EPOCH FROM "end" - start)) FILTER (WHERE status = ANY(%(booked)s)), 0) / 3600.0,
       COALESCE(SUM(GREATEST(EXTRACT(EPOCH FROM
           COALESCE(checked_out_at, CASE WHEN status = 'checked_in' THEN LEAST("end", %(now)s) ELSE "end" END)
           - checked_in_at), 0))
           FILTER (WHERE checked_in_at IS NOT NULL), 0) / 3600.0,
       COUNT(*) FILTER (WHERE NOT status = ANY(%(not_made)s)),
       COUNT(*) FILTER (WHERE status = 'no_show'),
       COUNT(*) FILTER (WHERE status = 'cancelled'),
       COUNT(*) FILTER (WHERE status = ANY(%(due)s)),
       COUNT(DISTINCT user_id) FILTER (WHERE status = ANY(%(served)s))
FROM b
GROUP BY GROUPING SETS ((resource_id), (audience), (org_id), (bucket), ())
"""


# Booked hours per local weekday (1 = Monday) and hour of the day: each booking is cut at the
# hour marks it spans (a 09:30–11:00 booking gives half an hour at 9 and an hour at 10).
HEATMAP_SQL = """
SELECT EXTRACT(ISODOW FROM slot)::int, EXTRACT(HOUR FROM slot)::int,
       SUM(EXTRACT(EPOCH FROM LEAST(slot + interval '1 hour', le) - GREATEST(slot, ls))) / 3600.0
FROM (
    SELECT b.start AT TIME ZONE %(tz)s AS ls, b."end" AT TIME ZONE %(tz)s AS le
    FROM bookings_booking b JOIN labs_resource r ON r.id = b.resource_id
    WHERE r.lab_id = ANY(%(labs)s) AND b.start >= %(start)s AND b.start < %(end)s AND b.status = ANY(%(booked)s)
) x, LATERAL generate_series(date_trunc('hour', ls), le - interval '1 microsecond', interval '1 hour') AS slot
GROUP BY 1, 2
"""


SPONSOR_SQL = """
WITH b AS (
    SELECT b.user_id, b.status, b.start, b."end", b.checked_in_at, b.checked_out_at,
           COALESCE(NULLIF(b.price_details->>'audience', ''), m.audience, 'external') AS audience,
           COALESCE(b.organization_id, m.organization_id) AS org_id,
           COALESCE(o.kind, 'none') AS org_kind,
           COALESCE((b.price_details->>'subsidy_vnd')::bigint, 0) AS subsidy,
           date_trunc('month', b.start AT TIME ZONE %(tz)s)::date AS month
    FROM bookings_booking b
    JOIN equipment_equipment e ON e.resource_ptr_id = b.resource_id
    JOIN labs_resource r ON r.id = b.resource_id
    LEFT JOIN labs_member m ON m.user_id = b.user_id
    LEFT JOIN labs_organization o ON o.id = COALESCE(b.organization_id, m.organization_id)
    WHERE e.sponsor_id = %(partner)s AND (%(all_labs)s OR r.lab_id = ANY(%(labs)s))
      AND b.start >= %(start)s AND b.start < %(end)s
)
SELECT GROUPING(audience, org_kind, month) AS g, audience, org_kind, month,
       COALESCE(SUM(EXTRACT(EPOCH FROM "end" - start)) FILTER (WHERE status = ANY(%(booked)s)), 0) / 3600.0,
       COALESCE(SUM(GREATEST(EXTRACT(EPOCH FROM
           COALESCE(checked_out_at, CASE WHEN status = 'checked_in' THEN LEAST("end", %(now)s) ELSE "end" END)
           - checked_in_at), 0))
           FILTER (WHERE checked_in_at IS NOT NULL), 0) / 3600.0,
       COUNT(*) FILTER (WHERE status = ANY(%(booked)s)),
       COUNT(DISTINCT user_id) FILTER (WHERE status = ANY(%(served)s)),
       COUNT(DISTINCT org_id) FILTER (WHERE status = ANY(%(served)s)),
       COALESCE(SUM(subsidy) FILTER (WHERE status = ANY(%(served)s)), 0)
FROM b
GROUP BY GROUPING SETS ((audience), (org_kind), (month), ())
"""


# Two levels: first one row per (lab, month, person) with their hours, then every breakdown of
# those rows at once.
NETWORK_SQL = """
WITH b AS (
    SELECT r.lab_id, b.user_id, b.status, b.start, b."end", b.checked_in_at, b.checked_out_at,
           COALESCE(NULLIF(b.price_details->>'audience', ''), m.audience, 'external') AS audience,
           COALESCE(b.organization_id, m.organization_id) AS org_id,
           date_trunc('month', b.start AT TIME ZONE %(tz)s)::date AS month
    FROM bookings_booking b
    JOIN labs_resource r ON r.id = b.resource_id
    LEFT JOIN labs_member m ON m.user_id = b.user_id
    WHERE r.lab_id = ANY(%(labs)s) AND b.start >= %(start)s AND b.start < %(end)s
      AND b.status = ANY(%(booked)s)
), person_month AS (
    SELECT lab_id, month, user_id, audience, org_id,
           bool_or(status = ANY(%(served)s)) AS served,
           SUM(EXTRACT(EPOCH FROM "end" - start)) / 3600.0 AS booked,
           COALESCE(SUM(GREATEST(EXTRACT(EPOCH FROM
               COALESCE(checked_out_at, CASE WHEN status = 'checked_in' THEN LEAST("end", %(now)s) ELSE "end" END)
           - checked_in_at), 0))
               FILTER (WHERE checked_in_at IS NOT NULL), 0) / 3600.0 AS used,
           COUNT(*) AS bookings
    FROM b GROUP BY lab_id, month, user_id, audience, org_id
)
SELECT GROUPING(lab_id, month, audience) AS g, lab_id, month, audience,
       COUNT(DISTINCT user_id) FILTER (WHERE served),
       COUNT(DISTINCT org_id) FILTER (WHERE served),
       SUM(booked), SUM(used), SUM(bookings)
FROM person_month
GROUP BY GROUPING SETS ((), (audience), (lab_id), (lab_id, audience), (month), (month, audience))
"""


# Sponsors' contributions: the subsidies they paid on bookings people came to, and their machines' hours.
NETWORK_SPONSORS_SQL = """
SELECT e.sponsor_id,
       COALESCE(SUM((b.price_details->>'subsidy_vnd')::bigint) FILTER (WHERE b.status = ANY(%(served)s)), 0),
       SUM(EXTRACT(EPOCH FROM b."end" - b.start)) / 3600.0,
       COUNT(DISTINCT e.resource_ptr_id)
FROM bookings_booking b
JOIN equipment_equipment e ON e.resource_ptr_id = b.resource_id
JOIN labs_resource r ON r.id = b.resource_id
WHERE e.sponsor_id IS NOT NULL AND r.lab_id = ANY(%(labs)s) AND b.start >= %(start)s AND b.start < %(end)s
  AND b.status = ANY(%(booked)s)
GROUP BY e.sponsor_id
"""


def utilisation(query: Query) -> UtilisationFigures:
    """Utilisation of ``query.labs`` over the period, by resource, audience, organisation and bucket. Three statements."""
    params = query.params()
    figures = UtilisationFigures()
    with report_cursor() as cursor:
        rows = fetch_all(cursor, UTILISATION_SQL, params)
        figures.add_heat(fetch_all(cursor, HEATMAP_SQL, params))
    figures.add_sums(row[:-1] for row in rows)
    figures.add_people((*row[:5], row[-1]) for row in rows)
    return figures


def sponsor(query: Query, *, partner_id: int, all_labs: bool) -> SponsorFigures:
    """A sponsor's machines (in ``query.labs`` unless ``all_labs``) over the period. Two statements."""
    figures = SponsorFigures()
    with report_cursor() as cursor:
        rows = fetch_all(cursor, SPONSOR_SQL, query.params(partner=partner_id, all_labs=all_labs))
    # (g, audience, kind, month, booked, used, bookings, people, organisations, subsidy)
    figures.add_sums((*row[:7], row[9]) for row in rows)
    figures.add_people((*row[:4], row[7], row[8]) for row in rows)
    return figures


def network(query: Query) -> NetworkFigures:
    """The network's figures for ``query.labs`` over the period, and each sponsor's part. Three statements."""
    params = query.params()
    figures = NetworkFigures()
    with report_cursor() as cursor:
        rows = fetch_all(cursor, NETWORK_SQL, params)
        figures.sponsors = fetch_all(cursor, NETWORK_SPONSORS_SQL, params)
    # (g, lab, month, audience, people, organisations, booked, used, bookings)
    figures.add_sums((*row[:4], *row[6:]) for row in rows)
    figures.add_people(row[:6] for row in rows)
    return figures
