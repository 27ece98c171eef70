"""Master data: MAX customers, parts, prices and code tables checked against (and kept in step with) Shopify.

- ``customers.py``: which Shopify customer each MAX account is, and the account data pushed to it;
- ``coverage.py``: the items and prices coverage report (parts, variants, UOM factors, prices, taxable flags);
- ``code_checks.py``: every MAX code the mapping files name exists in MAX; recent Shopify values are mapped;
- ``tax_exemptions.py``: ``tax_exemptions.csv``, MAX tax code x state -> Shopify customer tax exemptions;
- ``rules.py``: ``master_data_rules.yaml``, the flow's settings.
"""
