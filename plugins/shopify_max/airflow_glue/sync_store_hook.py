"""``SyncStoreHook``: the sync store reached through an Airflow connection (``sync_store_default``).

Connection forms:
- ``conn_type`` ``sqlite``: ``host`` is the database file; a relative path is taken from the project root;
- ``conn_type`` ``postgres``: host, port, login, password and ``schema`` (the database name); the extra
  ``search_path`` picks a PostgreSQL schema;
- any type with extra ``sqlalchemy_url``: used as it is.
"""

from __future__ import annotations

from functools import cached_property
from urllib.parse import quote, quote_plus

from airflow.sdk import BaseHook

from shopify_max.airflow_glue.connections import get_connection
from shopify_max.paths import resolve_project_path
from shopify_max.redaction import register_secret
from shopify_max.sync_store import SyncStore


class SyncStoreConnectionError(ValueError):
    """The ``sync_store_default`` connection cannot name a database (a type or a field is wrong). Not retried."""


def sqlalchemy_url_for(conn_type: str, *, host: str | None, port: int | None, login: str | None,
                       password: str | None, schema: str | None, extra: dict) -> str:
    """Translate an Airflow connection's fields into an SQLAlchemy URL for the sync store."""
    if extra.get("sqlalchemy_url"):
        return str(extra["sqlalchemy_url"])
    if conn_type == "sqlite":
        if not host:
            raise SyncStoreConnectionError("sync store connection of type sqlite needs host = path of the database "
                                           "file")
        return f"sqlite:///{resolve_project_path(host)}"
    if conn_type in ("postgres", "postgresql"):
        credentials = ""
        if login:
            credentials = quote(login, safe="")
            if password:
                credentials += ":" + quote(password, safe="")
            credentials += "@"
        url = f"postgresql+psycopg2://{credentials}{host or '127.0.0.1'}:{port or 5432}/{schema or 'postgres'}"
        if extra.get("search_path"):
            url += "?options=" + quote_plus(f"-csearch_path={extra['search_path']}")
        return url
    raise SyncStoreConnectionError(f"sync store connection type {conn_type!r} is not supported: use sqlite or postgres")


class SyncStoreHook(BaseHook):
    """Opens the :class:`~shopify_max.sync_store.SyncStore`, migrating its schema on first use."""

    conn_name_attr = "sync_store_conn_id"
    default_conn_name = "sync_store_default"
    conn_type = "sqlite"
    hook_name = "Shopify–MAX sync store"

    def __init__(self, sync_store_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.sync_store_conn_id = sync_store_conn_id

    @cached_property
    def sqlalchemy_url(self) -> str:
        conn = get_connection(self.sync_store_conn_id)
        register_secret(conn.password)
        return sqlalchemy_url_for(
            conn.conn_type,
            host=conn.host,
            port=conn.port,
            login=conn.login,
            password=conn.password,
            schema=conn.schema,
            extra=conn.extra_dejson,
        )

    def get_store(self) -> SyncStore:
        return SyncStore.from_url(self.sqlalchemy_url, migrate=True)

    def test_connection(self) -> tuple[bool, str]:
        try:
            store = self.get_store()
            revision = store.schema_revision()
            store.dispose()
            return True, f"sync store reachable, schema revision {revision}"
        except Exception as exc:  # noqa: BLE001 - test_connection reports, it does not raise
            return False, f"{type(exc).__name__}: {exc}"
