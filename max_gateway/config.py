"""The gateway's settings: a TOML file (``--config`` or ``EXACTMAX_GATEWAY_CONFIG``), then environment variables,
then command-line flags, each overriding the one before.

```toml
backend = "max"                  # or "reference" (the default)
host = "0.0.0.0"
port = 8702
tls_certfile = 'C:\\max-gateway\\tls\\gateway.pem'   # both set: HTTPS
tls_keyfile = 'C:\\max-gateway\\tls\\gateway.key'
log_file = 'C:\\max-gateway\\logs\\gateway.log'

[auth]                           # the credentials the Airflow connection exactmax_default presents
username = "max-integration"     # Basic auth and/or a bearer token
password = "..."                 # better: EXACTMAX_GATEWAY_PASSWORD
token = "..."                    # better: EXACTMAX_GATEWAY_TOKEN

[reference]
database_url = "sqlite:///exactmax-gateway.sqlite"
ordnum_first = 100001
ordnum_last = 99999999

[max]
database_url = "mssql+mssqlpython://max_gateway_reader@maxsql/ExactMAX?authentication=ActiveDirectoryIntegrated"
read_schema = "max_gateway"      # the schema of the views the reads use (docs/max-gateway-deployment.md)
read_isolation = "snapshot"      # or "read_committed" where READ_COMMITTED_SNAPSHOT is on
max_user = "SHOPIFY"             # USERNAME_39 on the receipts the gateway posts
journal_path = 'C:\\max-gateway\\state\\journal.sqlite'   # the writer's journal of unfinished writes

[max.maxupdate]                  # MAXUpdate's Initialize(...) and where it runs
connection_string = "..."        # OLE DB string MAXUpdate opens; better: EXACTMAX_GATEWAY_MAXUPDATE_CONNECTION_STRING
company = "Sample Company"
license_path = 'C:\\EXACT\\RMServer\\LIC'
log_path = 'C:\\max-gateway\\logs\\maxupdate'
host_python = 'C:\\Python311-32\\python.exe'
call_timeout_seconds = 120
```

Secrets (passwords, the token, connection strings) are ``SecretStr``: they never appear in a repr, a log line or
:meth:`GatewaySettings.summary`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from sqlalchemy.engine import make_url

from max_gateway.app import GatewayAuth

ENVIRONMENT = {  # variable -> (section, key)
    "EXACTMAX_GATEWAY_BACKEND": ("", "backend"),
    "EXACTMAX_GATEWAY_USERNAME": ("auth", "username"),
    "EXACTMAX_GATEWAY_USER": ("auth", "username"),  # after USERNAME: USER wins when both are set
    "EXACTMAX_GATEWAY_PASSWORD": ("auth", "password"),
    "EXACTMAX_GATEWAY_TOKEN": ("auth", "token"),
    "EXACTMAX_GATEWAY_DATABASE_URL": ("reference", "database_url"),
    "EXACTMAX_GATEWAY_MAX_DATABASE_URL": ("max", "database_url"),
    "EXACTMAX_GATEWAY_MAXUPDATE_CONNECTION_STRING": ("max.maxupdate", "connection_string"),
    "EXACTMAX_GATEWAY_MAXUPDATE_COMPANY": ("max.maxupdate", "company"),
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuthSettings(_Section):
    username: str | None = None
    password: SecretStr | None = None
    token: SecretStr | None = None

    def gateway_auth(self) -> GatewayAuth:
        return GatewayAuth(self.username, self.password.get_secret_value() if self.password else None,
                           self.token.get_secret_value() if self.token else None)


class ReferenceSettings(_Section):
    database_url: SecretStr = SecretStr("sqlite:///exactmax-gateway.sqlite")  # may hold a password
    ordnum_first: int = Field(100001, ge=1)
    ordnum_last: int = Field(99999999, le=99999999)


class MaxUpdateConfig(_Section):
    connection_string: SecretStr
    company: str
    license_path: str = ""
    log_path: str = ""
    error_report: bool = False
    com_class: str = "{34E27738-7E0B-474F-AC7F-F767840B265B}"
    host_python: str | None = None
    call_timeout_seconds: float = Field(120.0, gt=0)


class MaxSettings(_Section):
    database_url: SecretStr
    read_schema: str | None = "max_gateway"
    read_isolation: Literal["snapshot", "read_committed"] = "snapshot"
    lock_timeout_ms: int = Field(10_000, ge=0)
    max_user: str = Field("", max_length=100)
    journal_path: Path = Path("max-gateway-journal.sqlite")  # the writer's journal (max_gateway/max/journal.py)
    maxupdate: MaxUpdateConfig


class GatewaySettings(_Section):
    backend: Literal["reference", "max"] = "reference"
    host: str = "127.0.0.1"
    port: int = Field(8702, ge=1, le=65535)
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None
    log_file: Path | None = None
    auth: AuthSettings = AuthSettings()
    reference: ReferenceSettings = ReferenceSettings()
    max: MaxSettings | None = None

    @model_validator(mode="after")
    def _complete(self) -> GatewaySettings:
        if self.backend == "max" and self.max is None:
            raise ValueError("backend 'max' needs a [max] section (database_url and [max.maxupdate])")
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("set both tls_certfile and tls_keyfile, or neither")
        return self

    def summary(self) -> dict:
        """What the gateway logs at startup: every setting, no secret (URL passwords masked)."""
        summary = {"backend": self.backend, "listen": f"{self.host}:{self.port}",
                   "tls": self.tls_certfile is not None, "auth": {"basic": self.auth.username is not None,
                                                                  "token": self.auth.token is not None}}
        if self.backend == "reference":
            summary["database"] = _masked_url(self.reference.database_url.get_secret_value())
        elif self.max is not None:
            summary |= {"database": _masked_url(self.max.database_url.get_secret_value()),
                        "read_schema": self.max.read_schema, "read_isolation": self.max.read_isolation,
                        "maxupdate": {"company": self.max.maxupdate.company,
                                      "out_of_process": self.max.maxupdate.host_python is not None}}
        return summary


_SECRET_QUERY_KEYS = frozenset({"pwd", "password", "pass", "secret", "token", "accesstoken", "access_token"})


def _masked_url(url: str) -> str:
    """The URL for a log line: the password and every secret-looking query value masked; an unreadable URL (a
    password with an unescaped '@' or ':') is not shown at all, since its parse error could quote part of it."""
    try:
        parsed = make_url(url)
        query = {key: "***" if key.lower() in _SECRET_QUERY_KEYS else value for key, value in parsed.query.items()}
        return parsed.set(query=query).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - any parse error: show nothing of it
        return "(a URL that cannot be parsed: escape '@', ':' and '/' in its password)"


class SettingsError(ValueError):
    """The settings are invalid. The message names each setting and what is wrong, never a value: a value may be a
    secret (pydantic's own message quotes the input)."""


def load_settings(path: Path | None = None, environ: dict[str, str] | None = None,
                  overrides: dict | None = None) -> GatewaySettings:
    """The file (if any), then the environment, then ``overrides`` (``{"port": 9000, "auth": {...}}``)."""
    environ = os.environ if environ is None else environ
    path = path or (Path(environ["EXACTMAX_GATEWAY_CONFIG"]) if environ.get("EXACTMAX_GATEWAY_CONFIG") else None)
    data: dict = tomllib.loads(path.read_text(encoding="utf-8")) if path else {}
    for variable, (section, key) in ENVIRONMENT.items():
        if environ.get(variable):
            _set(data, section, key, environ[variable])
    for key, value in (overrides or {}).items():
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                _set(data, key, inner, inner_value)
        elif value is not None:
            data[key] = value
    try:
        return GatewaySettings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(part) for part in error['loc']) or 'settings'}: {error['msg']}"
                             for error in exc.errors(include_input=False, include_url=False))
        raise SettingsError(f"invalid gateway settings ({path or 'environment and flags'}): {problems}") from None


def _set(data: dict, section: str, key: str, value: object) -> None:
    if value is None:
        return
    target = data
    for part in filter(None, section.split(".")):
        target = target.setdefault(part, {})
    target[key] = value
