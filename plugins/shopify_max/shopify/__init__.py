"""Shopify Admin GraphQL client side: the Airflow hook, the client, pacing, bulk, documents and typed results.

- :mod:`.hook` – ``ShopifyHook`` (Airflow connection ``shopify_default``), which has every typed method of
- :mod:`.api` – ``ShopifyAdminApi`` (orders, locations, SKUs, inventory, fulfilment, tags, customers);
- :mod:`.client` – ``ShopifyClient``: one request, paced (:mod:`.pacing`) and retried, typed errors (:mod:`.errors`);
- :mod:`.bulk` – bulk operations with streamed JSONL;
- :mod:`.documents` – every GraphQL document the project sends (validated by the contract test);
- :mod:`.models` – pydantic results.
"""
