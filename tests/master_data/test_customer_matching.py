"""Customer matching and the account-data push decision, on the B2B cases both sandboxes seed
(``sandboxes.master_data_cases``): each rule, the configured order, ambiguity both ways, re-runs."""

from __future__ import annotations

import pytest

from sandboxes import master_data_cases as cases
from sandboxes.exactmax.seed import CUSTOMERS
from shopify_max.master_data.customers import (
    MatchSettings,
    MaxAccount,
    PushSettings,
    ShopifyCustomer,
    account_changes,
    customer_set_input,
    desired_account,
    match_customers,
    normal_company,
    normal_phone,
    normal_postal_code,
)


def _max_accounts() -> list[MaxAccount]:
    accounts = []
    for i, (custid, name, _city, state, zip_code, country, terms, _via, taxes, taxable, currency) in enumerate(CUSTOMERS):
        price_list, hold, email, vat = cases.EXISTING_ACCOUNT_DATA[custid]
        accounts.append(MaxAccount(custid, name, email, cases.EXISTING_ACCOUNT_PHONES.get(custid, f"555-010{i}"),
                                   zip_code, country, terms, price_list, hold, taxable == "Y",
                                   tuple(t for t in taxes if t), (state,), vat, currency))
    for a in cases.NEW_ACCOUNTS:
        accounts.append(MaxAccount(a.custid, a.name, a.email, a.phone, a.zip_code, a.country, a.terms, a.price_list,
                                   a.credit_hold, a.taxable == "Y", tuple(t for t in a.tax_codes if t), (a.state,),
                                   a.vat_id, a.currency))
    return [a for a in accounts if a.custid != "WEB"]


def _shopify_customers() -> dict[str, ShopifyCustomer]:
    return {c.key: ShopifyCustomer(f"gid://shopify/Customer/{9000 + i}", c.email, c.phone, c.company, c.zip_code,
                                   c.country_code, metafields={"max.custid": c.custid_metafield}
                                   if c.custid_metafield else {})
            for i, c in enumerate(cases.SHOPIFY_CUSTOMERS)}


def _decisions(settings: MatchSettings, cross_reference: dict[str, str] | None = None) -> dict:
    shopify = _shopify_customers()
    key_of = {c.gid: key for key, c in shopify.items()}
    return {m.custid: (m.decision, m.rule, key_of.get(m.shopify_gid), tuple(key_of.get(g, g) for g in m.candidates))
            for m in match_customers(_max_accounts(), shopify.values(), settings, cross_reference)}


def test_each_rule_matches_its_case_in_the_default_order():
    decided = _decisions(MatchSettings())
    for custid, (rule, key) in cases.EXPECTED_MATCHES.items():
        assert decided[custid][:3] == ("matched", rule, key), custid
    for custid in cases.EXPECTED_AMBIGUOUS:
        assert decided[custid][0] == "ambiguous", custid
    for custid in cases.EXPECTED_UNMATCHED:
        assert decided[custid] == ("unmatched", None, None, ()), custid


def test_ambiguity_names_every_candidate_never_a_guess():
    decided = _decisions(MatchSettings())
    assert decided["PIONEER"] == ("ambiguous", "company_postal_code", None, ("pioneer_a", "pioneer_b"))
    # Two MAX accounts claim one Shopify customer: both ambiguous, each naming the customer and its rival.
    assert decided["CASCADE-01"] == ("ambiguous", "email", None, ("cascade", "CASCADE-02"))
    assert decided["CASCADE-02"] == ("ambiguous", "email", None, ("cascade", "CASCADE-01"))


def test_the_configured_order_decides():
    company_first = MatchSettings(rules=("custid_metafield", "email", "company_postal_code", "phone"))
    assert _decisions(company_first)["NYC-DIST"][:3] == ("matched", "company_postal_code", "empire_company")
    assert _decisions(MatchSettings())["NYC-DIST"][:3] == ("matched", "phone", "empire_phone")


def test_a_rule_left_out_is_not_used():
    decided = _decisions(MatchSettings(rules=("custid_metafield", "email")))
    assert decided["NYC-DIST"][0] == "unmatched"
    assert decided["NORTHWIND-CA"][0] == "unmatched"
    assert decided["GLOBEX"][:2] == ("matched", "custid_metafield")
    with pytest.raises(ValueError, match="unknown customer matching rule"):
        _decisions(MatchSettings(rules=("email", "vat")))


def test_id_map_is_a_claim_stronger_than_the_rules():
    shopify = _shopify_customers()
    decided = _decisions(MatchSettings(), {"BOLT-002": shopify["northwind"].gid})
    assert decided["BOLT-002"][:3] == ("matched", "id_map", "northwind")
    # NORTHWIND-CA finds the same customer by company + postal code: id_map's claim wins, and this one says so.
    assert decided["NORTHWIND-CA"] == ("unmatched", "company_postal_code", None, ("northwind", "BOLT-002"))


