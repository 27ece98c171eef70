"""Any text the model accepts survives the XML builder and the gateway's parser unchanged."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from max_gateway_helpers import make_order

from max_gateway.xml_rules import SO_MASTER_FIELDS, parse_document, parse_record
from shopify_max.exactmax.xml_builder import build_sales_order_xml

# XML 1.0 cannot carry control characters (other than tab and newline) and normalises CR to LF.
xml_text = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc"), include_characters="\t\n"),
                   min_size=1, max_size=30).filter(lambda s: s.strip() != "")


@settings(max_examples=200, deadline=None)
@given(name=xml_text, city=xml_text)
def test_any_legal_text_round_trips_through_the_xml_builder_and_parser(name: str, city: str) -> None:
    document = build_sales_order_xml(make_order("PO-RT", NAME=name, CITY=city))
    errors: list = []
    record = parse_record(parse_document(document.xml, "SO_Master_Table", "SO_Master"), SO_MASTER_FIELDS, errors,
                          child_tags=("SO_Detail",))
    assert errors == []
    assert (record.values["NAME_27"], record.values["CITY_27"]) == (name, city)


@settings(max_examples=100, deadline=None)
@given(name=xml_text)
def test_ascii_only_output_is_ascii_and_every_change_is_recorded(name: str) -> None:
    document = build_sales_order_xml(make_order("PO-RT", NAME=name), ascii_only=True)
    assert document.xml.isascii()
    assert [t.original for t in document.transliterations] == ([] if name.isascii() else [name])
