"""The go-live report in the Airflow UI: the reports of the ``go_live_check`` DAG, newest first, each readable in
the browser with its CSV files (docs/go-live.md). The app lives in ``shopify_max.go_live.app``; this file only
registers it."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from shopify_max.error_queue_page.app import LazyApp
from shopify_max.go_live import MOUNT_PREFIX
from shopify_max.go_live.app import create_app

# A checklist with a tick, as a data URI: the nav icon needs no route of its own.
ICON = ("data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' fill='none' "
        "stroke='%23888' stroke-width='2' stroke-linecap='round' stroke-linejoin='round'>"
        "<rect x='4' y='3' width='16' height='18' rx='2'/><path d='M8 12l3 3 5-6'/></svg>")


class GoLiveReportPlugin(AirflowPlugin):
    name = "shopify_max_go_live_report"
    fastapi_apps = [{"app": LazyApp(create_app), "url_prefix": MOUNT_PREFIX, "name": "Go-live report"}]
    # Top level: Airflow folds two or more other nav entries into a "Plugins" menu, and the error queue's entry
    # stays where on-call engineers (and its browser test) find it.
    external_views = [{"name": "Go-live report", "href": f"{MOUNT_PREFIX.lstrip('/')}/", "destination": "nav",
                       "url_route": "go-live", "icon": ICON, "icon_dark_mode": ICON, "nav_top_level": True}]
