"""The thin layer between Airflow and the library: connections, run context, run summaries.

DAG files import from here; the rest of the library never imports Airflow, so it stays testable
as plain Python.
"""