def test_a_metafield_a_person_sets_settles_a_duplicate_in_max():
    shopify = _shopify_customers()
    cascade = shopify["cascade"]
    shopify["cascade"] = ShopifyCustomer(cascade.gid, cascade.email, cascade.phone, cascade.company,
                                         cascade.zip_code, cascade.country_code,
                                         metafields={"max.custid": "CASCADE-02"})
    key_of = {c.gid: key for key, c in shopify.items()}
    decided = {m.custid: m for m in match_customers(_max_accounts(), shopify.values(), MatchSettings())}
    assert (decided["CASCADE-02"].decision, decided["CASCADE-02"].rule,
            key_of[decided["CASCADE-02"].shopify_gid]) == ("matched", "custid_metafield", "cascade")
    assert decided["CASCADE-01"].decision == "unmatched"
    assert "belongs to MAX account CASCADE-02" in decided["CASCADE-01"].reason


def test_a_metafield_beats_id_map():
    shopify = _shopify_customers()
    decided = _decisions(MatchSettings(), {"S1": shopify["globex"].gid})
    assert decided["GLOBEX"][:3] == ("matched", "custid_metafield", "globex")


def test_company_rule_needs_letters_and_the_same_country():
    settings = MatchSettings(rules=("company_postal_code",))
    accounts = [MaxAccount("RU-1", "ООО Ромашка 2", zip_code="10115", country="DE"),
                MaxAccount("US-1", "Acme Inc", zip_code="10115", country="US"),
                MaxAccount("NUM", "2", zip_code="10115", country="DE")]
    customers = [ShopifyCustomer("g1", company="Альфа 2", zip_code="10115", country_code="DE"),
                 ShopifyCustomer("g2", company="ACME GmbH", zip_code="10115", country_code="DE"),
                 ShopifyCustomer("g3", company="2", zip_code="10115", country_code="DE")]
    decided = {m.custid: m.decision for m in match_customers(accounts, customers, settings)}
    assert decided == {"RU-1": "unmatched", "US-1": "unmatched", "NUM": "unmatched"}
    assert normal_company("ООО Ромашка") == "ooo romashka"


@pytest.mark.parametrize(("raw", "expected"), [
    ("(212) 555-0143", "12125550143"), ("+1 212 555 0143", "12125550143"), ("212.555.0143", "12125550143"),
    ("555-0100", None), ("x12", None), ("0031 20 555 0101", "31205550101"),
])
def test_phone_normalising(raw, expected):
    assert normal_phone(raw, "1") == expected


def test_company_and_postal_code_normalising():
    assert normal_company("Empire Distribution, LLC") == normal_company("EMPIRE DISTRIBUTION") == "empire distribution"
    assert normal_company("Inc") is None
    assert normal_postal_code("m5h 2n2", "CA") == "M5H2N2"
    assert normal_postal_code("10001-1234", "US") == "10001"


def test_push_writes_only_what_differs_and_keeps_the_shops_own_tags():
    settings = PushSettings(tag_templates=("b2b", "max:{price_list}"), credit_hold_tag="credit-hold")
    bolt = next(a for a in _max_accounts() if a.custid == "BOLT-002")
    current = ShopifyCustomer("gid://shopify/Customer/1", tags=("vip", "max:RETAIL", "credit-hold"))
    desired = desired_account(bolt, current, settings, [])
    assert desired.tags == ("b2b", "credit-hold", "max:DEALER", "vip")
    assert desired.metafields == {"max.custid": "BOLT-002", "max.terms": "10", "max.price_list": "DEALER",
                                  "max.credit_hold": "true"}
    assert account_changes(desired, current)
    after = ShopifyCustomer("gid://shopify/Customer/1", tax_exempt=False, tags=desired.tags,
                            metafields=dict(desired.metafields))
    assert account_changes(desired_account(bolt, after, settings, []), after) == []
    values = customer_set_input(desired)
    assert "email" not in values and "firstName" not in values  # contact data stays Shopify's
    assert {m["key"] for m in values["metafields"]} == {"custid", "terms", "price_list", "credit_hold"}


def test_exempt_account_pushes_its_exemptions():
    globex = next(a for a in _max_accounts() if a.custid == "GLOBEX")
    desired = desired_account(globex, None, PushSettings(), ["US_TX_RESELLER_EXEMPTION"])
    assert desired.tax_exempt is True and desired.tax_exemptions == ("US_TX_RESELLER_EXEMPTION",)
    assert account_changes(desired, None) == ["new customer"]


def test_only_tags_a_template_could_have_made_are_replaced():
    settings = PushSettings(tag_templates=("b2b", "pl-{price_list}", "{terms}"), credit_hold_tag="credit-hold")
    bolt = next(a for a in _max_accounts() if a.custid == "BOLT-002")
    current = ShopifyCustomer("g", tags=("pl-RETAIL", "plumbing", "max:OLD", "credit-hold", "30", "b2b"))
    desired = desired_account(bolt, current, settings, [])
    # pl-RETAIL (an old price list) and credit-hold go or stay by MAX; the shop's own tags stay, including
    # "max:OLD" (no template makes it now) and "30" (a bare {terms} template claims nothing).
    assert desired.tags == ("10", "30", "b2b", "credit-hold", "max:OLD", "pl-DEALER", "plumbing")
