"""The sandbox build of the MAX gateway (``max_gateway``): seeded with demo data consistent with the Shopify
sandbox, plus sandbox-only operations (ship, invoice, stock, close) and fault knobs.

Start it with ``python -m sandboxes.exactmax``; tests use :func:`server.run_in_thread`.
"""
