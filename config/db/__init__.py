"""labshare's PostgreSQL backend: Django's own, with a connection pool that recovers within a second."""
