"""Read what a finished DAG run's tasks returned (their XCom return values), from outside any task.

The demo prints them and the tests assert on them; tasks themselves never read the metadata DB.
"""

from __future__ import annotations

import json
from typing import Any


def task_return_values(dag_id: str, run_id: str) -> dict[str, Any]:
    """``{task_id: return value}`` for one run."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(XComModel.task_id, XComModel.value).where(
                XComModel.dag_id == dag_id, XComModel.run_id == run_id, XComModel.key == "return_value")
        ).all()
    return {task_id: json.loads(value) if isinstance(value, str) else value for task_id, value in rows}
