"""Django's PostgreSQL backend with labshare's ResilientPool (config/db/pool.py) as its connection pool."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql import base

from config.db.pool import ResilientPool


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's wrapper; only the pool's class differs.

    The property follows Django 5.2's own (same options, configure hook and health check); Django
    names ``psycopg_pool.ConnectionPool`` inside it, so it cannot be given another class.
    """

    @property
    def pool(self):
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == base.NO_DB_ALIAS or not pool_options:
            return None
        if self.alias not in self._connection_pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
            connect_kwargs = self.get_connection_params()
            connect_kwargs["autocommit"] = True  # Django sets the real mode when it takes the connection
            pool = ResilientPool(
                kwargs=connect_kwargs,
                open=False,
                configure=self._configure_connection,
                # Every connection is checked before use: a stale one is discarded, never handed out.
                check=ResilientPool.check_connection,
                **({} if pool_options is True else pool_options),
            )
            # Several threads may build one at start-up; the first to store it wins.
            self._connection_pools.setdefault(self.alias, pool)
        return self._connection_pools[self.alias]
