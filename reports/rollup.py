"""The fast way: each report read from the roll-up (``reports/models.py``) for its whole local days.

Same questions, same answers as ``reports/direct.py`` (tests compare the two on a hand-computed
week and after every kind of change), from far fewer rows: sums come from the days table (the
network's whole months from the months table), distinct people and organisations from the
served-days bit strings (OR a person's strings, AND them with the period's or a bucket's bits, then
count people: no sort over bookings), the heatmap from the hours table. Used time of bookings still
in use grows with the clock, so it is read from the bookings themselves (the status index finds
them).

Measured with 1,000,000 bookings (``bench/bench_reports.py``, A/B against ``direct`` in one run):
the figures this module rests on are in the README's reports section.

The roll-up's days are local days in each lab's own zone; a report may read it only when its period
is in that zone (``covers``), as every report of a lab is.
"""

from __future__ import annotations

from reports.figures import NetworkFigures, Query, SponsorFigures, UtilisationFigures, fetch_all, report_cursor


def covers(query: Query, zones) -> bool:
    """Whether the roll-up answers ``query``: every lab in its scope keeps local days in the period's zone."""
    return all(query.zone_is(zone) for zone in zones)


# The audience and organisation a booking counts for, as reports_fact() in the migration says.
_AUDIENCE = "COALESCE(NULLIF(b.price_details->>'audience', ''), m.audience, 'external')"
_ORGANIZATION = "COALESCE(b.organization_id, m.organization_id)"

# Bookings still in use: their used time so far (the roll-up leaves it out).
_IN_USE = f"""
    SELECT b.resource_id, b.status, {_AUDIENCE} AS audience, {_ORGANIZATION} AS org_id,
           (b.start AT TIME ZONE %(tz)s)::date AS day, 0 AS bookings, 0 AS booked, 0 AS subsidy_vnd,
           GREATEST(EXTRACT(EPOCH FROM LEAST(b."end", %(now)s) - b.checked_in_at), 0) AS used
    FROM bookings_booking b LEFT JOIN labs_member m ON m.user_id = b.user_id
    WHERE b.status = 'checked_in' AND b.checked_out_at IS NULL AND b.checked_in_at IS NOT NULL
      AND b.resource_id = ANY(%(resources)s) AND b.start >= %(start)s AND b.start < %(end)s
"""

# The period's days of the machines in scope, and the bookings still in use.
_DAYS = f"""
    SELECT d.resource_id, d.status, d.audience, d.organization_id AS org_id, d.day, d.bookings,
           EXTRACT(EPOCH FROM d.booked) AS booked, d.subsidy_vnd, EXTRACT(EPOCH FROM d.used) AS used
    FROM reports_usageday d
    WHERE d.resource_id = ANY(%(resources)s) AND d.day BETWEEN %(first)s AND %(last)s
    UNION ALL
    {_IN_USE}
"""

# The bits of the period, and of each bucket, in each year the period touches: worked out once
# (MATERIALIZED: inlined, the planner would work them out again for every row they meet).
_MASKS = """
period_years AS MATERIALIZED (
    SELECT year, reports_day_mask(year, %(first)s, %(last)s) AS mask
    FROM generate_series(%(first_year)s, %(last_year)s) AS year
),
buckets AS MATERIALIZED (
    SELECT k.first, y.year, reports_day_mask(y.year, k.first, k.last) AS mask
    FROM unnest(%(bucket_firsts)s::date[], %(bucket_lasts)s::date[]) AS k(first, last)
    CROSS JOIN period_years y
)
"""

# Who came in the period: each person's days at each machine, kept to the period's days.
_CAME = """
    SELECT s.resource_id, s.user_id, s.audience, s.organization_id AS org_id, s.year, s.days & y.mask AS days
    FROM reports_serveddays s JOIN period_years y ON y.year = s.year
    WHERE s.resource_id = ANY(%(resources)s)
"""

UTILISATION_SQL = f"""
WITH days AS ({_DAYS})
SELECT GROUPING(resource_id, audience, org_id, bucket) AS g, resource_id, audience, org_id, bucket,
       COALESCE(SUM(booked) FILTER (WHERE status = ANY(%(booked)s)), 0) / 3600.0,
       COALESCE(SUM(used), 0) / 3600.0,
       COALESCE(SUM(bookings) FILTER (WHERE NOT status = ANY(%(not_made)s)), 0),
       COALESCE(SUM(bookings) FILTER (WHERE status = 'no_show'), 0),
       COALESCE(SUM(bookings) FILTER (WHERE status = 'cancelled'), 0),
       COALESCE(SUM(bookings) FILTER (WHERE status = ANY(%(due)s)), 0)
FROM (SELECT *, date_trunc(%(bucket)s, day)::date AS bucket FROM days) x
GROUP BY GROUPING SETS ((resource_id), (audience), (org_id), (bucket), ())
"""

