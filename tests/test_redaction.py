"""Secrets never reach the audit log, XCom or task logs (tokens, Authorization headers, HMACs)."""

from __future__ import annotations

from shopify_max.redaction import REDACTED, redact, redact_text, register_secret


def test_values_under_secret_keys_are_replaced_whatever_they_are():
    headers = {
        "Authorization": "Basic dXNlcjpwYXNz",
        "X-Shopify-Access-Token": "anything-at-all",
        "X-Shopify-Hmac-Sha256": "c2lnbmF0dXJl",
        "Content-Type": "application/json",
        "nested": [{"password": "hunter2!"}, {"client_secret": "s3cr3t-value"}],
    }
    assert redact(headers) == {
        "Authorization": REDACTED,
        "X-Shopify-Access-Token": REDACTED,
        "X-Shopify-Hmac-Sha256": REDACTED,
        "Content-Type": "application/json",
        "nested": [{"password": REDACTED}, {"client_secret": REDACTED}],
    }


def test_a_registered_secret_is_replaced_inside_any_text():
    register_secret("gateway-pass-7781")
    assert redact_text("login failed for max:gateway-pass-7781 at 10:00") == f"login failed for max:{REDACTED} at 10:00"
    assert redact({"message": "<PASS>gateway-pass-7781</PASS>"}) == {"message": f"<PASS>{REDACTED}</PASS>"}


def test_credential_shaped_text_is_replaced_even_when_not_registered():
    assert "abcDEF123456789" not in redact_text("Authorization: Bearer abcDEF123456789")
    assert "shpat_1234567890abcdef" not in redact_text("token=shpat_1234567890abcdef in URL")


def test_short_values_are_not_registered_so_ordinary_text_survives():
    register_secret("ab")
    assert redact_text("about a blue cab") == "about a blue cab"


def test_ordinary_payloads_pass_through_unchanged():
    order = {"name": "#1001", "total_price": "12.50", "line_items": [{"sku": "SKU-00001", "quantity": 2}]}
    assert redact(order) == order
