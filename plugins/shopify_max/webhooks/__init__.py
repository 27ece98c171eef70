"""The Shopify webhook receiver: verify, de-duplicate, store in the inbox, answer fast."""
