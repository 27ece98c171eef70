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


class ErrorEntity(StrEnum):
    """Whose records an error-queue item concerns (``error_queue.entity``)."""

    ORDER = "order"
    INVENTORY = "inventory"
    PRIVACY = "privacy"


class OrderErrorStage(StrEnum):
    """Where in the orders flow an order (or a delivery of one) stopped."""

    CAPTURE = "capture"  # an unreadable delivery or order; a person looks at it
    MAP = "map"
    VALIDATE = "validate"
    EXPORT = "export"
    CANCEL = "cancel"  # cancelled in Shopify after export, and MAX cannot cancel it
    UPDATE_AFTER_EXPORT = "update_after_export"  # edited in Shopify after export; change MAX by hand


class InventoryErrorStage(StrEnum):
    """The inventory check that found the problem (meanings: ``inventory.problems.STAGES``)."""

    UNMAPPED_LOCATION = "unmapped_location"
    UNMAPPED_SKU = "unmapped_sku"
    SKU_NOT_IN_SHOPIFY = "sku_not_in_shopify"
    DUPLICATE_SKU = "duplicate_sku"
    PART_WITHOUT_STOCK = "part_without_stock"
    NOT_STOCKED = "not_stocked"
    PUSH = "push"


class PrivacyErrorStage(StrEnum):
    READ_REQUEST = "read_request"  # a compliance webhook that could not be read


# The error-queue stages of each entity.
ERROR_STAGES: dict[ErrorEntity, type[StrEnum]] = {
    ErrorEntity.ORDER: OrderErrorStage,
    ErrorEntity.INVENTORY: InventoryErrorStage,
    ErrorEntity.PRIVACY: PrivacyErrorStage,
}


def error_stage(entity: str, stage: str) -> tuple[ErrorEntity, StrEnum]:
    """(entity, stage) as registered; a ValueError for an entity or a stage the registry does not know."""
    known_entity = parse_state(ErrorEntity, entity, "error-queue entity")
    return known_entity, parse_state(ERROR_STAGES[known_entity], stage, f"{known_entity} error-queue stage")
