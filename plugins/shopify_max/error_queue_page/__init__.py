"""The error-queue page in the Airflow UI (docs/error-queue.md): a FastAPI app the plugin
``plugins/error_queue_page_plugin.py`` mounts in Airflow's API server, with a nav entry.

- ``app.py``: the routes (the page and its JSON API); every one requires an Airflow user allowed to trigger
  ``error_replay`` (Airflow's own ``requires_access_dag``);
- ``present.py``: items as the page shows them, redacted again at display, with links to runs and task logs;
- ``actions.py``: the buttons' ``error_replay`` conf, triggered through Airflow's REST API as the user;
- ``page.html``: the page (vanilla JS).
"""

MOUNT_PREFIX = "/error-queue"
