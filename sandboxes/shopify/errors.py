"""The sandbox's business-rule failure: it becomes a ``userErrors`` entry, as Shopify reports it."""

from __future__ import annotations

from typing import Any


class SandboxUserError(Exception):
    """A business-rule failure that becomes a ``userErrors`` entry."""

    def __init__(self, message: str, field: list[str] | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message, self.field, self.code = message, field, code

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.message, "field": self.field, "code": self.code}
