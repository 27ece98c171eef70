"""Shopify ⇄ Exact MAX integration library.

Plain Python that the DAGs in ``dags/`` wire together. Airflow puts ``plugins/`` on ``sys.path``
in every component, so ``import shopify_max`` works in the scheduler, the workers and the tests.

Where things live:
- ``sync_store``: the integration's own database (id map, inbox, error queue, audit log,
  watermarks, inventory shadow), with versioned migrations.
- ``redaction``: strips secrets before anything reaches the audit log, XCom or task logs.
- ``money``, ``ids`` and ``clock``: the one money type, the one id type (Shopify gids) and the one clock.
- ``airflow_glue``: the thin layer DAG tasks call (connections, run summaries).
"""
