"""The roll-up kept by PostgreSQL: what a booking counts as, and the triggers that keep the three tables.

Why triggers rather than the engine's hooks: every path that writes a booking (the services, the
admin, a data migration, a bulk import, a test that saves a row) goes through them, in the same
transaction, with one statement's rows handled together; the roll-up cannot fall behind the
bookings whatever the engine's code looks like next year.

How the tables stay right:

* Every change is turned into *facts*: what each booking counted as before (sign -1) and what it
  counts as now (sign +1), computed by one function, ``reports_fact``, from the booking, its lab
  (for the zone and the heatmap) and its member (audience and organisation when the booking has
  none of its own). A booking changes them; so do a member's new audience or organisation, a
  machine moved to another lab, a lab's new time zone.
* ``reports_apply`` adds the facts, signed, to the days, months and hours tables (``INSERT … ON CONFLICT
  DO UPDATE`` adds up correctly whatever other transactions do at the same time) and drops rows
  left empty.
* Served days are bit strings: they do not add up, so ``reports_refresh_served`` rewrites the rows of
  each (machine, person, year) touched from the bookings, after locking them, so that two
  transactions touching the same rows take turns and the second sees what the first committed;
  ``reports_refresh_lab_served`` then rewrites each (lab, person, year) the same way from those rows.
* ``reports_rollup_rebuild(first, last)`` rebuilds days from the bookings (``manage.py
  rebuild_report_rollup``); the next migration calls it once for everything already booked.
"""

from django.db import migrations

