"""The vendored Shopify Admin GraphQL schema (2026-07), loaded once per process.

Both the contract tests and the sandbox validate documents against this copy
(``include/vendor/shopify/admin-graphql-2026-07.json.gz``, see SOURCES.md there).
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache

from graphql import GraphQLError, GraphQLSchema, build_client_schema, parse, validate

from shopify_max.paths import INCLUDE_DIR

SCHEMA_VERSION = "2026-07"
SCHEMA_PATH = INCLUDE_DIR / "vendor" / "shopify" / f"admin-graphql-{SCHEMA_VERSION}.json.gz"


@lru_cache(maxsize=1)
def admin_schema() -> GraphQLSchema:
    """The real Admin API schema, built from the introspection JSON (graphql-core 3.2.x accepts it)."""
    with gzip.open(SCHEMA_PATH, "rt", encoding="utf-8") as handle:
        introspection = json.load(handle)
    return build_client_schema(introspection["data"])


def validation_errors(document_text: str) -> list[GraphQLError]:
    """Parse and validate ``document_text`` against the Admin schema; an empty list means valid."""
    try:
        document = parse(document_text)
    except GraphQLError as exc:
        return [exc]
    return list(validate(admin_schema(), document))
