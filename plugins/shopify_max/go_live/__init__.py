"""The go-live report: what every flow would do, read by a person before the sync is switched on (docs/go-live.md).

The ``go_live_check`` DAG runs every flow in dry run (``shopify_max.dry_run``) and hands the reports here:

- ``report.py``: :func:`render_go_live_report` writes ``index.html``, one CSV per table and ``failures.csv``,
  and returns the small summary the DAG puts in XCom;
- ``sections.py``: one HTML section per flow or subject (orders, customers, inventory…), with stable ids;
- ``markup.py`` and ``charts.py``: escaped tables (capped in HTML, never in CSV) and inline SVG bar charts;
- ``cells.py``: how a value becomes text, and CSV cells safe from spreadsheet formula injection;
- ``storage.py``: where reports live (one folder per DAG run) and how many are kept;
- ``app.py``: the "Go-live report" page in the Airflow UI, mounted by ``plugins/go_live_report_plugin.py``.
"""

MOUNT_PREFIX = "/go-live"
DAG_ID = "go_live_check"
