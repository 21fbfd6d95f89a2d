"""Tools around the app: the project-local PostgreSQL, `make run`'s supervisor, the reference device client."""
