"""The Shopify webhook receiver: verify, de-duplicate, store in the inbox, answer fast."""

# The webhook topics the orders flow reads from the inbox (refunds wait for the fulfilment flow).
ORDER_TOPICS = ("orders/create", "orders/updated", "orders/cancelled")
