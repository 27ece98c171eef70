"""Remove secrets before anything reaches the audit log, XCom or task logs.

Three layers, applied together by :func:`redact`:
1. keys that name a secret (``Authorization``, ``X-Shopify-Access-Token``, ``password``, HMAC headers…)
   have their value replaced, whatever the value is;
2. secret values registered at run time (an access token read from a connection) are replaced
   wherever they appear inside any string;
3. credential-shaped text (``Bearer …``, ``Basic …``, ``shpat_…`` tokens) is replaced in free text.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

REDACTED = "***REDACTED***"

_SECRET_KEY_PATTERN = re.compile(
    r"(authorization|access[-_]?token|api[-_]?key|apikey|password|passwd|secret|hmac|signature|cookie|"
    r"client[-_]?secret|private[-_]?key|x-shopify-access-token|x-shopify-hmac-sha256|shopify-hmac-sha256)",
    re.IGNORECASE,
)
_CREDENTIAL_TEXT_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"),
    # Shopify Admin API tokens: shpat_ (custom app), shpca_, shppa_, shpss_ (shared secret).
    re.compile(r"\bshp(?:at|ca|pa|ss)_[A-Za-z0-9]{8,}\b"),
)

_registered_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret value so it is replaced wherever it appears later.

    Values shorter than 6 characters are ignored: replacing them would mangle ordinary text.
    """
    if not value or len(value) < 6:
        return
    with _lock:
        _registered_secrets.add(value)
    try:  # Also hand it to Airflow's masker, so task logs never print it.
        from airflow.sdk.log import mask_secret

        mask_secret(value)
    except Exception:  # noqa: BLE001 - outside Airflow (plain library use) there is no masker.
        pass


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY_PATTERN.search(key))


def redact_text(text: str) -> str:
    """Replace registered secret values and credential-shaped text inside a string."""
    with _lock:
        secrets = sorted(_registered_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _CREDENTIAL_TEXT_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def redact(value: Any) -> Any:
    """Return a copy of ``value`` (dicts, lists, strings, scalars) with every secret replaced."""
    if isinstance(value, Mapping):
        return {
            key: (REDACTED if isinstance(key, str) and is_secret_key(key) and val not in (None, "") else redact(val))
            for key, val in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
