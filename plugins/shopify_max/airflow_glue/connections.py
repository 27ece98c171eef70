"""Read an Airflow connection from anywhere: inside a task, or in a service beside Airflow.

Inside a task the Task SDK answers. Services outside tasks (the webhook receiver, the demo runner) have
no task context, so the SDK only sees ``AIRFLOW_CONN_*`` variables; for them fall back to Airflow's
secrets backends including the metadata DB, which a process outside a task may read.
"""

from __future__ import annotations

from airflow.sdk import BaseHook, Connection
from airflow.sdk.exceptions import AirflowNotFoundException


def get_connection(conn_id: str) -> Connection:
    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        from airflow.models.connection import Connection as MetadataConnection  # noqa: AIR311 - outside tasks only

        return MetadataConnection.get_connection_from_secrets(conn_id)
