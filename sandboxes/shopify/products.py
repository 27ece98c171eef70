"""Product writes of the sandbox shop, mixed into the store: ``productVariantsBulkUpdate``.

Validates as the 2026-07 schema's ``ProductVariantsBulkUpdateUserErrorCode`` names it: the product must exist
(PRODUCT_DOES_NOT_EXIST), each input names a variant (PRODUCT_VARIANT_ID_MISSING) that exists
(PRODUCT_VARIANT_DOES_NOT_EXIST) and belongs to that product (MUST_BE_FOR_THIS_PRODUCT), a price is not negative
(GREATER_THAN_OR_EQUAL_TO), inventory quantities are for creates only (NO_INVENTORY_QUANTITIES_ON_VARIANTS_UPDATE).
Without ``allowPartialUpdates`` one bad variant stops them all. Fields the sandbox applies: price, compareAtPrice,
taxable, barcode; the rest of ``ProductVariantsBulkInput`` is accepted and ignored.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sandboxes.shopify.errors import SandboxUserError
from sandboxes.shopify.orders import CENT, iso
from shopify_max.clock import utcnow


def _money(value: Any) -> Decimal | None:
    """A ``Money`` input (a decimal string) as a Decimal; None when it is not one."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


class ProductMixin:
    """``self`` is a :class:`~sandboxes.shopify.store.SandboxStore`."""

    products: dict[str, dict[str, Any]]
    variants: dict[str, dict[str, Any]]

    def update_variants(self, product_gid: str, inputs: list[dict[str, Any]], allow_partial: bool = False
                        ) -> tuple[dict[str, Any] | None, list[dict[str, Any]] | None, list[dict[str, Any]]]:
        """(product, updated variants, userErrors)."""
        product = self.products.get(product_gid)
        if product is None:
            return None, None, [SandboxUserError("Product does not exist", ["productId"],
                                                 "PRODUCT_DOES_NOT_EXIST").as_dict()]
        errors: list[dict[str, Any]] = []
        valid: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for index, values in enumerate(inputs):
            problem = self._variant_problem(product, values, ["variants", str(index)])
            if problem is None:
                valid.append((self.variants[values["id"]], values))
            else:
                errors.append(problem.as_dict())
        if errors and not allow_partial:
            return product, None, errors
        now = iso(utcnow())
        updated = []
        for variant, values in valid:
            before = (variant["price"], variant.get("compareAtPrice"), variant["taxable"], variant.get("barcode"))
            if values.get("price") is not None:
                variant["price"] = str(_money(values["price"]).quantize(CENT))
            if "compareAtPrice" in values:
                compare = values["compareAtPrice"]
                variant["compareAtPrice"] = None if compare is None else str(_money(compare).quantize(CENT))
            if values.get("taxable") is not None:
                variant["taxable"] = bool(values["taxable"])
            if "barcode" in values:
                variant["barcode"] = values["barcode"]
            if (variant["price"], variant.get("compareAtPrice"), variant["taxable"], variant.get("barcode")) != before:
                variant["updatedAt"] = product["updatedAt"] = now
            updated.append(variant)
        return product, updated, errors

    def _variant_problem(self, product: dict[str, Any], values: dict[str, Any],
                         path: list[str]) -> SandboxUserError | None:
        if not values.get("id"):
            return SandboxUserError("Product variant is missing ID attribute", path + ["id"],
                                    "PRODUCT_VARIANT_ID_MISSING")
        variant = self.variants.get(values["id"])
        if variant is None:
            return SandboxUserError("Product variant does not exist", path + ["id"], "PRODUCT_VARIANT_DOES_NOT_EXIST")
        if variant["product"] is not product:
            return SandboxUserError("Input must be for this product", path + ["id"], "MUST_BE_FOR_THIS_PRODUCT")
        if values.get("inventoryQuantities"):
            return SandboxUserError("Inventory quantities can only be provided during create. To update inventory "
                                    "for existing variants, use inventoryAdjustQuantities.",
                                    path + ["inventoryQuantities"], "NO_INVENTORY_QUANTITIES_ON_VARIANTS_UPDATE")
        for field in ("price", "compareAtPrice"):
            if values.get(field) is None:
                continue
            amount = _money(values[field])
            if amount is None:
                return SandboxUserError(f"{field} is invalid", path + [field], "INVALID_INPUT")
            if amount < 0:
                return SandboxUserError("The price of the variant must be greater than or equal to zero.",
                                        path + [field], "GREATER_THAN_OR_EQUAL_TO")
        return None
