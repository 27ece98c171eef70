"""``python -m max_gateway.max.writer_host``: MAXUpdate in a (32-bit) Python process of its own, driven by
:class:`~max_gateway.max.maxupdate.OutOfProcessSession` over JSON lines.

- stdin, first line: the :class:`~max_gateway.max.maxupdate.MaxUpdateSettings` as JSON. They come on stdin, never
  on the command line or in the environment, because the connection string is a secret.
- stdout, then: ``{"status": "ready"}``, or why initialisation failed (it is tried again on a later call).
- stdin, then: one request per line, ``{"id": n, "method": "...", "args": [...]}``, answered one at a time on
  stdout: ``{"id": n, "result": ...}`` or ``{"id": n, "error": {"kind": "com_error" | "unavailable" |
  "no_method", "message": "..."}}``. EOF on stdin ends the host: normally when every request has been made (the
  gateway closed the session); at once, without answering, when one has not (the gateway is gone, and its call must
  not land later: see :mod:`max_gateway.max.maxupdate`). stdin is read on a thread of its own to see EOF during a
  call.
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
import queue
import sys
import threading
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
EXIT_GATEWAY_GONE = 3


class Requests:
    """The request lines on ``stream``, read on a daemon thread. At EOF with a request not yet made or still being
    made, the process exits at once; at EOF with every request made, :meth:`next` gives None."""

    def __init__(self, stream: TextIO) -> None:
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._pending = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._read, args=(stream,), name="requests", daemon=True).start()

    def next(self) -> str | None:
        return self._lines.get()

    def made(self) -> None:
        """The request :meth:`next` gave has been made: its outcome is final whatever happens to the host now."""
        with self._lock:
            self._pending -= 1

    def _read(self, stream: TextIO) -> None:
        for line in stream:
            with self._lock:
                self._pending += 1
            self._lines.put(line)
        with self._lock:
            if self._pending:
                os._exit(EXIT_GATEWAY_GONE)  # no log line: a write to the dead gateway's stderr pipe could block
            self._lines.put(None)


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
    requests = Requests(sys.stdin)
    while (line := requests.next()) is not None:
        reply = answer(apartment, json.loads(line))
        requests.made()
        _send(answers, reply)
    apartment.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
