"""Sandboxes for the demo, tests and benchmarks: a Shopify emulator and the MAX gateway's sandbox build.

Never imported by the Airflow side (``plugins/``, ``dags/``): a test checks the import graph.
"""
