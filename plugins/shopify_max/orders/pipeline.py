"""The orders flow, step by step: capture → map → validate → export → cancellations → summary.

Each function is the body of one task of the ``orders_to_max`` DAG and works on the sync store's
``order_stage`` table, so tasks pass only small summaries through XCom, a retried task picks up where
it stopped, and every order read by a run ends exported, skipped or failed (with a reason).

Exactly once (DESIGN.md):
- Before writing an order to MAX the export takes the order's **write lease** (``take_write_lease``): only the
  holder of an unexpired lease writes, and it renews the lease right before each send. A lease expires after
  ``write_lease`` (a writer that died or hung); only then may another attempt or run take the order over, and
  taking over settles it first: ``id_map``, then a MAX lookup by ``CUSTPO``.
- The MAX key is recorded the moment it is learnt. The gateway refuses a second order for one CUSTPO (409),
  which the hook reads as "already there": a writer frozen past its lease cannot create a second order.
- **Versions only move forward.** An order older than the version held (a late retry of ``orders/create``
  after ``orders/cancelled``) is recorded as stale and changes nothing; work done on an older version is not
  written over a newer one (map, validate and export are conditional on the version they read); a newer
  version that arrives while a MAX write is under way waits in ``deferred_json`` until that write settles.
"""

from shopify_max.orders.capture import (
    CANCELLED_IN_MAX,
    DEFAULT_INBOX_CLAIM_TIMEOUT,
    MAX_INBOX_CLAIMS,
    POLL_WATERMARK,
    CaptureReport,
    OrderSource,
    StagingConflict,
    capture_orders,
)
from shopify_max.orders.export import MaxGateway, apply_cancellations, export_staged_orders
from shopify_max.orders.map_and_validate import map_staged_orders, validate_staged_orders
from shopify_max.orders.replay import REPLAYABLE_STAGES, replay_order_errors
from shopify_max.orders.stage_versions import order_digests, version_key
from shopify_max.orders.summary import summarise_orders_run
from shopify_max.orders.write_lease import DEFAULT_WRITE_LEASE, WriteLeaseHeld, WriteLeaseLost

__all__ = [
    "CANCELLED_IN_MAX", "DEFAULT_INBOX_CLAIM_TIMEOUT", "DEFAULT_WRITE_LEASE", "MAX_INBOX_CLAIMS", "POLL_WATERMARK",
    "REPLAYABLE_STAGES", "CaptureReport", "MaxGateway", "OrderSource", "StagingConflict", "WriteLeaseHeld",
    "WriteLeaseLost", "apply_cancellations", "capture_orders", "export_staged_orders", "map_staged_orders",
    "order_digests", "replay_order_errors", "summarise_orders_run", "validate_staged_orders", "version_key",
]
