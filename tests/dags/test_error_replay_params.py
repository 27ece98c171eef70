"""The error_replay trigger form: the params the error-queue page triggers with (the contract), how Airflow 3.3's
form shows them (no `*` on optional fields, a label for every choice, none reading a bare `null`), and the stage
choices kept in step with the registry."""

from __future__ import annotations

import pytest

from shopify_max.error_queue_actions import ACTIONS
from shopify_max.sync_store.states import ERROR_STAGES, ErrorStatus

CONTRACT = ["action", "item_ids", "entity", "stage", "status", "reason_contains", "record_keys", "note"]


@pytest.fixture(scope="module")
def params(dag_bag):
    return dag_bag.dags["error_replay"].params


def _schema(params, name):
    return params.get_param(name).schema


def test_the_params_are_the_contract_with_its_defaults(params):
    assert list(params.keys()) == CONTRACT
    assert params.dump() == {"action": "replay", "item_ids": [], "entity": None, "stage": None, "status": "open",
                             "reason_contains": None, "record_keys": [], "note": None}
    assert sorted(_schema(params, "action")["enum"]) == sorted(ACTIONS)
    assert _schema(params, "status")["enum"] == [status.value for status in ErrorStatus]
    assert _schema(params, "item_ids")["items"] == {"type": "integer"}


def test_stage_and_entity_choices_are_the_registrys(params):
    stages = list(dict.fromkeys(stage.value for enum in ERROR_STAGES.values() for stage in enum))  # "map": twice
    assert _schema(params, "stage")["enum"] == [None, *stages]
    assert _schema(params, "entity")["enum"] == [None, *(entity.value for entity in ERROR_STAGES)]


@pytest.mark.parametrize("name", ["item_ids", "entity", "stage", "reason_contains", "record_keys", "note"])
def test_optional_params_are_not_marked_required(params, name):
    """Airflow's form marks a field required (`*`) when its type does not allow null."""
    assert "null" in _schema(params, name)["type"]


@pytest.mark.parametrize("name", ["action", "entity", "stage"])
def test_every_choice_has_a_label_and_none_reads_null(params, name):
    """The form labels a choice by values_display[str(value)], null by values_display["null"]."""
    schema = _schema(params, name)
    labels = schema["values_display"]
    for value in schema["enum"]:
        key = "null" if value is None else str(value)
        assert key in labels and labels[key] != "null", (name, value)


@pytest.mark.parametrize("conf", [
    {"action": "resolve", "item_ids": [42], "note": "MAX order changed by hand"},
    {"action": "refetch", "entity": "order", "stage": "capture"},
    {"entity": "inventory", "status": "open", "record_keys": None},
])
def test_the_confs_the_page_sends_validate(params, conf):
    for name, value in conf.items():
        assert params.get_param(name).resolve(value) == value


def test_a_stage_outside_the_registry_is_refused_by_the_form(params):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        params.get_param("stage").resolve("bogus")
