"""Which Shopify locations the flow manages, and what it reports about the rest (never guessed)."""

from __future__ import annotations

from shopify_max.inventory.rules import InventoryRules, LocationMapping
from shopify_max.inventory.shopify_side import _location_problems, managed_locations
from shopify_max.shopify.models import Location

MAIN, STORE, POPUP, NEW, CLOSED = (f"gid://shopify/Location/{n}" for n in (1, 2, 3, 4, 5))
RULES = InventoryRules("on_hand_minus_open_demand", [
    LocationMapping(MAIN, "Main", ("MAIN", "OVERFLOW")), LocationMapping(STORE, "Store", ("STORE",)),
    LocationMapping(POPUP, "Pop-up", ()), LocationMapping(CLOSED, "Closed shop", ("OLD",)),
    LocationMapping("gid://shopify/Location/9", "Gone", ("GONE",))], {})
SHOPIFY = [Location(id=MAIN, name="Main"), Location(id=STORE, name="Store"), Location(id=POPUP, name="Pop-up"),
           Location(id=NEW, name="New outlet"), Location(id=CLOSED, name="Closed shop", is_active=False)]


def test_only_active_locations_fed_by_a_stockroom_are_managed():
    assert managed_locations(RULES, SHOPIFY) == [MAIN, STORE]


def test_every_location_that_cannot_be_managed_is_reported_with_the_reason():
    found = _location_problems(RULES, SHOPIFY).found
    assert set(found) == {POPUP, NEW, "gid://shopify/Location/9"}
    assert "has no MAX stockroom" in found[POPUP][0]
    assert "'New outlet'" in found[NEW][0] and "is not in locations.csv" in found[NEW][0]
    assert "which Shopify does not have" in found["gid://shopify/Location/9"][0] and "GONE" in found[
        "gid://shopify/Location/9"][0]
