"""Contract: every GraphQL document the project sends is valid against the real 2026-07 Admin schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import FieldNode, OperationDefinitionNode, OperationType, parse, visit
from graphql.language import Visitor

from sandboxes.shopify.schema import SCHEMA_PATH, admin_schema, validation_errors
from shopify_max.shopify import documents, fulfilment_documents, master_data_documents, refund_documents
from shopify_max.shopify.documents import ALL_DOCUMENTS, Document

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Mutations that take @idempotent(key:) (SHOPIFY.md §5): sending one without a key fails on 2026-04+.
IDEMPOTENT_MUTATIONS = {"inventorySetQuantities", "inventoryAdjustQuantities", "inventoryMoveQuantities",
                        "inventoryActivate", "refundCreate", "locationActivate", "locationDeactivate"}


def test_contract_uses_the_vendored_schema_not_a_shared_copy():
    assert SCHEMA_PATH.is_relative_to(PROJECT_ROOT / "include" / "vendor" / "shopify")
    assert admin_schema().mutation_type.fields["inventorySetQuantities"]


@pytest.mark.parametrize("name", sorted(ALL_DOCUMENTS))
def test_every_document_is_valid_against_the_2026_07_schema(name: str):
    errors = validation_errors(ALL_DOCUMENTS[name].text)
    assert errors == [], [e.message for e in errors]


def test_renaming_a_field_to_one_that_does_not_exist_fails_validation():
    original = documents.ORDERS_UPDATED.text
    broken = original.replace("displayFulfillmentStatus", "displayFulfilmentStatus", 1)
    assert broken != original
    messages = [e.message for e in validation_errors(broken)]
    assert any("displayFulfilmentStatus" in m for m in messages)


def test_the_pre_2026_04_compare_quantity_input_is_rejected():
    """2026-04 removed compareQuantity (SHOPIFY.md §5): a document still using it must fail the contract."""
    legacy = documents.INVENTORY_SET_QUANTITIES.text
    assert validation_errors(legacy) == []
    broken = ('mutation M { inventorySetQuantities(input: {name: "available", reason: "x", quantities: '
              '[{inventoryItemId: "1", locationId: "1", quantity: 1, compareQuantity: 1}]}) { userErrors { message } } }')
    assert any("compareQuantity" in e.message for e in validation_errors(broken))


def test_every_fulfilment_document_is_in_the_validated_registry():
    for document in fulfilment_documents.FULFILMENT_DOCUMENTS:
        assert ALL_DOCUMENTS[document.operation_name] is document


def test_every_refund_document_is_in_the_validated_registry():
    for document in refund_documents.REFUND_DOCUMENTS:
        assert ALL_DOCUMENTS[document.operation_name] is document


def test_every_master_data_document_is_in_the_validated_registry():
    for document in master_data_documents.MASTER_DATA_DOCUMENTS:
        assert ALL_DOCUMENTS[document.operation_name] is document


def test_every_document_has_a_unique_operation_name():
    names = [re.match(r"\s*(?:query|mutation)\s+(\w+)", d.text).group(1) for d in ALL_DOCUMENTS.values()]
    assert len(names) == len(set(names)) == len(ALL_DOCUMENTS)


def _mutation_fields(document: Document) -> list[FieldNode]:
    parsed = parse(document.text)
    return [selection for definition in parsed.definitions
            if isinstance(definition, OperationDefinitionNode) and definition.operation == OperationType.MUTATION
            for selection in definition.selection_set.selections if isinstance(selection, FieldNode)]


def test_mutations_that_take_an_idempotency_key_always_send_one():
    checked = 0
    for document in ALL_DOCUMENTS.values():
        for field in _mutation_fields(document):
            if field.name.value in IDEMPOTENT_MUTATIONS:
                checked += 1
                directives = {d.name.value for d in field.directives or ()}
                assert "idempotent" in directives, f"{document.operation_name} sends {field.name.value} without a key"
    assert checked >= 1


def _deprecated_fields_used(document: Document) -> list[str]:
    from graphql import TypeInfo, TypeInfoVisitor

    type_info = TypeInfo(admin_schema())
    used: list[str] = []

    class Collect(Visitor):
        def enter_field(self, node, *_):
            definition = type_info.get_field_def()
            if definition is not None and definition.deprecation_reason:
                used.append(f"{type_info.get_parent_type()}.{node.name.value}")

    visit(parse(document.text), TypeInfoVisitor(type_info, Collect()))
    return used


@pytest.mark.parametrize("name", sorted(ALL_DOCUMENTS))
def test_no_deprecated_fields_are_used(name: str):
    """Deprecated fields disappear in later versions; the project should not start on them."""
    assert _deprecated_fields_used(ALL_DOCUMENTS[name]) == []


def test_no_graphql_document_lives_outside_the_documents_modules():
    """One place for every document: no other library or DAG module embeds a query or mutation."""
    pattern = re.compile(r"""["']{3}\s*(query|mutation)\s+\w+\s*[({]""")
    document_modules = {Path(module.__file__).resolve()
                        for module in (documents, fulfilment_documents, refund_documents, master_data_documents)}
    offenders = []
    for folder in ("plugins", "dags"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            if path.resolve() in document_modules:
                continue
            if pattern.search(path.read_text(encoding="utf-8")):
                offenders.append(str(path.relative_to(PROJECT_ROOT)))
    assert offenders == []
