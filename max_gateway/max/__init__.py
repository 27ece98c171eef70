"""The ``max`` backend: a real Exact MAX behind the gateway.

- ``engine.py``: the read-only SQL Server connection (``mssql+mssqlpython``, snapshot reads) and the startup check
  that every table and column the reads use exists;
- ``maxupdate.py``: the MAXUpdate writer interface and the COM writer (one STA thread);
- ``writer_host.py``: the COM writer hosted in a 32-bit Python process of its own;
- ``maxupdate_errors.py``: MAXUpdate's error text mapped to the contract's typed rejections;
- ``documents.py``: the eMAXExact documents the backend hands to MAXUpdate;
- ``backend.py``: ``MaxBackend``, which puts them together and keeps the exactly-once rules.

Deployment: ``docs/max-gateway-deployment.md``.
"""
