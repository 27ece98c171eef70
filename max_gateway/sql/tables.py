"""The MAX tables both backends read (SQLAlchemy Core): the reference backend's own database, and the views over a
real MAX database that the ``max`` backend reads (``max_gateway.max.views``, docs/max-gateway-deployment.md).

Table and column names, lengths and codes follow EXACTMAX.md: every column ends in ``_<table number>``. Text
columns are :class:`~max_gateway.sql.types.MaxText`: MAX pads them (``CHAR(n)``), so values are trimmed on read and
compared trimmed; the reference database stores them in ``VARCHAR(n)``. Differences from a live MAX database, on
purpose:
- tables whose name starts with ``X_`` are **extensions, not MAX tables**: ``X_Shipment_Tracking`` (carrier
  and tracking number per shipped transaction; MAX keeps only the 2-character ship-via code),
  ``X_Shipment_Package`` (every tracking number of a shipment, one row each),
  ``X_Tracking_Change`` (one row per later change of a shipment's tracking numbers: what a ``rowversion`` column
  or an ``AFTER UPDATE`` trigger on the tracking tables gives in SQL Server; it lets a reader see a change to a
  shipment it has already read, which ``GET /shipments?since=`` never shows again),
  ``X_Invoice_Payment`` (payments received against an invoice: MAX's documented tables hold none),
  ``X_Credit_Restock`` (the stock effect of each credit-memo line, see below),
  ``X_Customer_Account`` (per customer: price list, credit hold, contact e-mail, VAT id),
  ``X_Price_List`` (a price per price list, part and sales UOM) and
  ``X_Gateway_Counter`` (the gateway's own number ranges for ORDNUM, invoice and shipment numbers).
  ``X_Customer_Account`` and ``X_Price_List`` exist because MAX documents no e-mail, price-list, credit-hold or VAT
  column on ``Customer_Master`` and no price-list table (EXACTMAX.md): a production adapter maps each to the site's
  own column or table.
- ``Part_Sales.PRICE_29`` (list price) and ``Part_Sales.TAXABL_29`` (``Y``/``N``: the part is sold taxable) are
  **assumed columns**: EXACTMAX.md does not list them; a production adapter reads the site's equivalent.
- ``RESTCK_28`` is a **contract element, not a MAX column**: on a credit memo line (``STYPE`` CR) of the eMAXExact
  document it says whether the goods come back to stock (``Y``) or not (``N`` or absent). ``Y`` on a stocked part
  writes a receipt (``Transaction_History`` ``TNXCDE_15`` R, in stocking units: ``ORGQTY_28`` x the line's UOM
  factor) into the line's ``STK_28`` and raises ``Part_Stock.QTYOH_06`` (and ``Part_Master.ONHAND_01``) by as
  much, in the memo's own transaction; non-stock parts (``TYPE_01`` N, e.g. FREIGHT) never move stock. The
  element is stored in ``X_Credit_Restock`` (with the receipt's ``TNXSEQ_15``), not in ``SO_Detail``. A production
  adapter would pass the memo to MAXUpdate without the element and, in the same unit of work, post a MAXUpdate
  credit-memo receipt (``MAX_Transaction``, receipt against the CR order line) for each ``Y`` line.
- ``CHGSEQ_X`` and ``PAYSEQ_X`` are ``since`` watermarks, so their writers commit in key order
  (``database.serialise_appends``). A production adapter reading a SQL Server ``rowversion`` instead bounds each
  read by ``MIN_ACTIVE_ROWVERSION()``, so a lower value still uncommitted is not skipped.
- ``Code_Master.CNVFCT_36`` holds the sales-to-stocking factor of a UOM code (for example ``CS`` = 12), used
  when an order line sells a part in a UOM other than its ``Part_Sales`` sales UOM.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Index, Integer, MetaData, Numeric, Table

from max_gateway.sql.types import MaxText

metadata = MetaData()

QTY = Numeric(14, 4)
AMOUNT = Numeric(14, 4)


def _address_columns(suffix: str) -> list[Column]:
    """NAME, ADDR1..6, CITY, STATE, ZIPCD, CNTRY (30 each), PHONE, CNTCT (20 each)."""
    columns = [Column(f"NAME_{suffix}", MaxText(30), nullable=False, default="")]
    columns += [Column(f"ADDR{n}_{suffix}", MaxText(30), nullable=False, default="") for n in range(1, 7)]
    columns += [Column(f"{name}_{suffix}", MaxText(30), nullable=False, default="") for name in ("CITY", "STATE", "ZIPCD", "CNTRY")]
    columns += [Column(f"{name}_{suffix}", MaxText(20), nullable=False, default="") for name in ("PHONE", "CNTCT")]
    return columns


part_master = Table(
    "Part_Master", metadata,
    Column("PRTNUM_01", MaxText(30), primary_key=True),
    Column("PMDES1_01", MaxText(30), nullable=False, default=""),
    Column("PMDES2_01", MaxText(30), nullable=False, default=""),
    Column("TYPE_01", MaxText(1), nullable=False, default="S"),
    Column("BOMUOM_01", MaxText(2), nullable=False, default="EA"),
    Column("COST_01", AMOUNT, nullable=False, default=0),
    Column("ONHAND_01", QTY, nullable=False, default=0),
    Column("DELSTK_01", MaxText(8), nullable=False, default=""),
)

part_sales = Table(
    "Part_Sales", metadata,
    Column("PRTNUM_29", MaxText(30), primary_key=True),
    Column("STK_29", MaxText(8), nullable=False, default=""),
    Column("SLSUOM_29", MaxText(2), nullable=False, default="EA"),
    Column("SLSCNV_29", QTY, nullable=False, default=1),
    Column("PRDLIN_29", MaxText(4), nullable=False, default=""),
    Column("PRICE_29", AMOUNT, nullable=False, default=0),  # assumed column (module docstring)
    # Assumed column (module docstring). A server default, so an existing database gains it (database.py).
    Column("TAXABL_29", MaxText(1), nullable=False, default="Y", server_default="Y"),
)

part_stock = Table(
    "Part_Stock", metadata,
    Column("PRTNUM_06", MaxText(30), primary_key=True),
    Column("STK_06", MaxText(8), primary_key=True),
    Column("QTYOH_06", QTY, nullable=False, default=0),
)

customer_master = Table(
    "Customer_Master", metadata,
    Column("CUSTID_23", MaxText(20), primary_key=True),
    *_address_columns("23"),
    Column("TERMS_23", MaxText(2), nullable=False, default=""),
    Column("SHPVIA_23", MaxText(2), nullable=False, default=""),
    Column("TXCDE1_23", MaxText(7), nullable=False, default=""),
    Column("TXCDE2_23", MaxText(7), nullable=False, default=""),
    Column("TXCDE3_23", MaxText(7), nullable=False, default=""),
    Column("TAXABL_23", MaxText(1), nullable=False, default="Y"),
    Column("CURR_23", MaxText(3), nullable=False, default="USD"),
    Column("SLSREP_23", MaxText(3), nullable=False, default=""),
)

shipping_master = Table(
    "Shipping_Master", metadata,
    Column("CUSTID_24", MaxText(20), primary_key=True),
    Column("SHPCDE_24", MaxText(10), primary_key=True),
    *_address_columns("24"),
    Column("SHPVIA_24", MaxText(2), nullable=False, default=""),
    Column("TXCDE1_24", MaxText(7), nullable=False, default=""),
    Column("TXCDE2_24", MaxText(7), nullable=False, default=""),
    Column("TXCDE3_24", MaxText(7), nullable=False, default=""),
    Column("TAXABL_24", MaxText(1), nullable=False, default="Y"),
    Column("TXEXEM_24", MaxText(20), nullable=False, default=""),
)

so_master = Table(
    "SO_Master", metadata,
    Column("ORDNUM_27", MaxText(8), primary_key=True),
    Column("CUSTID_27", MaxText(20), nullable=False),
    Column("STYPE_27", MaxText(2), nullable=False, default="CU"),
    Column("STATUS_27", MaxText(1), nullable=False, default="3"),
    Column("CUSTPO_27", MaxText(25), nullable=False, default=""),
    Column("ORDDTE_27", Date, nullable=False),
    Column("SHPCDE_27", MaxText(10), nullable=False, default=""),
    Column("TERMS_27", MaxText(2), nullable=False, default=""),
    Column("SHPVIA_27", MaxText(2), nullable=False, default=""),
    Column("FOB_27", MaxText(15), nullable=False, default=""),
    Column("TAXCD1_27", MaxText(7), nullable=False, default=""),
    Column("TAXCD2_27", MaxText(7), nullable=False, default=""),
    Column("TAXCD3_27", MaxText(7), nullable=False, default=""),
    Column("TTAX_27", AMOUNT, nullable=False, default=0),
    Column("LNETAX_27", AMOUNT, nullable=False, default=0),
    *_address_columns("27"),
    Column("TAXABL_27", MaxText(1), nullable=False, default="Y"),
    Column("CURR_27", MaxText(3), nullable=False, default="USD"),
    Column("EXCRTE_27", Numeric(14, 6), nullable=False, default=1),
    Column("COMNT1_27", MaxText(30), nullable=False, default=""),
    Column("COMNT2_27", MaxText(30), nullable=False, default=""),
    Column("COMNT3_27", MaxText(30), nullable=False, default=""),
    Column("INVCE_27", MaxText(8), nullable=False, default=""),
    Column("APPINV_27", MaxText(8), nullable=False, default=""),
    Column("REASON_27", MaxText(2), nullable=False, default=""),
    Column("UDFKEY_27", MaxText(15), nullable=False, default=""),
    Column("UDFREF_27", MaxText(25), nullable=False, default=""),
    Index("ix_SO_Master_CUSTPO_27", "CUSTPO_27"),
)

so_detail = Table(
    "SO_Detail", metadata,
    Column("ORDNUM_28", MaxText(8), primary_key=True),
    Column("LINNUM_28", MaxText(2), primary_key=True),
    Column("DELNUM_28", MaxText(2), primary_key=True),
    Column("STATUS_28", MaxText(1), nullable=False, default="3"),
    Column("CUSTID_28", MaxText(20), nullable=False),
    Column("PRTNUM_28", MaxText(30), nullable=False),
    Column("SLSUOM_28", MaxText(2), nullable=False, default="EA"),
    Column("PRICE_28", AMOUNT, nullable=False, default=0),
    Column("ORGPRC_28", AMOUNT, nullable=False, default=0),
    Column("DISC_28", AMOUNT, nullable=False, default=0),
    Column("ORGQTY_28", QTY, nullable=False, default=0),
    Column("CURQTY_28", QTY, nullable=False, default=0),
    Column("SHPQTY_28", QTY, nullable=False, default=0),
    Column("BCKQTY_28", QTY, nullable=False, default=0),
    Column("DUEQTY_28", QTY, nullable=False, default=0),
    Column("INVQTY_28", QTY, nullable=False, default=0),
    Column("CURDUE_28", Date, nullable=True),
    Column("SHPDTE_28", Date, nullable=True),
    Column("STK_28", MaxText(8), nullable=False, default=""),
    Column("TAXABL_28", MaxText(1), nullable=False, default="Y"),
    *[Column(f"TAXCDE{n}_28", MaxText(7), nullable=False, default="") for n in (1, 2, 3)],
    *[Column(f"TAX{n}_28", AMOUNT, nullable=False, default=0) for n in (1, 2, 3)],
    Column("STYPE_28", MaxText(2), nullable=False, default="CU"),
    Column("FORCUR_28", AMOUNT, nullable=False, default=0),
    Column("COST_28", AMOUNT, nullable=False, default=0),
)

so_note = Table(
    "SO_Note", metadata,
    Column("ORDNUM_30", MaxText(8), primary_key=True),
    Column("LINNUM_30", MaxText(2), primary_key=True),
    Column("DELNUM_30", MaxText(2), primary_key=True),
    Column("SEQNUM_30", Integer, primary_key=True, autoincrement=False),
    Column("NOTE_30", MaxText(50), nullable=False, default=""),
)

invoice_master = Table(
    "Invoice_Master", metadata,
    Column("INVCE_31", MaxText(8), primary_key=True),
    Column("ORDNUM_31", MaxText(8), nullable=False),
    Column("CUSTID_31", MaxText(20), nullable=False),
    Column("STYPE_31", MaxText(2), nullable=False, default="CU"),
    Column("INVDTE_31", Date, nullable=False),
    Column("TAX1_31", AMOUNT, nullable=False, default=0),
    Column("LNETOT_31", AMOUNT, nullable=False, default=0),
    Column("ORDDSC_31", AMOUNT, nullable=False, default=0),
    Column("REASON_31", MaxText(2), nullable=False, default=""),
)

invoice_detail = Table(
    "Invoice_Detail", metadata,
    Column("INVCE_32", MaxText(8), primary_key=True),
    Column("ORDNUM_32", MaxText(8), nullable=False),
    Column("LINNUM_32", MaxText(2), primary_key=True),
    Column("DELNUM_32", MaxText(2), primary_key=True),
    Column("PRTNUM_32", MaxText(30), nullable=False),
    Column("INVQTY_32", QTY, nullable=False, default=0),
    Column("PRICE_32", AMOUNT, nullable=False, default=0),
    Column("TAX1_32", AMOUNT, nullable=False, default=0),
    Column("TAXCDE1_32", MaxText(7), nullable=False, default=""),
)

tax_master = Table(
    "Tax_Master", metadata,
    Column("TAXCDE_25", MaxText(7), primary_key=True),
    Column("TAXDES_25", MaxText(30), nullable=False, default=""),
    Column("TAXRTE_25", Numeric(9, 6), nullable=False, default=0),
)

code_master = Table(
    "Code_Master", metadata,
    Column("CDEKEY_36", MaxText(10), primary_key=True),  # TERMS, SHPVIA, UOM, CURR
    Column("CODE_36", MaxText(10), primary_key=True),
    Column("DESC_36", MaxText(30), nullable=False, default=""),
    Column("EXCRTE_36", Numeric(14, 6), nullable=True),  # currency rows
    Column("CNVFCT_36", QTY, nullable=True),  # UOM rows: sales-to-stocking factor
)

transaction_history = Table(
    "Transaction_History", metadata,
    Column("TNXSEQ_15", Integer, primary_key=True, autoincrement=True),
    Column("TNXCDE_15", MaxText(1), nullable=False),  # S shipment, R receipt, I issue
    Column("TNXDTE_15", Date, nullable=False),
    Column("PRTNUM_15", MaxText(30), nullable=False),
    Column("STK_15", MaxText(8), nullable=False),
    Column("TNXQTY_15", QTY, nullable=False),  # stocking units
    Column("ORDNUM_15", MaxText(8), nullable=False, default=""),
    Column("LINNUM_15", MaxText(2), nullable=False, default=""),
    Column("DELNUM_15", MaxText(2), nullable=False, default=""),
    # The transaction's reference text (MAXUpdate REFDSC_39); a credit-memo restock receipt carries
    # ``CR{ORDNUM}-{LINNUM}{DELNUM}`` there. A server default, so an existing database gains it (database.py).
    Column("REFDES_15", MaxText(20), nullable=False, default="", server_default=""),
)

# ---- Extensions: NOT MAX tables (see the module docstring and docs/exactmax-gateway.md) ----

x_shipment_tracking = Table(
    "X_Shipment_Tracking", metadata,
    Column("TNXSEQ_X", Integer, primary_key=True, autoincrement=False),  # -> Transaction_History.TNXSEQ_15
    Column("SHIPID_X", Integer, nullable=False, index=True),  # one shipment = one ship operation
    Column("SHPVIA_X", MaxText(2), nullable=False, default=""),
    Column("CARRIER_X", MaxText(30), nullable=False, default=""),
    Column("TRACKNO_X", MaxText(60), nullable=False, default=""),
)

# Every tracking number of a shipment (several packages, several numbers). ``X_Shipment_Tracking`` keeps the first
# per shipped transaction, as before; a shipment without rows here reads its tracking from there.
x_shipment_package = Table(
    "X_Shipment_Package", metadata,
    Column("SHIPID_X", Integer, primary_key=True, autoincrement=False),  # -> X_Shipment_Tracking.SHIPID_X
    Column("SEQNUM_X", Integer, primary_key=True, autoincrement=False),  # 1, 2, ... in the order given
    Column("CARRIER_X", MaxText(30), nullable=False, default=""),
    Column("TRACKNO_X", MaxText(60), nullable=False),
)

# One row per change of a shipment's tracking numbers after it shipped (the shipment itself is read by SHIPID).
x_tracking_change = Table(
    "X_Tracking_Change", metadata,
    Column("CHGSEQ_X", Integer, primary_key=True, autoincrement=True),  # the ``since`` watermark of the read
    Column("SHIPID_X", Integer, nullable=False, index=True),  # -> X_Shipment_Tracking.SHIPID_X
    Column("CHGDTE_X", DateTime, nullable=False),  # UTC
)

# One row per payment received against an invoice (or part of one).
x_invoice_payment = Table(
    "X_Invoice_Payment", metadata,
    Column("PAYSEQ_X", Integer, primary_key=True, autoincrement=True),  # the ``since`` watermark of the read
    Column("INVCE_X", MaxText(8), nullable=False, index=True),  # -> Invoice_Master.INVCE_31
    Column("PAYDTE_X", Date, nullable=False),
    Column("PAYAMT_X", AMOUNT, nullable=False),
)

# The stock effect of a credit-memo line (contract element RESTCK_28): one row per CR line that states it.
x_credit_restock = Table(
    "X_Credit_Restock", metadata,
    Column("ORDNUM_X", MaxText(8), primary_key=True),  # -> SO_Detail (STYPE CR)
    Column("LINNUM_X", MaxText(2), primary_key=True),
    Column("DELNUM_X", MaxText(2), primary_key=True),
    Column("RESTCK_X", MaxText(1), nullable=False),  # Y: the goods came back to stock; N: no stock effect
    Column("TNXSEQ_X", Integer, nullable=True),  # -> Transaction_History receipt (R); null when nothing moved
)

x_gateway_counter = Table(
    "X_Gateway_Counter", metadata,
    Column("COUNTER_X", MaxText(10), primary_key=True),  # ORDNUM, INVCE, SHIPID
    Column("NEXTVAL_X", Integer, nullable=False),
    Column("LASTVAL_X", Integer, nullable=False),  # inclusive upper bound of the range
)

# Account data MAX's Customer_Master has no documented column for: one row per customer that has any.
x_customer_account = Table(
    "X_Customer_Account", metadata,
    Column("CUSTID_X", MaxText(20), primary_key=True),  # -> Customer_Master.CUSTID_23
    Column("PRCLST_X", MaxText(10), nullable=False, default=""),  # -> X_Price_List.PRCLST_X; blank: none
    Column("CRHOLD_X", MaxText(1), nullable=False, default="N"),  # Y: on credit hold
    Column("EMAIL_X", MaxText(80), nullable=False, default=""),  # the contact e-mail the site keeps; blank: none
    Column("VATID_X", MaxText(20), nullable=False, default=""),  # VAT / GST id; blank: none
)

# Price lists: a price per list, part and sales UOM (a case is priced as a case, under CS).
x_price_list = Table(
    "X_Price_List", metadata,
    Column("PRCLST_X", MaxText(10), primary_key=True),  # RETAIL, WHOLESALE, ...
    Column("PRTNUM_X", MaxText(30), primary_key=True),  # -> Part_Master.PRTNUM_01
    Column("SLSUOM_X", MaxText(2), primary_key=True),  # the UOM the price is per
    Column("PRICE_X", AMOUNT, nullable=False),
)
