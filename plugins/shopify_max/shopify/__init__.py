"""Shopify Admin GraphQL client side: the Airflow hook, the client, pacing, bulk, documents and typed results.

- :mod:`.hook` – ``ShopifyHook`` (Airflow connection ``shopify_default``), which has every typed method of
- :mod:`.api` – ``ShopifyAdminApi`` (orders, locations, SKUs, inventory, tags, customers), with the fulfilment
  and order operations from :mod:`.fulfilment_api` (fulfilment state, fulfilments, tracking, moves, close,
  capture, mark as paid), refunds from :mod:`.refund_api`, and master data from :mod:`.master_data_api`
  (customers, customerSet, variants and their prices, the codes recent orders carry);
- :mod:`.client` – ``ShopifyClient``: one request, paced (:mod:`.pacing`) and retried, typed errors (:mod:`.errors`);
- :mod:`.bulk` – bulk operations with streamed JSONL;
- :mod:`.documents`, :mod:`.fulfilment_documents`, :mod:`.refund_documents` and :mod:`.master_data_documents` –
  every GraphQL document the project sends (validated by the contract test), built on :mod:`.document_base`;
- :mod:`.models` – pydantic results (with :mod:`.fulfilment_models`, :mod:`.refund_models` and
  :mod:`.master_data_models`, on :mod:`.model_base`).
"""