# What a booking counts as. reports/figures.py says the same in Python (BOOKED, SERVED), and a
# test holds the two together.
FACTS = r"""
CREATE FUNCTION reports_is_booked(status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT status IN ('confirmed', 'checked_in', 'completed', 'no_show') $$;

CREATE FUNCTION reports_is_served(status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT status IN ('checked_in', 'completed') $$;

CREATE TYPE reports_fact AS (
    sign integer,              -- +1: how the booking counts now; -1: how it counted before the change
    resource_id bigint,
    lab_id bigint,
    user_id integer,
    day date,                  -- the local day (the lab's zone) on which it starts
    status text,
    audience text,
    organization_id bigint,
    booked interval,
    used interval,             -- zero while still in use: that part grows with the clock
    subsidy_vnd bigint,
    local_start timestamp,
    local_end timestamp
);

-- The audience the price was fixed for, else the member's; the organisation billed, else the
-- member's; used time from check-in to check-out, or to the end when nobody checked out.
CREATE FUNCTION reports_fact(
    sign integer, b bookings_booking, lab_id bigint, tz text, member_audience text, member_organization_id bigint
) RETURNS reports_fact
LANGUAGE sql STABLE
AS $$
    SELECT ROW(
        sign,
        b.resource_id,
        lab_id,
        b.user_id,
        (b.start AT TIME ZONE tz)::date,
        b.status,
        COALESCE(NULLIF(b.price_details->>'audience', ''), member_audience, 'external'),
        COALESCE(b.organization_id, member_organization_id),
        b."end" - b.start,
        CASE WHEN b.checked_in_at IS NULL OR (b.status = 'checked_in' AND b.checked_out_at IS NULL)
             THEN interval '0'
             ELSE GREATEST(COALESCE(b.checked_out_at, b."end") - b.checked_in_at, interval '0') END,
        -- A malformed subsidy counts as none rather than failing the booking's own write.
        CASE WHEN b.price_details->>'subsidy_vnd' ~ '^-?[0-9]{1,18}$'
             THEN (b.price_details->>'subsidy_vnd')::bigint ELSE 0 END,
        b.start AT TIME ZONE tz,
        b."end" AT TIME ZONE tz
    )::reports_fact
$$;

-- Every booking of [since, until) as it counts now.
CREATE FUNCTION reports_facts_between(since timestamptz, until timestamptz) RETURNS SETOF reports_fact
LANGUAGE sql STABLE
AS $$
    SELECT reports_fact(1, b, r.lab_id, l.timezone, m.audience, m.organization_id)
    FROM bookings_booking b
    JOIN labs_resource r ON r.id = b.resource_id
    JOIN labs_lab l ON l.id = r.lab_id
    LEFT JOIN labs_member m ON m.user_id = b.user_id
    WHERE b.start >= since AND b.start < until
$$;

-- A booking cut at the hour marks of its local day: hour 9 of a 09:30–11:00 booking holds half an
-- hour, hour 10 a whole one. Hours count from the start day's midnight (24 is the next midnight).
CREATE FUNCTION reports_hours(day date, local_start timestamp, local_end timestamp)
RETURNS TABLE (hour integer, booked interval)
LANGUAGE sql IMMUTABLE
AS $$
    SELECT (EXTRACT(EPOCH FROM slot - day::timestamp) / 3600)::integer,
           LEAST(slot + interval '1 hour', local_end) - GREATEST(slot, local_start)
    FROM generate_series(date_trunc('hour', local_start), local_end - interval '1 microsecond', interval '1 hour') AS slot
$$;

-- The bit of a day in its year's string (bit 0 is 1 January).
CREATE FUNCTION reports_day_bit(day date) RETURNS bit(366)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT set_bit(0::bit(366), EXTRACT(DOY FROM day)::integer - 1, 1) $$;

-- The bits of [first, last] that fall in ``year`` (none when the period misses the year).
CREATE FUNCTION reports_day_mask(year integer, first date, last date) RETURNS bit(366)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN lo > hi THEN 0::bit(366)
                ELSE (repeat('0', lo - 1) || repeat('1', hi - lo + 1) || repeat('0', 366 - hi))::bit(366) END
    FROM (SELECT CASE WHEN first > make_date(year, 12, 31) THEN 367
                      ELSE EXTRACT(DOY FROM GREATEST(first, make_date(year, 1, 1)))::integer END AS lo,
                 CASE WHEN last < make_date(year, 1, 1) THEN 0
                      ELSE EXTRACT(DOY FROM LEAST(last, make_date(year, 12, 31)))::integer END AS hi) bounds
$$;

-- The served days the bookings give now for some (machine, person, year).
CREATE FUNCTION reports_served_now(resource_ids bigint[], user_ids integer[], years integer[])
RETURNS TABLE (resource_id bigint, user_id integer, year integer, audience text, organization_id bigint, days bit(366))
LANGUAGE sql STABLE
AS $$
    SELECT f.resource_id, f.user_id, u.year, f.audience, f.organization_id, bit_or(reports_day_bit(f.day))
    FROM unnest(resource_ids, user_ids, years) AS u(resource_id, user_id, year)
    JOIN bookings_booking b
      ON b.resource_id = u.resource_id AND b.user_id = u.user_id
     -- a local day starts within a day of UTC's in every zone
     AND b.start >= make_timestamptz(u.year, 1, 1, 0, 0, 0, 'UTC') - interval '1 day'
     AND b.start < make_timestamptz(u.year + 1, 1, 1, 0, 0, 0, 'UTC') + interval '1 day'
    JOIN labs_resource r ON r.id = b.resource_id
    JOIN labs_lab l ON l.id = r.lab_id
    LEFT JOIN labs_member m ON m.user_id = b.user_id
    CROSS JOIN LATERAL (SELECT (reports_fact(1, b, r.lab_id, l.timezone, m.audience, m.organization_id)).*) f
    WHERE reports_is_served(b.status) AND EXTRACT(YEAR FROM f.day) = u.year
    GROUP BY f.resource_id, f.user_id, u.year, f.audience, f.organization_id
$$;
"""

