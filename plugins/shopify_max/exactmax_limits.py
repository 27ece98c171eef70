"""Exact MAX field lengths from the MAXUpdate record layouts (EXACTMAX.md, "Field lengths").

One table, used by the MAX document models (``exactmax/models.py``), the mapping loader, the order mapping and
the validation suite alike.
"""

FIELD_LENGTHS: dict[str, int] = {
    "ORDNUM": 8,
    "CUSTID": 20,
    "PRTNUM": 30,
    "LINNUM": 2,
    "DELNUM": 2,
    "CUSTPO": 25,
    "NAME": 30,
    "ADDR": 30,  # ADDR1..ADDR6
    "CITY": 30,
    "STATE": 30,
    "ZIPCD": 30,
    "CNTRY": 30,
    "PHONE": 20,
    "CNTCT": 20,
    "SHPCDE": 10,
    "TERMS": 2,
    "SHPVIA": 2,
    "SLSUOM": 2,
    "TAXCD": 7,
    "CURR": 3,
    "FOB": 15,
    "STK": 8,
    "COMNT": 30,  # COMNT1..COMNT3
    "UDFKEY": 15,
    "UDFREF": 25,
    "INVCE": 8,
    "APPINV": 8,  # the invoice a credit memo credits: an invoice number
    "SO_NOTE": 50,
    # Not in EXACTMAX.md's table: the lengths the reference gateway declares (max_gateway/sql/tables.py).
    "REASON": 2,
    "SLSREP": 3,
    "TXEXEM": 20,
}

MAX_LINES_PER_ORDER = 10 ** FIELD_LENGTHS["LINNUM"] - 1  # LINNUM is 2 digits: 01..99
ADDRESS_LINES = 6  # ADDR1..ADDR6
TAX_CODE_SLOTS = 3  # TAXCD1..TAXCD3 per header and per line
NUMBER_INTEGER_DIGITS = 12  # amounts and quantities: at most 12 digits before the point (the gateway's number rule)
NUMBER_DECIMAL_PLACES = 6  # ... and at most 6 after it
# Dates travel as yyMMdd (EXACTMAX.md): a two-digit year reads back as 1969-2068 (the POSIX %y pivot the
# gateway parses with), so a date outside those years would come back in the wrong century.
YYMMDD_FIRST_YEAR = 1969
YYMMDD_LAST_YEAR = 2068
