"""The mapping tables users edit (``include/mappings/``), loaded and checked at load time.

Every problem is reported with the file and line, e.g.
``include/mappings/sku_to_part.csv line 14: uom_factor must be a whole number ≥ 1, got '0'``.
"""

from shopify_max.mappings.loader import MappingFileError, Mappings, load_mappings

__all__ = ["MappingFileError", "Mappings", "load_mappings"]