APPLY = r"""
CREATE FUNCTION reports_refresh_served(resource_ids bigint[], user_ids integer[], years integer[]) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    lost boolean;
BEGIN
    IF coalesce(cardinality(resource_ids), 0) = 0 THEN
        RETURN;
    END IF;
    LOOP
        -- Claim a row for every key the bookings give now (waiting for whoever is creating one) …
        INSERT INTO reports_serveddays (resource_id, user_id, year, audience, organization_id, days)
        SELECT n.resource_id, n.user_id, n.year, n.audience, n.organization_id, 0::bit(366)
        FROM reports_served_now(resource_ids, user_ids, years) n
        ORDER BY 1, 3, 2, 4, 5
        ON CONFLICT DO NOTHING;
        -- … and lock every row of these (machine, person, year), in one order: a transaction changing
        -- the same rows waits for this one to commit, or this one for it.
        PERFORM 1
        FROM reports_serveddays s
        JOIN unnest(resource_ids, user_ids, years) AS u(resource_id, user_id, year)
          ON s.resource_id = u.resource_id AND s.user_id = u.user_id AND s.year = u.year
        ORDER BY s.resource_id, s.year, s.user_id, s.audience, s.organization_id
        FOR UPDATE OF s;
        -- Rewrite them from the bookings: a new statement, so it sees what those transactions committed.
        WITH now_days AS (SELECT * FROM reports_served_now(resource_ids, user_ids, years)),
        rewrite AS (
            UPDATE reports_serveddays s
            SET days = rewritten.days
            FROM (
                SELECT kept.id, coalesce(n.days, 0::bit(366)) AS days
                FROM reports_serveddays kept
                JOIN unnest(resource_ids, user_ids, years) AS u(resource_id, user_id, year)
                  ON kept.resource_id = u.resource_id AND kept.user_id = u.user_id AND kept.year = u.year
                LEFT JOIN now_days n
                  ON n.resource_id = kept.resource_id AND n.user_id = kept.user_id AND n.year = kept.year
                 AND n.audience = kept.audience AND coalesce(n.organization_id, 0) = coalesce(kept.organization_id, 0)
            ) rewritten
            WHERE s.id = rewritten.id AND s.days IS DISTINCT FROM rewritten.days
            RETURNING s.id
        )
        -- A transaction we waited for may have emptied and deleted a row we need: claim it again.
        SELECT EXISTS (
            SELECT 1 FROM now_days n
            WHERE NOT EXISTS (
                SELECT 1 FROM reports_serveddays s
                WHERE s.resource_id = n.resource_id AND s.user_id = n.user_id AND s.year = n.year
                  AND s.audience = n.audience AND coalesce(s.organization_id, 0) = coalesce(n.organization_id, 0)))
        INTO lost;
        EXIT WHEN NOT lost;
    END LOOP;
    DELETE FROM reports_serveddays s
    USING unnest(resource_ids, user_ids, years) AS u(resource_id, user_id, year)
    WHERE s.resource_id = u.resource_id AND s.user_id = u.user_id AND s.year = u.year AND s.days = 0::bit(366);
END
$$;

-- The served days of some (lab, person, year) as the machines' rows give them now.
CREATE FUNCTION reports_lab_served_now(lab_ids bigint[], user_ids integer[], years integer[])
RETURNS TABLE (lab_id bigint, user_id integer, year integer, audience text, organization_id bigint, days bit(366))
LANGUAGE sql STABLE
AS $$
    SELECT r.lab_id, s.user_id, s.year::integer, s.audience, s.organization_id, bit_or(s.days)
    FROM unnest(lab_ids, user_ids, years) AS u(lab_id, user_id, year)
    JOIN labs_resource r ON r.lab_id = u.lab_id
    JOIN reports_serveddays s ON s.resource_id = r.id AND s.user_id = u.user_id AND s.year = u.year
    GROUP BY r.lab_id, s.user_id, s.year, s.audience, s.organization_id
$$;

-- As reports_refresh_served, a lab at a time: claim, lock, rewrite, and again if a row was lost.
CREATE FUNCTION reports_refresh_lab_served(lab_ids bigint[], user_ids integer[], years integer[]) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    lost boolean;
BEGIN
    IF coalesce(cardinality(lab_ids), 0) = 0 THEN
        RETURN;
    END IF;
    LOOP
        INSERT INTO reports_labserveddays (lab_id, user_id, year, audience, organization_id, days)
        SELECT n.lab_id, n.user_id, n.year, n.audience, n.organization_id, 0::bit(366)
        FROM reports_lab_served_now(lab_ids, user_ids, years) n
        ORDER BY 1, 3, 2, 4, 5
        ON CONFLICT DO NOTHING;
        PERFORM 1
        FROM reports_labserveddays s
        JOIN unnest(lab_ids, user_ids, years) AS u(lab_id, user_id, year)
          ON s.lab_id = u.lab_id AND s.user_id = u.user_id AND s.year = u.year
        ORDER BY s.lab_id, s.year, s.user_id, s.audience, s.organization_id
        FOR UPDATE OF s;
        WITH now_days AS (SELECT * FROM reports_lab_served_now(lab_ids, user_ids, years)),
        rewrite AS (
            UPDATE reports_labserveddays s
            SET days = rewritten.days
            FROM (
                SELECT kept.id, coalesce(n.days, 0::bit(366)) AS days
                FROM reports_labserveddays kept
                JOIN unnest(lab_ids, user_ids, years) AS u(lab_id, user_id, year)
                  ON kept.lab_id = u.lab_id AND kept.user_id = u.user_id AND kept.year = u.year
                LEFT JOIN now_days n
                  ON n.lab_id = kept.lab_id AND n.user_id = kept.user_id AND n.year = kept.year
                 AND n.audience = kept.audience AND coalesce(n.organization_id, 0) = coalesce(kept.organization_id, 0)
            ) rewritten
            WHERE s.id = rewritten.id AND s.days IS DISTINCT FROM rewritten.days
            RETURNING s.id
        )
        -- A transaction we waited for may have emptied and deleted a row we need: claim it again.
        SELECT EXISTS (
            SELECT 1 FROM now_days n
            WHERE NOT EXISTS (
                SELECT 1 FROM reports_labserveddays s
                WHERE s.lab_id = n.lab_id AND s.user_id = n.user_id AND s.year = n.year
                  AND s.audience = n.audience AND coalesce(s.organization_id, 0) = coalesce(n.organization_id, 0)))
        INTO lost;
        EXIT WHEN NOT lost;
    END LOOP;
    DELETE FROM reports_labserveddays s
    USING unnest(lab_ids, user_ids, years) AS u(lab_id, user_id, year)
    WHERE s.lab_id = u.lab_id AND s.user_id = u.user_id AND s.year = u.year AND s.days = 0::bit(366);
END
$$;

CREATE FUNCTION reports_apply(facts reports_fact[]) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    units record;
BEGIN
    IF coalesce(cardinality(facts), 0) = 0 THEN
        RETURN;
    END IF;
    -- Days: each change added, signed, to its row; rows in key order, so two transactions touching
    -- the same rows lock them in the same order.
    INSERT INTO reports_usageday AS d
        (resource_id, day, status, audience, organization_id, bookings, booked, used, subsidy_vnd)
    SELECT resource_id, day, status, audience, organization_id,
           sum(sign), sum(sign * booked), sum(sign * used), sum(sign * subsidy_vnd)
    FROM unnest(facts)
    GROUP BY resource_id, day, status, audience, organization_id
    HAVING sum(sign) <> 0 OR sum(sign * booked) <> interval '0' OR sum(sign * used) <> interval '0'
        OR sum(sign * subsidy_vnd) <> 0
    ORDER BY resource_id, day, status, audience, organization_id
    ON CONFLICT (resource_id, day, status, audience, (COALESCE(organization_id, 0))) DO UPDATE
    SET bookings = d.bookings + excluded.bookings,
        booked = d.booked + excluded.booked,
        used = d.used + excluded.used,
        subsidy_vnd = d.subsidy_vnd + excluded.subsidy_vnd;
    DELETE FROM reports_usageday d
    USING (SELECT DISTINCT resource_id, day FROM unnest(facts)) f
    WHERE d.resource_id = f.resource_id AND d.day = f.day AND d.bookings = 0;

    -- Months: the same, per lab and month (without organisations: the network's figures count them
    -- from the served days).
    INSERT INTO reports_usagemonth AS m (lab_id, month, status, audience, bookings, booked, used)
    SELECT lab_id, date_trunc('month', day)::date, status, audience, sum(sign), sum(sign * booked), sum(sign * used)
    FROM unnest(facts)
    GROUP BY lab_id, date_trunc('month', day)::date, status, audience
    HAVING sum(sign) <> 0 OR sum(sign * booked) <> interval '0' OR sum(sign * used) <> interval '0'
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (lab_id, month, status, audience) DO UPDATE
    SET bookings = m.bookings + excluded.bookings, booked = m.booked + excluded.booked, used = m.used + excluded.used;
    DELETE FROM reports_usagemonth m
    USING (SELECT DISTINCT lab_id, date_trunc('month', day)::date AS month FROM unnest(facts)) f
    WHERE m.lab_id = f.lab_id AND m.month = f.month AND m.bookings = 0;

    -- Hours: the booked time of bookings that held their slot, cut at the hour marks.
    INSERT INTO reports_usagehour AS h (lab_id, day, hour, booked)
    SELECT f.lab_id, f.day, s.hour, sum(f.sign * s.booked)
    FROM unnest(facts) f CROSS JOIN LATERAL reports_hours(f.day, f.local_start, f.local_end) s
    WHERE reports_is_booked(f.status)
    GROUP BY f.lab_id, f.day, s.hour
    HAVING sum(f.sign * s.booked) <> interval '0'
    ORDER BY 1, 2, 3
    ON CONFLICT (lab_id, day, hour) DO UPDATE SET booked = h.booked + excluded.booked;
    DELETE FROM reports_usagehour h
    USING (SELECT DISTINCT lab_id, day FROM unnest(facts)) f
    WHERE h.lab_id = f.lab_id AND h.day = f.day AND h.booked = interval '0';

    -- Served days: rewritten for each (machine, person, year) where someone's coming changed.
    SELECT array_agg(resource_id) AS resource_ids, array_agg(user_id) AS user_ids, array_agg(year) AS years
    INTO units
    FROM (
        SELECT DISTINCT resource_id, user_id, EXTRACT(YEAR FROM day)::integer AS year
        FROM (
            SELECT resource_id, user_id, day
            FROM unnest(facts)
            WHERE reports_is_served(status)
            GROUP BY resource_id, user_id, day, audience, organization_id
            HAVING sum(sign) <> 0
        ) changed
    ) touched;
    PERFORM reports_refresh_served(units.resource_ids, units.user_ids, units.years);
    -- … and then for each (lab, person, year), from the machines' rows (a machine moved to another
    -- lab changes two labs' rows without changing its own).
    SELECT array_agg(lab_id) AS lab_ids, array_agg(user_id) AS user_ids, array_agg(year) AS years
    INTO units
    FROM (
        SELECT DISTINCT lab_id, user_id, EXTRACT(YEAR FROM day)::integer AS year
        FROM (
            SELECT lab_id, user_id, day
            FROM unnest(facts)
            WHERE reports_is_served(status)
            GROUP BY lab_id, resource_id, user_id, day, audience, organization_id
            HAVING sum(sign) <> 0
        ) changed
    ) touched;
    PERFORM reports_refresh_lab_served(units.lab_ids, units.user_ids, units.years);
END
$$;
"""

