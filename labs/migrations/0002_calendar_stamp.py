"""A calendar stamp: one row whose value changes with every write to the calendar tables.

labs.calendars keeps expanded calendars in each process's memory and reads this stamp in a query
it runs anyway; a different stamp means "expand again". Triggers (not Django signals) bump it, so
writes from the admin, django-scheduler's own views, bulk updates, raw SQL and every process are
all seen. The value comes from a sequence, so a rolled-back write never hands out a stamp that a
later, different state could reuse; it sits in a row, so other sessions see it change exactly when
the write commits (and the writer's own session sees it at once).
"""

from django.db import migrations

TABLES = ["schedule_event", "schedule_occurrence", "schedule_rule", "labs_calendarentry"]

FORWARD = [
    "CREATE SEQUENCE labs_calendar_stamp_seq",
    """
    CREATE TABLE labs_calendar_stamp (
        id smallint PRIMARY KEY CHECK (id = 1),
        version bigint NOT NULL
    )
    """,
    "INSERT INTO labs_calendar_stamp (id, version) VALUES (1, nextval('labs_calendar_stamp_seq'))",
    """
    CREATE FUNCTION labs_calendar_stamp_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE labs_calendar_stamp SET version = nextval('labs_calendar_stamp_seq') WHERE id = 1;
        RETURN NULL;
    END
    $$
    """,
    *[
        f"CREATE TRIGGER labs_calendar_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION labs_calendar_stamp_bump()"
        for table in TABLES
    ],
]

BACKWARD = [
    *[f"DROP TRIGGER IF EXISTS labs_calendar_stamp ON {table}" for table in TABLES],
    "DROP FUNCTION IF EXISTS labs_calendar_stamp_bump()",
    "DROP TABLE IF EXISTS labs_calendar_stamp",
    "DROP SEQUENCE IF EXISTS labs_calendar_stamp_seq",
]


class Migration(migrations.Migration):
    dependencies = [
        ("labs", "0001_initial"),
        ("schedule", "0015_rename_indexes"),
    ]

    operations = [migrations.RunSQL(sql=FORWARD, reverse_sql=BACKWARD)]
