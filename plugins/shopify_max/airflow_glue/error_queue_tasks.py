"""Body of the ``error_replay`` DAG's ``act_on_error_queue`` task: the params in, the library's action, a report
out (``shopify_max.error_queue_actions``).

A request that cannot be acted on (an unknown action, entity or stage, a resolve or ignore without a note) fails
the task at once, before anything changes: retrying cannot add the missing note.
"""

from __future__ import annotations

import logging
from typing import Any

from shopify_max.airflow_glue.store_tasks import open_sync_store
from shopify_max.airflow_glue.task_failures import fails_at_once_when_retrying_cannot_help

log = logging.getLogger(__name__)


def _order_flow():  # noqa: ANN202 - OrderFlow, imported lazily
    from shopify_max.airflow_glue.order_tasks import reference_codes_from_max, write_lease
    from shopify_max.exactmax.hook import ExactMaxHook
    from shopify_max.mappings import load_mappings
    from shopify_max.orders.replay import OrderFlow

    return OrderFlow(load_mappings(), reference_codes_from_max(), ExactMaxHook(), write_lease())


def _shopify():  # noqa: ANN202 - ShopifyHook, imported lazily
    from shopify_max.shopify.hook import ShopifyHook

    return ShopifyHook()


@fails_at_once_when_retrying_cannot_help
def act_on_error_queue(run_id: str, task_id: str | None, params: dict[str, Any],
                       triggering_user: str | None = None) -> dict[str, Any]:
    """Apply the params' ``action`` to the items they select; the report lists each item id and its result."""
    from airflow.sdk.exceptions import AirflowFailException

    from shopify_max.error_queue_actions import ActionRefused, Actor, Selection, act_on_error_queue, check_request

    try:
        action, note = check_request(params.get("action"), params.get("note"))
        selection = Selection.from_params(params)
    except ActionRefused as refused:
        log.error("error_replay: not acted on: %s", refused)
        raise AirflowFailException(f"not acted on (not retried): {refused}") from refused
    actor = Actor(run_id=run_id, task_id=task_id, user=triggering_user)
    log.info("error_replay %s by %s on %s", action, actor.acted_by, selection.describe())
    with open_sync_store() as store:
        report = act_on_error_queue(store, action, selection, actor=actor, note=note, order_flow=_order_flow,
                                    shopify=_shopify)
    log.info("error_replay %s: %d item(s) matched, %d claimed: %s", action, report["matched"], report["claimed"],
             report["counts"])
    return report
