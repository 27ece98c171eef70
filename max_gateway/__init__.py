"""The MAX gateway: a small HTTP service beside Exact MAX (EXACTMAX.md), a service of its own.

- ``openapi.yaml``: the contract the Airflow side's ``ExactMaxHook`` speaks;
- ``app``: the HTTP layer (routes, authentication, limits);
- ``reference``: the reference backend, a MAX-shaped database (SQLite, PostgreSQL or SQL Server by URL).

Start it with ``python -m max_gateway``. The demo, tests and benchmarks run it with sandbox-only operations and
fault knobs added (``python -m sandboxes.exactmax``). The Airflow side never imports this package.
"""
