"""Shopify Admin API limits the project builds on, each defined once (SHOPIFY.md)."""

MAX_INPUT_ARRAY_ITEMS = 250  # SHOPIFY.md §2: input arrays hold ≤ 250 items (so ≤ 250 quantities per call, §5)
MAX_PAGE_SIZE = 250  # SHOPIFY.md §3: first/last ≤ 250
MAX_QUERY_COST = 1000  # SHOPIFY.md §2: the most one query may request, in cost points (UNVERIFIED there)
