"""The reference Exact MAX gateway: the contract in ``openapi.yaml``, served over a MAX-shaped database.

Start it with ``python -m shopify_max.sandboxes.exactmax``; tests use :func:`server.run_in_thread`.
"""
