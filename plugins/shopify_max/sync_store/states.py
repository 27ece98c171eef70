"""Every status, stage and outcome the sync store keeps, as enums: the one registry (docs/sync-store.md).

The values are what the database holds; renaming one is a migration. The enums are ``str`` subclasses, so a
value read back from the database compares equal to its member (``"open" == ErrorStatus.OPEN``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

_State = TypeVar("_State", bound=StrEnum)


def parse_state(kind: type[_State], value: str, what: str) -> _State:
    """``value`` as a member of ``kind``; a ValueError naming ``what`` and the known values otherwise."""
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"unknown {what} {value!r}; expected one of {tuple(m.value for m in kind)}") from None


class ErrorStatus(StrEnum):
    """An error-queue item's life cycle: open → retrying (claimed) → resolved or ignored; back to open when the
    problem is recorded again (an ignored item stays ignored)."""

    OPEN = "open"  # waiting for a fix, a replay or a person
    RETRYING = "retrying"  # claimed by a worker (a replay) trying it again
    RESOLVED = "resolved"  # fixed: by a replay, by a check that no longer finds it, or by hand
    IGNORED = "ignored"  # a person decided it needs nothing


class InboxStatus(StrEnum):
    """A webhook delivery: new → processing (claimed) → processed, ignored (stale) or failed."""

    NEW = "new"
    PROCESSING = "processing"
    PROCESSED = "processed"
    IGNORED = "ignored"
    FAILED = "failed"


class OrderStageStatus(StrEnum):
    """Where an order is on its way to MAX (``order_stage.status``)."""

    CAPTURED = "captured"
    MAPPED = "mapped"
    VALIDATED = "validated"
    EXPORTING = "exporting"  # under a write lease: the sales order may be on its way to MAX
    EXPORTED = "exported"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCEL_PENDING = "cancel_pending"  # exported, then cancelled in Shopify: the cancellation step writes to MAX


# Statuses in which a write to MAX may be under way for the order (export or cancellation).
WRITING_STATUSES = (OrderStageStatus.EXPORTING, OrderStageStatus.CANCEL_PENDING)
# Statuses a run has not finished with: the next run adopts such an order (a writing one once its lease expired).
IN_FLIGHT_STATUSES = (OrderStageStatus.CAPTURED, OrderStageStatus.MAPPED, OrderStageStatus.VALIDATED,
                      *WRITING_STATUSES)


class RunOutcome(StrEnum):
    """What the run that last touched an order decided (``order_stage.run_outcome``)."""

    PENDING = "pending"
    EXPORTED = "exported"
    SKIPPED = "skipped"
    FAILED = "failed"


class RunOutcomeCode(StrEnum):
    """The kind of a run outcome (``order_stage.run_outcome_code``), beside the reason a person reads: the run
    summary counts skips by it."""

    # exported
    EXPORTED = "exported"
    CANCELLED_IN_MAX = "cancelled_in_max"
    ALREADY_CANCELLED_IN_MAX = "already_cancelled_in_max"
    # skipped
    UNCHANGED = "unchanged"  # capture: the version held, read again
    EXPORTED_EARLIER = "exported_earlier"  # capture: changed since its export, in nothing the MAX order carries
    ALREADY_EXPORTED = "already_exported"  # export: id_map already holds its ORDNUM
    FOUND_IN_MAX = "found_in_max"  # export: MAX already holds an order with its CUSTPO
    CANCELLED_BEFORE_EXPORT = "cancelled_before_export"
    TEST_ORDER = "test_order"
    NOTHING_TO_EXPORT = "nothing_to_export"  # every line was skipped by a rule
    PERSONAL_DATA_ERASED = "personal_data_erased"  # a privacy request erased its copy before export
    HANDED_OVER = "handed_over"  # another run took the order over while this one had it pending
    # failed (each with an error-queue item, in ``order_stage.error_queue_id``)
    EDITED_AFTER_EXPORT = "edited_after_export"
    MAPPING_FAILED = "mapping_failed"
    VALIDATION_FAILED = "validation_failed"
    DUPLICATE_CUSTPO = "duplicate_custpo"
    REJECTED_BY_MAX = "rejected_by_max"
    CANNOT_CANCEL = "cannot_cancel"
    CAPTURE_FAILED = "capture_failed"  # a delivery or an order capture could not read or stage


class ShipmentStatus(StrEnum):
    """A MAX shipment on its way to Shopify (``shipment_sync.status``)."""

    PENDING = "pending"  # read from MAX; this run or the next sends it
    WAITING = "waiting"  # held by Shopify (on hold, another location) or by a rule: every run tries it again
    FULFILLED = "fulfilled"  # every part is a recorded Shopify fulfilment
    SKIPPED = "skipped"  # nothing to send (not a Shopify order, freight only)
    FAILED = "failed"  # on the error queue: a person fixes the cause, then replays it


class ShipmentOutcomeCode(StrEnum):
    """Why a shipment ended where it is (``shipment_sync.outcome_code``): the run summary counts by it."""

    FULFILLED = "fulfilled"
    FOUND_IN_SHOPIFY = "found_in_shopify"  # sent before, answer lost: found by tracking number and quantities
    FULFILLED_BY_HAND = "fulfilled_by_hand"  # a person fulfilled those lines in Shopify: recorded, not repeated
    NOT_FROM_SHOPIFY = "not_from_shopify"  # the MAX order was not exported by this integration
    NOTHING_TO_FULFIL = "nothing_to_fulfil"  # only freight or lines Shopify does not ship
    WAITING_BY_RULE = "waiting_by_rule"  # on hold or another location, and the rule says wait
    ON_HOLD = "on_hold"
    FULFILLMENT_ORDER_CLOSED = "fulfillment_order_closed"
    OTHER_LOCATION = "other_location"
    NO_LINE_MAP = "no_line_map"
    NOT_WHOLE_UNITS = "not_whole_units"
    UNMAPPED_STOCKROOM = "unmapped_stockroom"
    OVER_SHIPMENT = "over_shipment"
    REFUSED_BY_SHOPIFY = "refused_by_shopify"
    ORDER_NOT_IN_SHOPIFY = "order_not_in_shopify"


class RefundStatus(StrEnum):
    """A Shopify refund on its way to MAX (``refund_stage.status``)."""

    CAPTURED = "captured"
    WAITING = "waiting"  # for its order to reach MAX, or for MAX to invoice it: every run looks again
    EXPORTING = "exporting"  # under a write lease: the credit memo may be on its way to MAX
    EXPORTED = "exported"
    SKIPPED = "skipped"
    FAILED = "failed"


class RefundOutcomeCode(StrEnum):
    EXPORTED = "exported"
    ALREADY_EXPORTED = "already_exported"  # id_map holds its memo
    FOUND_IN_MAX = "found_in_max"  # MAX already holds a memo with its CUSTPO (an earlier answer was lost)
    WAITING_FOR_ORDER = "waiting_for_order"  # the order is not in MAX yet (not exported, or on the error queue)
    WAITING_FOR_INVOICE = "waiting_for_invoice"  # MAX has not invoiced the order yet: nothing to credit
    CANCELLED_BEFORE_SHIPPING = "cancelled_before_shipping"  # the MAX order was cancelled: no credit memo
    NOTHING_TO_CREDIT = "nothing_to_credit"  # a refund of nothing (zero amounts), or only what a rule skips
    MAPPING_FAILED = "mapping_failed"
    TOTALS_DIFFER = "totals_differ"
    EXCEEDS_ORDER = "exceeds_order"
    VALIDATION_FAILED = "validation_failed"
    REJECTED_BY_MAX = "rejected_by_max"


class ErrorEntity(StrEnum):
    """Whose records an error-queue item concerns (``error_queue.entity``)."""

    ORDER = "order"
    INVENTORY = "inventory"
    PRIVACY = "privacy"
    SHIPMENT = "shipment"  # a MAX shipment on its way to Shopify (record key: the MAX shipment id)
    INVOICE = "invoice"  # a MAX invoice of an exported order (record key: the MAX invoice number)
    REFUND = "refund"  # a Shopify refund on its way to MAX as a credit memo (record key: the refund gid)
    CUSTOMER = "customer"  # a MAX account or a Shopify customer in the master-data sync (record key: CUSTID or gid)
    ITEM = "item"  # a coverage finding of SKUs, parts and prices (record key: the SKU, or the part number)
    CODE = "code"  # a code a mapping file names that MAX lacks, or a Shopify value no file maps (record key: value)


class OrderErrorStage(StrEnum):
    """Where in the orders flow an order (or a delivery of one) stopped."""

    CAPTURE = "capture"  # an unreadable delivery or order; a person looks at it
    MAP = "map"
    VALIDATE = "validate"
    EXPORT = "export"
    CANCEL = "cancel"  # cancelled in Shopify after export, and MAX cannot cancel it
    UPDATE_AFTER_EXPORT = "update_after_export"  # edited in Shopify after export; change MAX by hand
    STATUS_TO_SHOPIFY = "status_to_shopify"  # MAX status, invoices or payment could not be written to Shopify


class InventoryErrorStage(StrEnum):
    """The inventory check that found the problem (meanings: ``inventory.problems.STAGES``)."""

    UNMAPPED_LOCATION = "unmapped_location"
    UNMAPPED_SKU = "unmapped_sku"
    SKU_NOT_IN_SHOPIFY = "sku_not_in_shopify"
    DUPLICATE_SKU = "duplicate_sku"
    PART_WITHOUT_STOCK = "part_without_stock"
    NOT_STOCKED = "not_stocked"
    PUSH = "push"


class ShipmentErrorStage(StrEnum):
    """Where a MAX shipment stopped on its way to a Shopify fulfilment (docs/fulfilment.md)."""

    MAP = "map"  # no line map, a quantity that is not whole Shopify units, an unmapped stockroom
    FULFILLMENT_ORDER = "fulfillment_order"  # on hold, closed, or at another location, by the configured rule
    OVER_SHIPMENT = "over_shipment"  # more than Shopify still has to fulfil
    CREATE = "create"  # Shopify refused the fulfilment
    TRACKING = "tracking"  # Shopify refused a tracking change


class InvoiceErrorStage(StrEnum):
    AMOUNT = "amount"  # the invoice's total differs from what Shopify expects for those lines
    CAPTURE = "capture"  # the capture on invoice was refused or is not possible
    MARK_PAID = "mark_paid"  # marking the order paid was refused


class RefundErrorStage(StrEnum):
    CAPTURE = "capture"  # an unreadable refunds/create delivery or refund
    MAP = "map"  # a line not in the order's line map, an adjustment the rules send here, a gift-card rule
    TOTALS = "totals"  # the memo's total differs from the refund's successful transactions
    EXCESS = "excess"  # the order's credit memos would exceed what MAX holds for the order
    VALIDATE = "validate"  # the Great Expectations suite refused the credit memo
    EXPORT = "export"  # MAX refused the credit memo


class CustomerErrorStage(StrEnum):
    """Where a customer stopped in the master-data sync (docs/master-data.md)."""

    MATCH = "match"  # two candidates: never guessed, a person picks (sets the max.custid metafield)
    CONFLICT = "conflict"  # the Shopify customer already has another MAX account in id_map
    PUSH = "push"  # Shopify refused the account data (customerSet userErrors)
    CREATE = "create"  # a web customer's MAX account could not be created


class ItemErrorStage(StrEnum):
    """The coverage check that found the problem (``master_data.coverage`` kinds)."""

    PART_WITHOUT_VARIANT = "part_without_variant"
    VARIANT_WITHOUT_PART = "variant_without_part"
    VARIANT_WITHOUT_SKU = "variant_without_sku"
    DUPLICATE_SKU = "duplicate_sku"
    UOM_FACTOR_MISMATCH = "uom_factor_mismatch"
    PRICE_MISMATCH = "price_mismatch"
    PRICE_MISSING = "price_missing"
    TAXABLE_MISMATCH = "taxable_mismatch"


class CodeErrorStage(StrEnum):
    """The code-table check that found the problem (``master_data.code_checks`` problems)."""

    UNKNOWN_MAX_CODE = "unknown_max_code"  # a mapping file names a code MAX does not have
    UNMAPPED_SHOPIFY_VALUE = "unmapped_shopify_value"  # a tax title, gateway or shipping title no file maps


class PrivacyErrorStage(StrEnum):
    READ_REQUEST = "read_request"  # a compliance webhook that could not be read


# The error-queue stages of each entity.
ERROR_STAGES: dict[ErrorEntity, type[StrEnum]] = {
    ErrorEntity.ORDER: OrderErrorStage,
    ErrorEntity.INVENTORY: InventoryErrorStage,
    ErrorEntity.PRIVACY: PrivacyErrorStage,
    ErrorEntity.SHIPMENT: ShipmentErrorStage,
    ErrorEntity.INVOICE: InvoiceErrorStage,
    ErrorEntity.REFUND: RefundErrorStage,
    ErrorEntity.CUSTOMER: CustomerErrorStage,
    ErrorEntity.ITEM: ItemErrorStage,
    ErrorEntity.CODE: CodeErrorStage,
}


def error_stage(entity: str, stage: str) -> tuple[ErrorEntity, StrEnum]:
    """(entity, stage) as registered; a ValueError for an entity or a stage the registry does not know."""
    known_entity = parse_state(ErrorEntity, entity, "error-queue entity")
    return known_entity, parse_state(ERROR_STAGES[known_entity], stage, f"{known_entity} error-queue stage")
