"""Order fixtures start from Shopify's own example payload and change only what each case needs."""

from __future__ import annotations

import copy

import pytest
from order_payloads import EXAMPLE_ORDER, write_mapping_files

from shopify_max.mappings import load_mappings


@pytest.fixture
def mapping_dir(tmp_path):
    return write_mapping_files(tmp_path / "mappings")


@pytest.fixture
def mappings(mapping_dir):
    return load_mappings(mapping_dir)


@pytest.fixture
def example_payload():
    """Shopify's example orders/create payload, made live: the example is a cancelled test order."""
    payload = copy.deepcopy(EXAMPLE_ORDER)
    payload["cancelled_at"] = None
    payload["cancel_reason"] = None
    payload["test"] = False
    return payload
