"""Inventory: what Shopify should show as available per SKU × location, computed from Exact MAX stock.

Exact MAX owns stock (DESIGN.md); this package decides the figures. The push to Shopify (deltas against
the shadow, batches of 250, compare-and-set) comes with the inventory flow.
"""
