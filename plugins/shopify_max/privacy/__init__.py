"""Privacy requests: Shopify's compliance webhooks acted on in the sync store (GDPR; SHOPIFY.md §7).

- ``requests``: read a ``customers/data_request``, ``customers/redact`` or ``shop/redact`` delivery;
- ``records``: find one customer's records, describe them, erase them (or the whole shop's);
- ``personal_values``: which values in a record are personal, and their removal from free text;
- ``process``: the task body: act on every waiting delivery and keep a record of each action.

Plain Python on a :class:`~shopify_max.sync_store.SyncStore`; the ``sync_store_maintenance`` DAG runs it.
"""

from shopify_max.privacy.process import act_on_privacy_requests
from shopify_max.privacy.requests import (
           COMPLIANCE_TOPICS,
           ComplianceRequest,
           UnreadableRequest,
           read_compliance_request,
)

__all__ = ["COMPLIANCE_TOPICS", "ComplianceRequest", "UnreadableRequest", "act_on_privacy_requests",
           "read_compliance_request"]
