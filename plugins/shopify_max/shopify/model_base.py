"""What every Shopify result model shares: the base model (camelCase aliases, frozen), connection flattening and
``userErrors``. :mod:`.models` and :mod:`.fulfilment_models` build on it; import them from :mod:`.models`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


def flatten_connections(value: Any) -> Any:
    """Replace every ``{"nodes": [...]}`` / ``{"edges": [{"node": ...}]}`` by its list of nodes."""
    if isinstance(value, dict):
        if "nodes" in value and isinstance(value["nodes"], list):
            return [flatten_connections(node) for node in value["nodes"]]
        if "edges" in value and isinstance(value["edges"], list):
            return [flatten_connections(edge["node"]) for edge in value["edges"]]
        return {key: flatten_connections(item) for key, item in value.items()}
    if isinstance(value, list):
        return [flatten_connections(item) for item in value]
    return value


class ShopifyModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class UserError(ShopifyModel):
    message: str
    field: list[str] | None = None
    code: str | None = None
    element_index: int | None = None

    @property
    def quantity_index(self) -> int | None:
        """For inventorySetQuantities: the index into ``quantities`` the error is about."""
        if self.field and len(self.field) >= 3 and self.field[1] == "quantities" and self.field[2].isdigit():
            return int(self.field[2])
        return None


def parse_user_errors(raw: list[dict[str, Any]] | None) -> list[UserError]:
    """A mutation payload's ``userErrors`` (absent or null: none)."""
    return [UserError.model_validate(error) for error in raw or []]
