"""The Shopify sandbox: a loopback stand-in for a shop's Admin GraphQL API that fails the way Shopify fails.

Start it with ``python -m sandboxes.shopify --port 8701``; in tests use
:func:`sandboxes.shopify.app.run_in_thread`. See docs/shopify.md for knobs and admin endpoints.
"""
