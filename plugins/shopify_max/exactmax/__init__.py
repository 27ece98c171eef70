"""Exact MAX, client side: ``ExactMaxHook`` (the gateway contract on HttpHook), the MAX document models,
the eMAXExact XML builder and the typed errors. The contract is ``max_gateway/openapi.yaml``."""

from shopify_max.exactmax.credit_memos import CreditMemoLineRecord, CreditMemoRecord, StockMove
from shopify_max.exactmax.errors import (
    ExactMaxAmbiguousWriteError,
    ExactMaxAuthError,
    ExactMaxConnectionError,
    ExactMaxError,
    ExactMaxNotFound,
    ExactMaxProtocolError,
    ExactMaxRejected,
    ExactMaxUnavailableError,
    FieldRejection,
)
from shopify_max.exactmax.models import (
    Cancellation,
    CodeTables,
    CreditMemo,
    Customer,
    CustomerRecord,
    CustomerResult,
    Invoice,
    MaxOrderStatus,
    MaxOrderStatusLine,
    Part,
    Payment,
    PriceListEntry,
    SalesOrder,
    SalesOrderLine,
    SalesOrderResult,
    Shipment,
    ShipTo,
    StockLevel,
)

__all__ = [
    "Cancellation", "CodeTables", "CreditMemo", "CreditMemoLineRecord", "CreditMemoRecord", "Customer",
    "CustomerRecord", "CustomerResult",
    "ExactMaxAmbiguousWriteError", "ExactMaxAuthError", "ExactMaxConnectionError", "ExactMaxError",
    "ExactMaxNotFound", "ExactMaxProtocolError", "ExactMaxRejected", "ExactMaxUnavailableError", "FieldRejection",
    "Invoice", "MaxOrderStatus", "MaxOrderStatusLine", "Part", "Payment", "PriceListEntry", "SalesOrder", "SalesOrderLine",
    "SalesOrderResult", "ShipTo", "Shipment", "StockLevel", "StockMove",
]
