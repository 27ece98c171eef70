"""Only what changed is pushed, with the last known quantity as compare value, in stable batches of ≤ 250."""

from __future__ import annotations

import pytest

from shopify_max.inventory.plan import MAX_BATCH, batches, plan_quantities
from shopify_max.shopify.api import idempotency_key_for

LOC = "gid://shopify/Location/64001001"


def item(n: int) -> str:
    return f"gid://shopify/InventoryItem/{n}"


def test_a_delta_pushes_only_what_differs_from_the_shadow_with_the_shadow_as_compare_value():
    targets = {(item(n), LOC): n % 7 for n in range(1000)}
    shadow = dict(targets)
    changed = [3, 250, 999]
    for n in changed:
        targets[(item(n), LOC)] += 5
    planned = plan_quantities(targets, shadow)
    assert [(q.inventory_item_id, q.quantity, q.change_from_quantity) for q in planned] == [
        (item(n), shadow[(item(n), LOC)] + 5, shadow[(item(n), LOC)]) for n in sorted(changed, key=lambda n: item(n))]


def test_a_full_reconcile_corrects_drift_made_by_hand_in_shopify():
    targets = {(item(1), LOC): 10, (item(2), LOC): 4}
    shopify_now = {(item(1), LOC): 7, (item(2), LOC): 4}  # someone sold 3 at the counter and typed it in
    [quantity] = plan_quantities(targets, shopify_now)
    assert (quantity.inventory_item_id, quantity.quantity, quantity.change_from_quantity) == (item(1), 10, 7)


def test_a_negative_target_is_sent_as_zero():
    [quantity] = plan_quantities({(item(1), LOC): -3}, {(item(1), LOC): 2})
    assert quantity.quantity == 0


def test_batches_hold_at_most_250_and_the_same_content_gives_the_same_idempotency_keys():
    targets = {(item(n), LOC): n for n in range(1001)}
    first = batches(plan_quantities(targets, {}))
    again = batches(plan_quantities(dict(reversed(list(targets.items()))), {}))
    assert [len(b) for b in first] == [250, 250, 250, 250, 1]
    keys = [idempotency_key_for("inventorySetQuantities", [q.model_dump() for q in b]) for b in first]
    assert keys == [idempotency_key_for("inventorySetQuantities", [q.model_dump() for q in b]) for b in again]
    assert len(set(keys)) == len(keys)


def test_a_batch_size_above_shopifys_limit_is_refused():
    with pytest.raises(ValueError, match=f"1..{MAX_BATCH}"):
        batches([], size=251)
