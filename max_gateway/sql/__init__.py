"""The SQL both backends run on MAX's tables: the table model (``tables``, with ``MaxText`` for padded CHAR columns), the reads, and the read-only checks of a write (``write_checks``)."""