TRIGGERS = r"""
CREATE FUNCTION reports_bookings_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM reports_apply(ARRAY(
            SELECT reports_fact(1, n::bookings_booking, r.lab_id, l.timezone, m.audience, m.organization_id)
            FROM new_rows n
            JOIN labs_resource r ON r.id = n.resource_id
            JOIN labs_lab l ON l.id = r.lab_id
            LEFT JOIN labs_member m ON m.user_id = n.user_id));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM reports_apply(ARRAY(
            SELECT reports_fact(-1, o::bookings_booking, r.lab_id, l.timezone, m.audience, m.organization_id)
            FROM old_rows o
            JOIN labs_resource r ON r.id = o.resource_id
            JOIN labs_lab l ON l.id = r.lab_id
            LEFT JOIN labs_member m ON m.user_id = o.user_id));
    ELSE
        -- Only rows whose counted fields changed (not, say, the time a reminder went out).
        PERFORM reports_apply(ARRAY(
            SELECT reports_fact(x.sign, x.b, r.lab_id, l.timezone, m.audience, m.organization_id)
            FROM old_rows o
            JOIN new_rows n ON n.id = o.id
            CROSS JOIN LATERAL (VALUES (-1, o::bookings_booking), (1, n::bookings_booking)) AS x(sign, b)
            JOIN labs_resource r ON r.id = (x.b).resource_id
            JOIN labs_lab l ON l.id = r.lab_id
            LEFT JOIN labs_member m ON m.user_id = (x.b).user_id
            WHERE (o.resource_id, o.user_id, o.organization_id, o.status, o.start, o."end",
                   o.checked_in_at, o.checked_out_at, o.price_details)
                  IS DISTINCT FROM
                  (n.resource_id, n.user_id, n.organization_id, n.status, n.start, n."end",
                   n.checked_in_at, n.checked_out_at, n.price_details)));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER reports_bookings_inserted AFTER INSERT ON bookings_booking
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_bookings_changed();
CREATE TRIGGER reports_bookings_updated AFTER UPDATE ON bookings_booking
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_bookings_changed();
CREATE TRIGGER reports_bookings_deleted AFTER DELETE ON bookings_booking
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_bookings_changed();

-- A member's audience and organisation stand in for a booking's own when it has none: the
-- person's bookings as counted with the old member row (or none) come out, with the new one go in.
CREATE FUNCTION reports_members_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM reports_apply(ARRAY(
            SELECT reports_fact(x.sign, b, r.lab_id, l.timezone, x.audience, x.organization_id)
            FROM new_rows n
            CROSS JOIN LATERAL (VALUES (-1, NULL::text, NULL::bigint), (1, n.audience::text, n.organization_id))
                AS x(sign, audience, organization_id)
            JOIN bookings_booking b ON b.user_id = n.user_id
            JOIN labs_resource r ON r.id = b.resource_id
            JOIN labs_lab l ON l.id = r.lab_id));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM reports_apply(ARRAY(
            SELECT reports_fact(x.sign, b, r.lab_id, l.timezone, x.audience, x.organization_id)
            FROM old_rows o
            CROSS JOIN LATERAL (VALUES (-1, o.audience::text, o.organization_id), (1, NULL::text, NULL::bigint))
                AS x(sign, audience, organization_id)
            JOIN bookings_booking b ON b.user_id = o.user_id
            JOIN labs_resource r ON r.id = b.resource_id
            JOIN labs_lab l ON l.id = r.lab_id));
    ELSE
        -- A row given to another user counts as one deleted and one inserted.
        PERFORM reports_apply(ARRAY(
            SELECT reports_fact(x.sign, b, r.lab_id, l.timezone, x.audience, x.organization_id)
            FROM old_rows o
            JOIN new_rows n ON n.id = o.id
            CROSS JOIN LATERAL (VALUES
                (-1, o.user_id, o.audience::text, o.organization_id), (1, o.user_id, NULL::text, NULL::bigint),
                (-1, n.user_id, NULL::text, NULL::bigint), (1, n.user_id, n.audience::text, n.organization_id))
                AS x(sign, user_id, audience, organization_id)
            JOIN bookings_booking b ON b.user_id = x.user_id
            JOIN labs_resource r ON r.id = b.resource_id
            JOIN labs_lab l ON l.id = r.lab_id
            WHERE (o.user_id, o.audience, o.organization_id) IS DISTINCT FROM (n.user_id, n.audience, n.organization_id)));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER reports_members_inserted AFTER INSERT ON labs_member
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_members_changed();
CREATE TRIGGER reports_members_updated AFTER UPDATE ON labs_member
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_members_changed();
CREATE TRIGGER reports_members_deleted AFTER DELETE ON labs_member
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_members_changed();

-- A machine moved to another lab: its hours change lab, and its days change when the zone does.
CREATE FUNCTION reports_resources_moved() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM reports_apply(ARRAY(
        SELECT reports_fact(x.sign, b, x.lab_id, l.timezone, m.audience, m.organization_id)
        FROM old_rows o
        JOIN new_rows n ON n.id = o.id AND n.lab_id IS DISTINCT FROM o.lab_id
        CROSS JOIN LATERAL (VALUES (-1, o.lab_id), (1, n.lab_id)) AS x(sign, lab_id)
        JOIN labs_lab l ON l.id = x.lab_id
        JOIN bookings_booking b ON b.resource_id = o.id
        LEFT JOIN labs_member m ON m.user_id = b.user_id));
    RETURN NULL;
END
$$;

CREATE TRIGGER reports_resources_moved AFTER UPDATE ON labs_resource
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_resources_moved();

-- A lab's new time zone moves its bookings' local days and hours.
CREATE FUNCTION reports_labs_rezoned() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM reports_apply(ARRAY(
        SELECT reports_fact(x.sign, b, r.lab_id, x.tz, m.audience, m.organization_id)
        FROM old_rows o
        JOIN new_rows n ON n.id = o.id AND n.timezone IS DISTINCT FROM o.timezone
        CROSS JOIN LATERAL (VALUES (-1, o.timezone::text), (1, n.timezone::text)) AS x(sign, tz)
        JOIN labs_resource r ON r.lab_id = o.id
        JOIN bookings_booking b ON b.resource_id = r.id
        LEFT JOIN labs_member m ON m.user_id = b.user_id));
    RETURN NULL;
END
$$;

CREATE TRIGGER reports_labs_rezoned AFTER UPDATE ON labs_lab
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_labs_rezoned();
"""

