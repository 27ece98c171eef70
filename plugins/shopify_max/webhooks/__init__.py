"""The Shopify webhook receiver: verify, de-duplicate, store in the inbox, answer fast."""

# The webhook topics the orders flow reads from the inbox (refunds/create is read by the refunds flow).
ORDER_TOPICS = ("orders/create", "orders/updated", "orders/cancelled")
