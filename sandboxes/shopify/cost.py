"""Query cost and the leaky bucket, by Shopify's documented rules (SHOPIFY.md §2).

Scalars and enums cost 0, objects 1, connections 2 + size × (cost of one node) where size is ``first``
or ``last``; each top-level mutation field costs 10. The bucket restores ``restore_rate`` points per second
up to ``bucket_size``; a request whose requested cost exceeds what is available is THROTTLED.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
    value_from_ast_untyped,
)

MUTATION_COST = 10
SINGLE_QUERY_MAX_COST = 1000
PRESETS: dict[str, tuple[float, float]] = {  # name -> (bucket size, restore rate per second)
    "standard": (2000.0, 100.0),
    "advanced": (4000.0, 200.0),
    "plus": (20000.0, 1000.0),
}


def requested_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
) -> int:
    """The requested cost of ``operation`` with ``variables`` applied."""
    if operation.operation == OperationType.MUTATION:
        fields = [sel for sel in operation.selection_set.selections if isinstance(sel, FieldNode)]
        return MUTATION_COST * max(1, len([f for f in fields if not f.name.value.startswith("__")]))
    return _selection_cost(schema, schema.query_type, operation.selection_set, fragments, variables)


def _selection_cost(schema, parent_type, selection_set: SelectionSetNode | None, fragments, variables) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            total += _field_cost(schema, parent_type, selection, fragments, variables)
        elif isinstance(selection, InlineFragmentNode):
            target = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent_type
            total += _selection_cost(schema, target, selection.selection_set, fragments, variables)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            target = schema.get_type(fragment.type_condition.name.value)
            total += _selection_cost(schema, target, fragment.selection_set, fragments, variables)
    return total


def _argument(field: FieldNode, name: str, variables: dict[str, Any]) -> Any:
    for argument in field.arguments or ():
        if argument.name.value == name:
            return value_from_ast_untyped(argument.value, variables)
    return None


def _field_cost(schema, parent_type, field: FieldNode, fragments, variables) -> int:
    name = field.name.value
    if name.startswith("__") or not hasattr(parent_type, "fields") or name not in parent_type.fields:
        return 0
    field_type = get_named_type(parent_type.fields[name].type)
    if is_leaf_type(field_type):
        return 0
    if field_type.name.endswith("Connection") and isinstance(field_type, GraphQLObjectType):
        size = _argument(field, "first", variables) or _argument(field, "last", variables) or 0
        per_node = 0
        for selection in field.selection_set.selections if field.selection_set else ():
            if not isinstance(selection, FieldNode):
                continue
            if selection.name.value == "nodes":
                per_node += 1 + _selection_cost(
                    schema, get_named_type(field_type.fields["nodes"].type), selection.selection_set, fragments,
                    variables)
            elif selection.name.value == "edges":
                edge_type = get_named_type(field_type.fields["edges"].type)
                per_node += _selection_cost(schema, edge_type, selection.selection_set, fragments, variables)
        return 2 + int(size) * per_node
    ids = _argument(field, "ids", variables)
    count = len(ids) if isinstance(ids, list) else 1  # nodes(ids:) costs once per id
    return count * (1 + _selection_cost(schema, field_type, field.selection_set, fragments, variables))


def actual_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    data: dict[str, Any] | None,
) -> int:
    """The cost of what was returned: connections count the nodes they actually hold (Shopify refunds the rest)."""
    if operation.operation == OperationType.MUTATION:
        return requested_cost(schema, operation, fragments, {})
    return _actual_selection(schema, schema.query_type, operation.selection_set, fragments, data)


def _actual_selection(schema, parent_type, selection_set, fragments, data) -> int:
    if selection_set is None or not isinstance(data, dict):
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            total += _actual_field(schema, parent_type, selection, fragments, data)
        elif isinstance(selection, InlineFragmentNode):
            target = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent_type
            if data.get("__typename") in (None, target.name) or not isinstance(target, GraphQLObjectType):
                total += _actual_selection(schema, target, selection.selection_set, fragments, data)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            target = schema.get_type(fragment.type_condition.name.value)
            total += _actual_selection(schema, target, fragment.selection_set, fragments, data)
    return total


def _actual_field(schema, parent_type, field: FieldNode, fragments, data: dict[str, Any]) -> int:
    name = field.name.value
    if name.startswith("__") or not hasattr(parent_type, "fields") or name not in parent_type.fields:
        return 0
    field_type = get_named_type(parent_type.fields[name].type)
    value = data.get(field.alias.value if field.alias else name)
    if is_leaf_type(field_type) or value is None:
        return 0
    if isinstance(value, list):
        if field.name.value == "nodes" and any(a.name.value == "ids" for a in field.arguments or ()):
            return sum(1 + _actual_selection(schema, field_type, field.selection_set, fragments, item)
                       for item in value if isinstance(item, dict))
        value = next((item for item in value if isinstance(item, dict)), None)
        if value is None:
            return 0
    if field_type.name.endswith("Connection") and isinstance(field_type, GraphQLObjectType):
        total = 2
        for selection in field.selection_set.selections if field.selection_set else ():
            if not isinstance(selection, FieldNode):
                continue
            key = selection.alias.value if selection.alias else selection.name.value
            if selection.name.value == "nodes":
                node_type = get_named_type(field_type.fields["nodes"].type)
                total += sum(1 + _actual_selection(schema, node_type, selection.selection_set, fragments, node)
                             for node in value.get(key) or [])
            elif selection.name.value == "edges":
                edge_type = get_named_type(field_type.fields["edges"].type)
                total += sum(_actual_selection(schema, edge_type, selection.selection_set, fragments, edge)
                             for edge in value.get(key) or [])
        return total
    return 1 + _actual_selection(schema, field_type, field.selection_set, fragments, value)


@dataclass
class ThrottleStatus:
    maximum_available: float
    currently_available: float
    restore_rate: float

    def as_dict(self) -> dict[str, float]:
        return {
            "maximumAvailable": float(self.maximum_available),
            "currentlyAvailable": int(self.currently_available),
            "restoreRate": float(self.restore_rate),
        }


class LeakyBucket:
    """Shopify's per app+shop cost bucket. Thread-safe."""

    def __init__(self, bucket_size: float, restore_rate: float) -> None:
        self._lock = threading.Lock()
        self.configure(bucket_size, restore_rate)

    def configure(self, bucket_size: float, restore_rate: float, currently_available: float | None = None) -> None:
        with self._lock:
            self.bucket_size = float(bucket_size)
            self.restore_rate = float(restore_rate)
            self._available = float(bucket_size if currently_available is None else currently_available)
            self._updated = time.monotonic()

    def _restore(self) -> None:
        now = time.monotonic()
        self._available = min(self.bucket_size, self._available + (now - self._updated) * self.restore_rate)
        self._updated = now

    def try_take(self, cost: float) -> tuple[bool, ThrottleStatus]:
        """Take ``cost`` points if available; return whether it was taken and the status after."""
        with self._lock:
            self._restore()
            taken = cost <= self._available
            if taken:
                self._available -= cost
            return taken, ThrottleStatus(self.bucket_size, self._available, self.restore_rate)

    def refund(self, points: float) -> ThrottleStatus:
        with self._lock:
            self._restore()
            self._available = min(self.bucket_size, self._available + max(0.0, points))
            return ThrottleStatus(self.bucket_size, self._available, self.restore_rate)

    def drain(self) -> None:
        with self._lock:
            self._available = 0.0
            self._updated = time.monotonic()

    def status(self) -> ThrottleStatus:
        with self._lock:
            self._restore()
            return ThrottleStatus(self.bucket_size, self._available, self.restore_rate)
