"""Apply ``airflow_settings.yaml`` (Astro CLI format) to plain Airflow: connections, pools, variables, with the
descriptions the UI shows (``conn_description``, ``pool_description``, ``variable_description``).

Run outside tasks (it writes Airflow's metadata DB):
    python -m shopify_max.airflow_glue.settings_loader airflow_settings.yaml

``${NAME}`` and ``${NAME:-default}`` in values are replaced from the environment. Re-running updates
what exists, so the command is safe to repeat. Errors name the file and the entry.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class SettingsFileError(ValueError):
    """The settings file is malformed; the message names the file and the entry."""


@dataclass
class AirflowSettings:
    connections: list[dict[str, Any]] = field(default_factory=list)
    pools: list[dict[str, Any]] = field(default_factory=list)
    variables: list[dict[str, Any]] = field(default_factory=list)


def expand_env(value: Any, environ: dict[str, str] | None = None) -> Any:
    """Replace ``${NAME}``/``${NAME:-default}`` in strings, recursively through dicts and lists."""
    environ = os.environ if environ is None else environ
    if isinstance(value, str):
        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in environ and environ[name] != "":
                return environ[name]
            if default is not None:
                return default
            raise KeyError(name)

        return _ENV_REFERENCE.sub(substitute, value)
    if isinstance(value, dict):
        return {key: expand_env(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [expand_env(item, environ) for item in value]
    return value


def read_settings(path: Path, environ: dict[str, str] | None = None) -> AirflowSettings:
    """Parse and check the file; every problem names ``path`` and the offending entry."""
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SettingsFileError(f"{path}: not valid YAML: {exc}") from exc
    section = document.get("airflow") or {}
    settings = AirflowSettings()
    for kind, required in (("connections", ("conn_id", "conn_type")), ("pools", ("pool_name", "pool_slot")),
                           ("variables", ("variable_name",))):
        entries = section.get(kind) or []
        if not isinstance(entries, list):
            raise SettingsFileError(f"{path}: airflow.{kind} must be a list")
        for position, entry in enumerate(entries, start=1):
            label = f"{path}: airflow.{kind}[{position}]"
            if not isinstance(entry, dict):
                raise SettingsFileError(f"{label} must be a mapping")
            try:
                entry = expand_env(entry, environ)
            except KeyError as exc:
                raise SettingsFileError(f"{label}: environment variable {exc.args[0]} is not set and has no default") from exc
            missing = [key for key in required if entry.get(key) in (None, "")]
            if missing:
                raise SettingsFileError(f"{label}: missing {', '.join(missing)}")
            getattr(settings, kind).append(entry)
    return settings


def _blank_to_none(value: Any) -> Any:
    return None if value in ("", None) else value


def apply_settings(settings: AirflowSettings) -> dict[str, int]:
    """Create or update each connection, pool and variable in Airflow's metadata DB."""
    from airflow.models import Connection, Pool, Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        for entry in settings.connections:
            conn = session.query(Connection).filter(Connection.conn_id == entry["conn_id"]).one_or_none()
            if conn is None:
                conn = Connection(conn_id=entry["conn_id"])
                session.add(conn)
            conn.conn_type = entry["conn_type"]
            conn.description = _blank_to_none(entry.get("conn_description"))
            conn.host = _blank_to_none(entry.get("conn_host"))
            conn.schema = _blank_to_none(entry.get("conn_schema"))
            conn.login = _blank_to_none(entry.get("conn_login"))
            conn.set_password(_blank_to_none(entry.get("conn_password")))
            port = _blank_to_none(entry.get("conn_port"))
            conn.port = int(port) if port is not None else None
            extra = entry.get("conn_extra")
            conn.set_extra(json.dumps(extra) if isinstance(extra, dict) else _blank_to_none(extra))
        for entry in settings.pools:
            Pool.create_or_update_pool(
                name=entry["pool_name"],
                slots=int(entry["pool_slot"]),
                description=entry.get("pool_description") or "",
                include_deferred=bool(entry.get("include_deferred", False)),
                session=session,
            )
        for entry in settings.variables:
            value = entry.get("variable_value")
            Variable.set(entry["variable_name"], "" if value is None else str(value),
                         description=_blank_to_none(entry.get("variable_description")), session=session)
    return {kind: len(getattr(settings, kind)) for kind in ("connections", "pools", "variables")}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "airflow_settings.yaml")
    try:
        counts = apply_settings(read_settings(path))
    except SettingsFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"applied {path}: {counts['connections']} connections, {counts['pools']} pools, {counts['variables']} variables")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
