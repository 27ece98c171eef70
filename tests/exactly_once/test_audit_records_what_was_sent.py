"""The audit log records exactly the document MAX was sent: with the connection's ``ascii_only`` on, the hook
transliterates the XML it sends, and the export's audit entry holds those bytes, not the document before
transliteration. The gateway is the real one, in its own process."""

from __future__ import annotations

import dataclasses
import json
from xml.etree.ElementTree import fromstring

from conftest import EXAMPLE_ORDER, example_order, stage_validated

from shopify_max.exactmax.hook import ExactMaxHook
from shopify_max.orders.pipeline import export_staged_orders

NON_ASCII_NAME = "Zoë Ångström"


def test_with_ascii_only_the_audit_entry_holds_the_transliterated_document_the_gateway_received(
        sync_store, mappings, gateway, monkeypatch):
    connection = json.loads(gateway.connection_env())
    connection["extra"]["ascii_only"] = True
    monkeypatch.setenv("AIRFLOW_CONN_EXACTMAX_DEFAULT", json.dumps(connection))
    # The mapping keeps the name as Shopify wrote it: only the hook's ascii_only transliterates it.
    keep = dataclasses.replace(mappings, rules=dataclasses.replace(mappings.rules, transliteration="keep"))
    order = example_order(shipping_address={**EXAMPLE_ORDER["shipping_address"], "name": NON_ASCII_NAME,
                                            "first_name": "Zoë", "last_name": "Ångström"})
    run_id = f"audit-{order.legacy_resource_id}"
    staged = stage_validated(sync_store, keep, order, run_id)
    assert json.loads(staged.mapped_json)["sales_order"]["NAME"] == NON_ASCII_NAME

    hook = ExactMaxHook(backoff_base=0.05, max_retry_wait=0.2)
    received: list[bytes] = []
    send = hook.session.request

    def capture(method, url, **kwargs):  # noqa: ANN001, ANN202 - requests.Session.request, passed through
        if method == "POST" and url.endswith("/sales-orders"):
            received.append(kwargs["data"])
        return send(method, url, **kwargs)

    monkeypatch.setattr(hook.session, "request", capture)
    assert export_staged_orders(sync_store, hook, run_id=run_id, task_id="export") == {"exported": 1}

    [entry] = [e for e in sync_store.audit_entries(entity="order", record_key=order.name)
               if (e["direction"], e["outcome"]) == ("shopify_to_max", "exported")]
    assert [entry["request"].encode("utf-8")] == received  # byte for byte what went over the wire
    sent_name = fromstring(received[0]).findtext("SO_Master_Table/SO_Master/NAME_27")
    assert sent_name == "Zoe Angstrom"
    [stored] = gateway.orders_for(json.loads(staged.mapped_json)["sales_order"]["CUSTPO"])
    assert stored["NAME_27"] == sent_name  # and what MAX holds is what the audit entry says was sent
    assert json.loads(entry["response"])["transliterations"][0]["original"] == NON_ASCII_NAME
