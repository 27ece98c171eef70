"""Shopify Admin GraphQL client side: the Airflow hook, the client, pacing, bulk, documents and typed results.

- :mod:`.hook` – ``ShopifyHook`` (Airflow connection ``shopify_default``), which has every typed method of
- :mod:`.api` – ``ShopifyAdminApi`` (orders, locations, SKUs, inventory, tags, customers), with the fulfilment
  and order operations from :mod:`.fulfilment_api` (fulfilment state, fulfilments, tracking, moves, close,
  capture, mark as paid);
- :mod:`.client` – ``ShopifyClient``: one request, paced (:mod:`.pacing`) and retried, typed errors (:mod:`.errors`);
- :mod:`.bulk` – bulk operations with streamed JSONL;
- :mod:`.documents` and :mod:`.fulfilment_documents` – every GraphQL document the project sends (validated by the
  contract test), built on :mod:`.document_base`;
- :mod:`.models` – pydantic results (with :mod:`.fulfilment_models`, on :mod:`.model_base`).
"""