REBUILD = r"""
-- Rebuild the roll-up of the local days [first_day, last_day] (NULL: everything) from the bookings;
-- months are rebuilt for the whole months, served days for the whole years, those days touch.
CREATE FUNCTION reports_rollup_rebuild(first_day date, last_day date) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    lo date := coalesce(first_day, '-infinity'::date);
    hi date := coalesce(last_day, 'infinity'::date);
    -- A local day starts within a day of UTC's in every zone.
    since timestamptz := CASE WHEN first_day IS NULL THEN '-infinity'::timestamptz
                              ELSE first_day::timestamp AT TIME ZONE 'UTC' - interval '1 day' END;
    until timestamptz := CASE WHEN last_day IS NULL THEN 'infinity'::timestamptz
                              ELSE (last_day + 1)::timestamp AT TIME ZONE 'UTC' + interval '1 day' END;
    first_year integer := CASE WHEN first_day IS NULL THEN -32768 ELSE EXTRACT(YEAR FROM first_day)::integer END;
    last_year integer := CASE WHEN last_day IS NULL THEN 32767 ELSE EXTRACT(YEAR FROM last_day)::integer END;
BEGIN
    -- Booking writers wait here (their triggers write these tables) until the rebuilt rows commit.
    LOCK TABLE reports_usageday, reports_usagemonth, reports_usagehour, reports_serveddays, reports_labserveddays
        IN SHARE ROW EXCLUSIVE MODE;

    DELETE FROM reports_usageday WHERE day BETWEEN lo AND hi;
    INSERT INTO reports_usageday (resource_id, day, status, audience, organization_id, bookings, booked, used, subsidy_vnd)
    SELECT resource_id, day, status, audience, organization_id, count(*), sum(booked), sum(used), sum(subsidy_vnd)
    FROM reports_facts_between(since, until)
    WHERE day BETWEEN lo AND hi
    GROUP BY resource_id, day, status, audience, organization_id
    ORDER BY resource_id, day;

    -- Months are rebuilt whole: every month the days touch.
    DELETE FROM reports_usagemonth WHERE month BETWEEN date_trunc('month', lo)::date AND hi;
    INSERT INTO reports_usagemonth (lab_id, month, status, audience, bookings, booked, used)
    SELECT lab_id, date_trunc('month', day)::date, status, audience, count(*), sum(booked), sum(used)
    FROM reports_facts_between(
        CASE WHEN first_day IS NULL THEN '-infinity'::timestamptz
             ELSE date_trunc('month', first_day)::timestamp AT TIME ZONE 'UTC' - interval '1 day' END,
        CASE WHEN last_day IS NULL THEN 'infinity'::timestamptz
             ELSE (date_trunc('month', last_day) + interval '1 month')::timestamp AT TIME ZONE 'UTC' + interval '1 day' END)
    WHERE date_trunc('month', day)::date BETWEEN date_trunc('month', lo)::date AND hi
    GROUP BY lab_id, date_trunc('month', day)::date, status, audience
    ORDER BY 1, 2;

    DELETE FROM reports_usagehour WHERE day BETWEEN lo AND hi;
    INSERT INTO reports_usagehour (lab_id, day, hour, booked)
    SELECT f.lab_id, f.day, s.hour, sum(s.booked)
    FROM reports_facts_between(since, until) f
    CROSS JOIN LATERAL reports_hours(f.day, f.local_start, f.local_end) s
    WHERE f.day BETWEEN lo AND hi AND reports_is_booked(f.status)
    GROUP BY f.lab_id, f.day, s.hour
    ORDER BY 1, 2, 3;

    DELETE FROM reports_serveddays WHERE year BETWEEN first_year AND last_year;
    INSERT INTO reports_serveddays (resource_id, user_id, year, audience, organization_id, days)
    SELECT resource_id, user_id, EXTRACT(YEAR FROM day)::integer, audience, organization_id, bit_or(reports_day_bit(day))
    FROM reports_facts_between(
        CASE WHEN first_day IS NULL THEN '-infinity'::timestamptz
             ELSE make_timestamptz(first_year, 1, 1, 0, 0, 0, 'UTC') - interval '1 day' END,
        CASE WHEN last_day IS NULL THEN 'infinity'::timestamptz
             ELSE make_timestamptz(last_year + 1, 1, 1, 0, 0, 0, 'UTC') + interval '1 day' END)
    WHERE reports_is_served(status) AND EXTRACT(YEAR FROM day) BETWEEN first_year AND last_year
    GROUP BY resource_id, user_id, EXTRACT(YEAR FROM day)::integer, audience, organization_id
    ORDER BY resource_id, 3;

    DELETE FROM reports_labserveddays WHERE year BETWEEN first_year AND last_year;
    INSERT INTO reports_labserveddays (lab_id, user_id, year, audience, organization_id, days)
    SELECT r.lab_id, s.user_id, s.year, s.audience, s.organization_id, bit_or(s.days)
    FROM reports_serveddays s JOIN labs_resource r ON r.id = s.resource_id
    WHERE s.year BETWEEN first_year AND last_year
    GROUP BY r.lab_id, s.user_id, s.year, s.audience, s.organization_id
    ORDER BY 1, 3;
END
$$;
"""

