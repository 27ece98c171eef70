"""``python -m max_gateway.smoke_test``: check a freshly installed gateway from where Airflow will call it.

1. ``GET /health``: the backend answers, and on ``max`` its writer is ``ready``;
2. one read of each kind the flows use;
3. one write the gateway must refuse before MAXUpdate sees it (an order for a part that cannot exist): MAXUpdate
   has no validate-only mode, so this is the closest to a dry run.

Prints one line per check; exits 1 on the first failure. Standard library only, so it runs on any machine.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from xml.etree.ElementTree import Element, SubElement, tostring

IMPOSSIBLE_PART = "SMOKE-TEST-NO-SUCH-PART-000000"  # 30 characters (PRTNUM holds 30): valid length, never a real part


class SmokeTestFailed(Exception):
    pass


class Gateway:
    def __init__(self, url: str, authorization: str, insecure: bool) -> None:
        self.url = url.rstrip("/")
        self.authorization = authorization
        self.context = ssl._create_unverified_context() if insecure else None  # noqa: S323 - opt-in, self-signed

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, object]:
        request = urllib.request.Request(self.url + path, data=body, method=method, headers={
            "Authorization": self.authorization, "Accept": "application/json",
            **({"Content-Type": "application/xml"} if body is not None else {})})
        try:
            with urllib.request.urlopen(request, timeout=60, context=self.context) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


def check(label: str, ok: bool, detail: object = "") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {label}{f': {detail}' if detail and not ok else ''}")
    if not ok:
        raise SmokeTestFailed(label)


def impossible_order(custid: str) -> bytes:
    root = Element("eMAXExact")
    header = SubElement(SubElement(root, "SO_Master_Table"), "SO_Master")
    for tag, value in (("ORDNUM_27", ""), ("CUSTID_27", custid), ("STYPE_27", "CU"), ("STATUS_27", "3"),
                       ("CUSTPO_27", "SMOKE-TEST"), ("ORDDTE_27", date.today().strftime("%y%m%d"))):
        SubElement(header, tag).text = value
    line = SubElement(header, "SO_Detail")
    for tag, value in (("LINNUM_28", "01"), ("PRTNUM_28", IMPOSSIBLE_PART), ("PRICE_28", "1.00"), ("ORGQTY_28", "1")):
        SubElement(line, tag).text = value
    return tostring(root, encoding="utf-8", xml_declaration=True)


def run(gateway: Gateway) -> None:
    status, health = gateway.request("GET", "/health")
    check("GET /health answers", status == 200, health)
    if health.get("backend") == "max":
        check("MAXUpdate writer is ready", health.get("writer") == "ready", health.get("writer"))
    reads = ["/parts?limit=1", "/stock?limit=1", "/customers?limit=1", "/code-tables", "/shipments?limit=1",
             "/shipments/tracking-changes?limit=1", "/invoices?limit=1", "/payments?limit=1",
             "/sales-orders?custpo=SMOKE-TEST"]
    for path in reads:
        status, body = gateway.request("GET", path)
        check(f"GET {path}", status == 200, body)
    status, codes = gateway.request("GET", "/code-tables")
    for price_list in codes.get("price_lists", [])[:1]:
        path = f"/price-lists/{urllib.parse.quote(price_list['code'])}/prices?limit=1"
        status, body = gateway.request("GET", path)
        check(f"GET {path}", status == 200, body)
    status, customers = gateway.request("GET", "/customers?limit=1")
    custid = (customers.get("items") or [{}])[0].get("CUSTID_23", "SMOKE")
    status, body = gateway.request("POST", "/sales-orders", impossible_order(custid))
    rules = [error.get("rule") for error in (body or {}).get("errors", [])] if isinstance(body, dict) else []
    check("an order for a part that cannot exist is refused before MAXUpdate (422 unknown_part)",
          status == 422 and "unknown_part" in rules, body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m max_gateway.smoke_test", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="https://host:port of the gateway")
    parser.add_argument("--username", help="Basic auth user (password: EXACTMAX_GATEWAY_PASSWORD)")
    parser.add_argument("--token", default=os.environ.get("EXACTMAX_GATEWAY_TOKEN"),
                        help="bearer token (env EXACTMAX_GATEWAY_TOKEN)")
    parser.add_argument("--insecure", action="store_true", help="accept a self-signed certificate")
    args = parser.parse_args(argv)
    if args.username:
        secret = f"{args.username}:{os.environ.get('EXACTMAX_GATEWAY_PASSWORD', '')}".encode()
        authorization = "Basic " + base64.b64encode(secret).decode()
    elif args.token:
        authorization = f"Bearer {args.token}"
    else:
        parser.error("give --username (with EXACTMAX_GATEWAY_PASSWORD) or --token")
    try:
        run(Gateway(args.url, authorization, args.insecure))
    except SmokeTestFailed:
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
