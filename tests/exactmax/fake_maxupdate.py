"""A fake MAXUpdate COM object (``XMLWrapperClass``) for the writer's tests.

It has the vendor's methods (manual §4.1, §4.3, §4.4) and answers as pywin32 late binding does: a tuple (return
value, by-reference parameters...) for ``AddSOXML``, ``AddSOLineItemXML`` (``ref bool bSuppressMsg``) and
``ProcessTransXML`` (``ref sXML, ref sErrMsg``), or the plain value with ``type_info=False``. It records every call
with the thread it ran on, and notes whether two calls ever overlapped.

Outcomes come from ``script``, one per write call, in order (success once it runs out). A host process builds the
fake through a factory without arguments, so there the document says the outcome instead: ``fake:hang:<seconds>``,
``fake:refuse:<error text>``, ``fake:raise:<description>``; any other document succeeds.

With :data:`APPLIED_ENV` naming a file, each call that returned (the write "landed") appends its method name there, so
a test can tell whether a host applied a call after it lost its gateway.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

log = logging.getLogger("fake_maxupdate")

DISP_E_EXCEPTION = -2147352567
APPLIED_ENV = "FAKE_MAXUPDATE_APPLIED"


class FakeComError(Exception):
    """Shaped like ``pywintypes.com_error``: (hresult, strerror, excepinfo, argerror)."""

    def __init__(self, description: str) -> None:
        super().__init__(DISP_E_EXCEPTION, "Exception occurred.", (0, "MaxUpdateXML", description, None, 0, 0), None)


@dataclass(frozen=True)
class Succeed:
    pass


@dataclass(frozen=True)
class Refuse:
    error_text: str


@dataclass(frozen=True)
class RaiseComError:
    description: str = "Automation error"


@dataclass(frozen=True)
class Hang:
    seconds: float


@dataclass(frozen=True)
class Call:
    method: str
    args: tuple
    thread_id: int
    started: float
    ended: float


class FakeMaxUpdateCom:
    """The methods carry the vendor's names and parameters."""

    def __init__(self, script: list | None = None, *, type_info: bool = True, failing_initializations: int = 0,
                 initialize_error: str = "[DBNETLIB][ConnectionOpen (Connect()).]SQL Server does not exist",
                 has_get_error_string: bool = True) -> None:
        """``initialize_error`` may name ``{connection_string}``, which the failing Initialize then echoes."""
        self.script = None if script is None else list(script)
        self.type_info = type_info
        self.failing_initializations = failing_initializations
        self.initialize_error = initialize_error
        self.has_get_error_string = has_get_error_string
        self.calls: list[Call] = []
        self.overlapped = False
        self.last_error = ""
        self._running = 0
        self._running_lock = threading.Lock()
        self._ordnums = iter(range(12345, 99999999))

    # ------------------------------------------------------------ manual §4.1
    def SetVisualErrorReportingXML(self, error_reporting):
        return self._record("SetVisualErrorReportingXML", (error_reporting,), lambda: 1)

    def Initialize(self, connection_string, company, license_path, log_path, error_report):
        def initialize() -> None:
            if self.failing_initializations > 0:
                self.failing_initializations -= 1
                raise FakeComError(self.initialize_error.format(connection_string=connection_string))

        return self._record("Initialize", (connection_string, company, license_path, log_path, error_report),
                            initialize)

    # ------------------------------------------------------------ manual §4.3
    def AddSOXML(self, xml, suppress_messages):
        def add() -> object:
            ordnum = f"{next(self._ordnums):08d}" if self._outcome("AddSOXML", xml) else ""
            return (ordnum, suppress_messages) if self.type_info else ordnum

        return self._record("AddSOXML", (xml, suppress_messages), add)

    def AddSOLineItemXML(self, xml, suppress_messages):
        def add() -> object:
            result = 1 if self._outcome("AddSOLineItemXML", xml) else 0
            return (result, suppress_messages) if self.type_info else result

        return self._record("AddSOLineItemXML", (xml, suppress_messages), add)

    def ChangeSalesOrderXML(self, xml):
        return self._record("ChangeSalesOrderXML", (xml,), lambda: int(self._outcome("ChangeSalesOrderXML", xml)))

    def ChangeSalesOrderLineItemXML(self, xml, old_xml):
        return self._record("ChangeSalesOrderLineItemXML", (xml, old_xml),
                            lambda: int(self._outcome("ChangeSalesOrderLineItemXML", xml)))

    def DeleteSalesOrderXML(self, ordnum):
        return self._record("DeleteSalesOrderXML", (ordnum,), lambda: int(self._outcome("DeleteSalesOrderXML", ordnum)))

    @property
    def GetErrorStringXML(self):  # undocumented: an object without it raises AttributeError
        if not self.has_get_error_string:
            raise AttributeError("GetErrorStringXML")
        return lambda: self._record("GetErrorStringXML", (), lambda: self.last_error)

    # ------------------------------------------------------------ manual §4.4
    def ProcessTransXML(self, xml, error_message):
        def process() -> object:
            refusal = self._refusal("ProcessTransXML", xml)
            result, text = (0, refusal.error_text) if refusal else (1, "")
            return (result, xml, text) if self.type_info else result

        return self._record("ProcessTransXML", (xml, error_message), process)

    # ------------------------------------------------------------ outcomes
    def _outcome(self, method: str, document: str) -> bool:
        """True on success; a refusal's text is kept for GetErrorStringXML (these calls have no out-parameter)."""
        refusal = self._refusal(method, document)
        if refusal:
            self.last_error = refusal.error_text
        return refusal is None

    def _refusal(self, method: str, document: str) -> Refuse | None:
        outcome = self._next_outcome(document)
        if isinstance(outcome, Hang):
            log.info("%s started", method)
            time.sleep(outcome.seconds)
        if isinstance(outcome, RaiseComError):
            raise FakeComError(outcome.description)
        return outcome if isinstance(outcome, Refuse) else None

    def _next_outcome(self, document: str) -> object:
        if self.script is not None:
            return self.script.pop(0) if self.script else Succeed()
        _, kind, detail = document.split(":", 2) if document.startswith("fake:") else ("", "", "")
        return {"hang": lambda: Hang(float(detail)), "refuse": lambda: Refuse(detail),
                "raise": lambda: RaiseComError(detail)}.get(kind, Succeed)()

    def _record(self, method: str, args: tuple, run) -> object:
        with self._running_lock:
            self._running += 1
            self.overlapped |= self._running > 1
        started = time.monotonic()
        try:
            result = run()
            if applied := os.environ.get(APPLIED_ENV):
                with open(applied, "a", encoding="utf-8") as file:
                    file.write(f"{method}\n")
            return result
        finally:
            with self._running_lock:
                self._running -= 1
            self.calls.append(Call(method, args, threading.get_ident(), started, time.monotonic()))


def failing_to_initialise() -> FakeMaxUpdateCom:
    """A host factory: Initialize always fails, echoing its connection string as an OLE DB error can."""
    return FakeMaxUpdateCom(failing_initializations=10**9, initialize_error="Login failed for {connection_string}")
