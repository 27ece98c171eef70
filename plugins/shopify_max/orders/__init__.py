"""Where a Shopify order becomes an Exact MAX sales order.

One module per concern, all pure functions (no I/O):
- ``outcome``: what mapping one order produced: a sales order, a skip with its reason, or errors;
  plus every rule applied on the way (recorded on the order's audit entry);
- ``text_rules``: MAX's 30-character fields: overflow, abbreviation, transliteration;
- ``addresses``: bill-to and ship-to into NAME/ADDR1..6/CITY/STATE/ZIPCD/CNTRY;
- ``customers``: which MAX account an order goes to (per-customer, web account, guest);
- ``allocation``: splitting amounts across lines to the cent;
- ``lines``: SKU → part, UOM, price, discounts and tax codes per line;
- ``totals``: lines − discounts + shipping + tax = Shopify total, to the cent;
- ``mapper``: the whole order, in that order.
"""