DROP = r"""
DROP TRIGGER IF EXISTS reports_labs_rezoned ON labs_lab;
DROP TRIGGER IF EXISTS reports_resources_moved ON labs_resource;
DROP TRIGGER IF EXISTS reports_members_inserted ON labs_member;
DROP TRIGGER IF EXISTS reports_members_updated ON labs_member;
DROP TRIGGER IF EXISTS reports_members_deleted ON labs_member;
DROP TRIGGER IF EXISTS reports_bookings_inserted ON bookings_booking;
DROP TRIGGER IF EXISTS reports_bookings_updated ON bookings_booking;
DROP TRIGGER IF EXISTS reports_bookings_deleted ON bookings_booking;
DROP FUNCTION IF EXISTS reports_labs_rezoned(), reports_resources_moved(), reports_members_changed(),
    reports_bookings_changed(), reports_rollup_rebuild(date, date), reports_apply(reports_fact[]),
    reports_refresh_lab_served(bigint[], integer[], integer[]), reports_lab_served_now(bigint[], integer[], integer[]),
    reports_refresh_served(bigint[], integer[], integer[]), reports_served_now(bigint[], integer[], integer[]),
    reports_day_mask(integer, date, date), reports_day_bit(date), reports_hours(date, timestamp, timestamp),
    reports_facts_between(timestamptz, timestamptz),
    reports_fact(integer, bookings_booking, bigint, text, text, bigint),
    reports_is_served(text), reports_is_booked(text);
DROP TYPE IF EXISTS reports_fact;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_rollup"),
        ("bookings", "0005_feedtoken_moved"),
        ("labs", "0003_seats_per_person"),
    ]

    operations = [
        migrations.RunSQL(FACTS + APPLY + TRIGGERS + REBUILD, reverse_sql=DROP),
    ]
