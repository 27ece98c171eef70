"""The error-queue page in the Airflow UI: an on-call engineer lists, reads and acts on error-queue items
(docs/error-queue.md). The app lives in ``shopify_max.error_queue_page``; this file only registers it."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from shopify_max.error_queue_page import MOUNT_PREFIX
from shopify_max.error_queue_page.app import LazyApp

# A list with a warning sign, as a data URI: the nav icon needs no route of its own.
ICON = ("data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' fill='none' "
        "stroke='%23888' stroke-width='2' stroke-linecap='round'><path d='M4 6h10M4 12h7M4 18h6'/>"
        "<path d='M18 9l4 8h-8z'/><path d='M18 12.5v2'/></svg>")


class ErrorQueuePagePlugin(AirflowPlugin):
    name = "shopify_max_error_queue"
    fastapi_apps = [{"app": LazyApp(), "url_prefix": MOUNT_PREFIX, "name": "Error queue"}]
    external_views = [{"name": "Error queue", "href": f"{MOUNT_PREFIX.lstrip('/')}/", "destination": "nav",
                       "url_route": "error-queue", "icon": ICON, "icon_dark_mode": ICON}]