# Distinct people without sorting: one row per (breakdown, person) first (hashed), then a count.
# GROUPING(resource_id, audience, org_id) * 2 + 1 is the utilisation's GROUPING(…, bucket) of the
# same set; 14 (0b1110) is its bucket set.
UTILISATION_PEOPLE_SQL = f"""
WITH {_MASKS},
came AS (SELECT * FROM ({_CAME}) s WHERE days <> 0::bit(366)),
counted AS (
    SELECT GROUPING(resource_id, audience, org_id) * 2 + 1 AS g, resource_id, audience, org_id,
           NULL::date AS bucket, user_id
    FROM came
    GROUP BY GROUPING SETS ((resource_id, user_id), (audience, user_id), (org_id, user_id), (user_id))
    UNION ALL
    SELECT DISTINCT 14, NULL::bigint, NULL, NULL::bigint, k.first, p.user_id
    FROM (SELECT user_id, year, bit_or(days) AS days FROM came GROUP BY user_id, year) p
    JOIN buckets k ON k.year = p.year AND (p.days & k.mask) <> 0::bit(366)
)
SELECT g, resource_id, audience, org_id, bucket, COUNT(*) FROM counted GROUP BY g, resource_id, audience, org_id, bucket
"""

# The hours table's hour counts from the day's midnight: day + hour gives the local weekday and hour.
HEATMAP_SQL = """
SELECT EXTRACT(ISODOW FROM slot)::int, EXTRACT(HOUR FROM slot)::int, SUM(EXTRACT(EPOCH FROM h.booked)) / 3600.0
FROM reports_usagehour h CROSS JOIN LATERAL (SELECT h.day + h.hour * interval '1 hour' AS slot) s
WHERE h.lab_id = ANY(%(labs)s) AND h.day BETWEEN %(first)s AND %(last)s
GROUP BY 1, 2
"""

SPONSOR_SQL = f"""
WITH days AS ({_DAYS})
SELECT GROUPING(audience, org_kind, month) AS g, audience, org_kind, month,
       COALESCE(SUM(booked) FILTER (WHERE status = ANY(%(booked)s)), 0) / 3600.0,
       COALESCE(SUM(used), 0) / 3600.0,
       COALESCE(SUM(bookings) FILTER (WHERE status = ANY(%(booked)s)), 0),
       COALESCE(SUM(subsidy_vnd) FILTER (WHERE status = ANY(%(served)s)), 0)
FROM (
    SELECT days.*, COALESCE(o.kind, 'none') AS org_kind, date_trunc('month', days.day)::date AS month
    FROM days LEFT JOIN labs_organization o ON o.id = days.org_id
) x
GROUP BY GROUPING SETS ((audience), (org_kind), (month), ())
"""

# GROUPING(audience, org_kind) * 2 + 1 is the sponsor's GROUPING(…, month); 6 (0b110) its month set.
SPONSOR_PEOPLE_SQL = f"""
WITH {_MASKS},
came AS (
    SELECT s.*, COALESCE(o.kind, 'none') AS org_kind
    FROM ({_CAME}) s LEFT JOIN labs_organization o ON o.id = s.org_id
    WHERE s.days <> 0::bit(366)
),
person AS (SELECT user_id, org_id, year, bit_or(days) AS days FROM came GROUP BY user_id, org_id, year)
SELECT GROUPING(audience, org_kind) * 2 + 1, audience, org_kind, NULL::date,
       COUNT(DISTINCT user_id), COUNT(DISTINCT org_id)
FROM came
GROUP BY GROUPING SETS ((audience), (org_kind), ())
UNION ALL
SELECT 6, NULL, NULL, k.first, COUNT(DISTINCT p.user_id), COUNT(DISTINCT p.org_id)
FROM person p JOIN buckets k ON k.year = p.year AND (p.days & k.mask) <> 0::bit(366)
GROUP BY k.first
"""

# Whole months from the months table; the days of a month the period only partly covers (its head
# and tail) from the days table; and the bookings still in use.
NETWORK_SQL = f"""
WITH days AS (
    SELECT m.lab_id, m.month, m.status, m.audience, m.bookings,
           EXTRACT(EPOCH FROM m.booked) AS booked, EXTRACT(EPOCH FROM m.used) AS used
    FROM reports_usagemonth m
    WHERE m.lab_id = ANY(%(labs)s) AND m.month >= %(whole_from)s AND m.month < %(whole_until)s
    UNION ALL
    SELECT r.lab_id, date_trunc('month', d.day)::date, d.status, d.audience, d.bookings,
           EXTRACT(EPOCH FROM d.booked), EXTRACT(EPOCH FROM d.used)
    FROM reports_usageday d JOIN labs_resource r ON r.id = d.resource_id
    WHERE d.resource_id = ANY(%(resources)s)
      AND (d.day BETWEEN %(first)s AND %(head_last)s OR d.day BETWEEN %(tail_first)s AND %(last)s)
    UNION ALL
    SELECT r.lab_id, date_trunc('month', u.day)::date, u.status, u.audience, 0, 0, u.used
    FROM ({_IN_USE}) u JOIN labs_resource r ON r.id = u.resource_id
)
SELECT GROUPING(lab_id, month, audience) AS g, lab_id, month, audience,
       COALESCE(SUM(booked), 0) / 3600.0, COALESCE(SUM(used), 0) / 3600.0, COALESCE(SUM(bookings), 0)
FROM days
WHERE status = ANY(%(booked)s)
GROUP BY GROUPING SETS ((), (audience), (lab_id), (lab_id, audience), (month), (month, audience))
"""

