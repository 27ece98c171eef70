"""``python -m max_gateway.max.writer_host``: MAXUpdate in a (32-bit) Python process of its own, driven by
:class:`~max_gateway.max.maxupdate.OutOfProcessSession` over JSON lines.

- stdin, first line: the :class:`~max_gateway.max.maxupdate.MaxUpdateSettings` as JSON. They come on stdin, never
  on the command line or in the environment, because the connection string is a secret.
- stdout, then: ``{"status": "ready"}``, or why initialisation failed (it is tried again on a later call).
- stdin, then: one request per line, ``{"id": n, "method": "...", "args": [...]}``, answered one at a time on
  stdout: ``{"id": n, "result": ...}`` or ``{"id": n, "error": {"kind": "com_error" | "unavailable" |
  "no_method", "message": "..."}}``. EOF on stdin ends the host.
- stderr: log lines ``LEVEL message``, which the gateway logs under ``max_gateway.max.writer_host``. Anything
  else that writes to stdout (the DLL, a library) is sent to stderr too, so stdout carries only answers.

The main thread is the single-threaded apartment: it creates the object and makes every call.

Tests only: a settings key ``"fake": "module:attribute"`` names a factory used instead of MAXUpdate. It is honoured
only when the environment has ``MAX_GATEWAY_ALLOW_FAKE_MAXUPDATE=1``, so configuration alone cannot point a
production host at a fake.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
from typing import TextIO

from max_gateway.max.maxupdate import (
    ALLOW_FAKE_ENV,
    MaxUpdateApartment,
    MaxUpdateMethodMissing,
    MaxUpdateOutcomeUnknown,
    MaxUpdateSettings,
    MaxUpdateUnavailable,
)

log = logging.getLogger(__name__)


def answer(apartment: MaxUpdateApartment, request: dict) -> dict:
    """The answer line to one request."""
    try:
        result = apartment.call(request["method"], request["args"])
    except MaxUpdateMethodMissing as exc:
        return {"id": request["id"], "error": {"kind": "no_method", "message": str(exc)}}
    except MaxUpdateUnavailable as exc:
        return {"id": request["id"], "error": {"kind": "unavailable", "message": str(exc)}}
    except MaxUpdateOutcomeUnknown as exc:
        return {"id": request["id"], "error": {"kind": "com_error", "message": str(exc)}}
    return {"id": request["id"], "result": result}


def _answers_only_stdout() -> TextIO:
    """A stream on the real stdout for answers; file descriptor 1 itself now points at stderr."""
    sys.stdout.flush()
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", newline="\n")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return answers


def _send(stream: TextIO, message: dict) -> None:
    stream.write(json.dumps(message, default=str) + "\n")  # default=str: an odd COM value never kills the host
    stream.flush()


def _fake_apartment(settings: MaxUpdateSettings, fake: str) -> MaxUpdateApartment:
    module_name, _, attribute = fake.partition(":")
    factory = getattr(importlib.import_module(module_name), attribute)
    return MaxUpdateApartment(settings, create_object=factory, co_initialize=lambda: None,
                              co_uninitialize=lambda: None)


def main() -> int:
    answers = _answers_only_stdout()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(message)s")
    first_line = sys.stdin.readline()
    if not first_line:
        log.error("no settings line on stdin")
        return 2
    values = json.loads(first_line)
    fake = values.pop("fake", None)
    if fake is not None and os.environ.get(ALLOW_FAKE_ENV) != "1":
        log.error("refusing the fake MAXUpdate %r: the host allows one only with %s=1 (tests)", fake, ALLOW_FAKE_ENV)
        return 2
    settings = MaxUpdateSettings(**values)
    apartment = _fake_apartment(settings, fake) if fake is not None else MaxUpdateApartment(settings)
    apartment.open()
    _send(answers, {"status": apartment.status})
    for line in sys.stdin:
        _send(answers, answer(apartment, json.loads(line)))
    apartment.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