# A person's days at the machines of each lab (the lab table: a row per person and lab, not per
# machine). GROUPING(lab_id) * 4 + 2 + GROUPING(audience) is the network's GROUPING(lab_id, month,
# audience) of the lab and total sets; 4 + GROUPING(audience) that of its month sets.
NETWORK_PEOPLE_SQL = f"""
WITH {_MASKS},
came AS (
    SELECT s.lab_id, s.user_id, s.audience, s.organization_id AS org_id, s.year, s.days & y.mask AS days
    FROM reports_labserveddays s JOIN period_years y ON y.year = s.year
    WHERE s.lab_id = ANY(%(labs)s) AND (s.days & y.mask) <> 0::bit(366)
),
person AS (
    SELECT user_id, audience, org_id, year, bit_or(days) AS days FROM came GROUP BY user_id, audience, org_id, year
)
SELECT GROUPING(lab_id) * 4 + 2 + GROUPING(audience), lab_id, NULL::date, audience,
       COUNT(DISTINCT user_id), COUNT(DISTINCT org_id)
FROM came
GROUP BY GROUPING SETS ((), (audience), (lab_id), (lab_id, audience))
UNION ALL
SELECT 4 + GROUPING(p.audience), NULL, k.first, p.audience, COUNT(DISTINCT p.user_id), COUNT(DISTINCT p.org_id)
FROM person p JOIN buckets k ON k.year = p.year AND (p.days & k.mask) <> 0::bit(366)
GROUP BY GROUPING SETS ((k.first), (k.first, p.audience))
"""

# Per machine first, then per sponsor: machines are counted without sorting.
NETWORK_SPONSORS_SQL = """
SELECT sponsor_id, SUM(subsidy_vnd), SUM(booked) / 3600.0, COUNT(*)
FROM (
    SELECT e.sponsor_id, d.resource_id,
           COALESCE(SUM(d.subsidy_vnd) FILTER (WHERE d.status = ANY(%(served)s)), 0) AS subsidy_vnd,
           SUM(EXTRACT(EPOCH FROM d.booked)) AS booked
    FROM equipment_equipment e JOIN reports_usageday d ON d.resource_id = e.resource_ptr_id
    WHERE e.sponsor_id IS NOT NULL AND e.resource_ptr_id = ANY(%(resources)s)
      AND d.day BETWEEN %(first)s AND %(last)s AND d.status = ANY(%(booked)s)
    GROUP BY e.sponsor_id, d.resource_id
) machine
GROUP BY sponsor_id
"""


def utilisation(query: Query) -> UtilisationFigures:
    """Utilisation of ``query.resources`` (all those of ``query.labs``) over the period. Four statements."""
    params = query.params()
    figures = UtilisationFigures()
    with report_cursor() as cursor:
        figures.add_sums(fetch_all(cursor, UTILISATION_SQL, params))
        figures.add_people(fetch_all(cursor, UTILISATION_PEOPLE_SQL, params))
        figures.add_heat(fetch_all(cursor, HEATMAP_SQL, params))
    return figures


def sponsor(query: Query) -> SponsorFigures:
    """A sponsor's machines (``query.resources``) over the period, by month (``query.bucket``). Three statements."""
    params = query.params()
    figures = SponsorFigures()
    with report_cursor() as cursor:
        figures.add_sums(fetch_all(cursor, SPONSOR_SQL, params))
        figures.add_people(fetch_all(cursor, SPONSOR_PEOPLE_SQL, params))
    return figures


def network(query: Query) -> NetworkFigures:
    """The network's figures for ``query.resources`` (those of ``query.labs``), by month. Four statements."""
    params = query.params()
    figures = NetworkFigures()
    with report_cursor() as cursor:
        figures.add_sums(fetch_all(cursor, NETWORK_SQL, params))
        figures.add_people(fetch_all(cursor, NETWORK_PEOPLE_SQL, params))
        figures.sponsors = fetch_all(cursor, NETWORK_SPONSORS_SQL, params)
    return figures
