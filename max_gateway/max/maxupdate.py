"""Writing to MAX through MAXUpdate (``MaxUpdateXML.dll``; ECi's manual "MAXUpdate Revision 5.6.10").

MAXUpdate is a 32-bit, apartment-threaded (STA) COM component. The call sequence:

1. ``CoInitializeEx`` the thread as a single-threaded apartment, once;
2. create the object by CLSID (:data:`XMLWRAPPER_CLSID`, as public code does; the ProgID is unconfirmed);
3. ``SetVisualErrorReportingXML(0)`` before ``Initialize``: the DLL can show dialogs during licence and connection
   set-up, and a dialog on a service's desktop hangs the call. Again after it: the manual does not say whether
   ``Initialize`` resets it (public code calls it before or after);
4. ``Initialize(PriConnectionString, CompanyName, LicensePath, LogPath, bErrRpt)`` once (manual §4.1). It returns
   nothing: only an exception says it failed;
5. the calls, all on that one object: re-creating it between calls causes "Error 91" (manual §7). There is no
   Terminate call.

Answers (manual §4.3, §4.4): ``AddSOXML`` returns the new ORDNUM, blank on failure; the other calls return 1 on
success, 0 on failure. ``ProcessTransXML`` hands its error text back in ``sErrMsg`` (empty on some failures). The
others have no error out-parameter, so the writer then asks ``GetErrorStringXML()`` (undocumented; what public code
calls), or takes "" when the object lacks it. With pywin32 late binding, a method with by-reference parameters
returns a tuple (return value, out-parameters...): ``AddSOXML`` and ``AddSOLineItemXML`` (``ref bool
bSuppressMsg``) and ``ProcessTransXML`` (``ref sXML, ref sErrMsg``). Without type information it returns the plain
value.

Every call runs on the thread that created the object, one at a time. The object lives in one of two hosts:
- :class:`StaComSession`: a dedicated STA thread in this process (which must then be a 32-bit Python);
- :class:`OutOfProcessSession`: a 32-bit Python process of its own (``writer_host.py``), spoken to over JSON
  lines, so a stuck call can be ended by killing that process.

The writer host never outlives the gateway: once the host is dead, a call it did not answer has either landed or
not, for good, and the gateway (or its restart) settles it by a lookup. A host that went on after the gateway died
could land its call after that lookup. So:
- on Windows the host is in a Job object with ``JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`` whose one handle the session
  holds: when the gateway exits or is killed, Windows closes the handle and kills the host;
- on Linux the host gets ``PR_SET_PDEATHSIG`` = SIGKILL. The kernel sends it when the *thread* that started the
  host ends, so hosts are started from one daemon thread that lives as long as the gateway;
- everywhere, the host exits at once, without answering, when its stdin reaches EOF with a request it has not
  finished making (the gateway closes stdin only between calls).

The host's environment is the gateway's without any ``EXACTMAX_GATEWAY_*`` variable (its own settings, secrets among
them); PATH, by which MAXUpdate's DLLs are found, and the rest stay.

Outcomes: :class:`MaxUpdateRefused` (MAXUpdate answered failure: that call wrote nothing),
:class:`MaxUpdateUnavailable` (never handed over: nothing written) and :class:`MaxUpdateOutcomeUnknown` (handed
over, no answer: the caller settles it by looking the key up in MAX). A refusal's text is MAXUpdate's, with the
connection string and its password redacted (an OLE DB error may echo either).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)
host_log = logging.getLogger("max_gateway.max.writer_host")

# XMLWrapperClass (TT app.manifest; research notes). The ProgID is probably MaxUpdateXML.XMLWrapper, but no public
# code uses it: a site that has registered one may configure it as ``com_class`` instead.
XMLWRAPPER_CLSID = "{34E27738-7E0B-474F-AC7F-F767840B265B}"
INIT_RETRY_SECONDS = 30.0  # a failed initialisation is tried again on a call, at most this often
CLOSE_WAIT_SECONDS = 10.0
HOST_MODULE = "max_gateway.max.writer_host"
ALLOW_FAKE_ENV = "MAX_GATEWAY_ALLOW_FAKE_MAXUPDATE"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the directory holding max_gateway/: the host's working dir
GATEWAY_ENV_PREFIX = "EXACTMAX_GATEWAY_"  # the gateway's settings, secrets among them: never passed to the host
PR_SET_PDEATHSIG = 1  # linux/prctl.h
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000  # winnt.h
JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS = 9  # JobObjectExtendedLimitInformation
_PASSWORD_KEYS = frozenset({"pwd", "password"})


@dataclass(frozen=True)
class MaxUpdateSettings:
    """What ``Initialize`` needs, and where MAXUpdate runs. ``connection_string`` is the OLE DB string to the
    ExactMAX database; it holds the SQL password, so it is never shown, logged or passed on a command line."""

    connection_string: str = field(repr=False)
    company: str
    license_path: str = ""  # blank: MAXUpdate takes it from the registry (as for the two above)
    log_path: str = ""
    error_report: bool = False  # bErrRpt: MAXUpdate writes xmlwrapper.log in log_path
    com_class: str = XMLWRAPPER_CLSID  # a CLSID or a ProgID
    call_timeout_seconds: float = 120.0  # out of process only: see StaComSession
    host_python: str | None = None  # a 32-bit python.exe to host MAXUpdate; None: in this process


def redact(text: str, settings: MaxUpdateSettings) -> str:
    """``text`` without the connection string or its password (an OLE DB error may echo either)."""
    secrets = {settings.connection_string}
    for part in settings.connection_string.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() in _PASSWORD_KEYS:
            secrets |= {value, value.strip().strip("'\"")}
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class MaxUpdateRefused(Exception):
    """MAXUpdate answered failure: that call wrote nothing. ``error_text`` is MAXUpdate's own (may be empty), redacted
    by :class:`MaxUpdateWriter`."""

    def __init__(self, method: str, error_text: str) -> None:
        super().__init__(f"MAXUpdate refused {method}: {error_text or '(no error text)'}")
        self.method = method
        self.error_text = error_text


class MaxUpdateUnavailable(Exception):
    """MAXUpdate could not be reached or initialised: the call was never handed over, nothing was written."""


class MaxUpdateMethodMissing(MaxUpdateUnavailable):
    """The MAXUpdate object has no such method (another MAXUpdate version): nothing was handed over."""


class MaxUpdateOutcomeUnknown(Exception):
    """The call was handed over, but no answer came back (a COM exception, a crash, a timeout): it may or may not
    have been applied. The caller settles it by looking the key up in MAX."""


class MaxUpdateSession(Protocol):
    settings: MaxUpdateSettings

    def call(self, method: str, *args: object) -> object:
        """Call ``method`` on the MAXUpdate object and return its answer as pywin32 gives it."""

    def status(self) -> str:
        """``ready``, or why calls cannot be made now."""

    def close(self) -> None: ...


def _co_initialize_sta() -> None:
    import pythoncom

    pythoncom.CoInitializeEx(pythoncom.COINIT_APARTMENTTHREADED)


def _co_uninitialize() -> None:
    import pythoncom

    pythoncom.CoUninitialize()


def _return_value(answer: object) -> object:
    """The function's return value: pywin32 puts it first in a tuple when there are by-reference parameters."""
    return answer[0] if isinstance(answer, tuple) and answer else answer


def _error_out_parameter(answer: object) -> str:
    """``ProcessTransXML``'s ``sErrMsg``: the last out-parameter; "" when pywin32 returned none."""
    text = answer[-1] if isinstance(answer, tuple) and len(answer) > 1 else ""
    return text if isinstance(text, str) else ""


class MaxUpdateApartment:
    """The one MAXUpdate object of a session and its initialisation. Every method must run on the thread that
    called :meth:`open` (COM's STA rule): :class:`StaComSession`'s thread, or the writer host's main thread."""

    def __init__(self, settings: MaxUpdateSettings, *, create_object: Callable[[], object] | None = None,
                 co_initialize: Callable[[], None] | None = None, co_uninitialize: Callable[[], None] | None = None,
                 retry_seconds: float = INIT_RETRY_SECONDS) -> None:
        self.settings = settings
        self._create_object = create_object or (lambda: _dispatch(settings.com_class))
        self._co_initialize = co_initialize or _co_initialize_sta
        self._co_uninitialize = co_uninitialize or _co_uninitialize
        self._retry_seconds = retry_seconds
        self._object: object | None = None
        self._apartment_entered = False
        self._initialised = False
        self._last_attempt = float("-inf")
        self.status = "starting: MAXUpdate is being initialised"

    def open(self) -> None:
        self._initialise()

    def call(self, method: str, args: tuple | list) -> object:
        if not self._initialised:
            if time.monotonic() - self._last_attempt >= self._retry_seconds:
                self._initialise()
            if not self._initialised:
                raise MaxUpdateUnavailable(self.status)
        try:
            function = getattr(self._object, method)
        except AttributeError:
            raise MaxUpdateMethodMissing(f"MAXUpdate has no method {method} (another MAXUpdate version?); "
                                         "nothing was sent") from None
        except Exception as exc:  # noqa: BLE001 - without type information pywin32 may invoke the member here
            raise self._unknown(method, exc) from None
        try:
            return function(*args)
        except Exception as exc:  # noqa: BLE001 - pywintypes.com_error, or anything the DLL raised
            raise self._unknown(method, exc) from None

    def close(self) -> None:
        self._object = None
        if self._apartment_entered:
            self._co_uninitialize()

    def _initialise(self) -> None:
        self._last_attempt = time.monotonic()
        s = self.settings
        try:
            if not self._apartment_entered:
                self._co_initialize()
                self._apartment_entered = True
            if self._object is None:
                self._object = self._create_object()  # kept after a failed Initialize: one object per session
            self._suppress_dialogs("before Initialize")
            self._object.Initialize(s.connection_string, s.company, s.license_path, s.log_path, s.error_report)
            self._suppress_dialogs("after Initialize")
        except Exception as exc:  # noqa: BLE001 - a missing pywin32, an unregistered class, a COM error
            self.status = redact(f"MAXUpdate could not be initialised: {type(exc).__name__}: {exc}", s)
            log.error("%s (tried again on a call, at most every %s s)", self.status, self._retry_seconds)
            return
        self._initialised = True
        self.status = "ready"

    def _suppress_dialogs(self, when: str) -> None:
        answer = _return_value(self._object.SetVisualErrorReportingXML(0))
        if answer != 1:
            log.warning("MAXUpdate answered %r to SetVisualErrorReportingXML(0) %s", answer, when)

    def _unknown(self, method: str, exc: Exception) -> MaxUpdateOutcomeUnknown:
        return MaxUpdateOutcomeUnknown(redact(f"MAXUpdate raised during {method}: {exc!r}", self.settings))


def _dispatch(com_class: str) -> object:
    import win32com.client

    return win32com.client.Dispatch(com_class)


class StaComSession:
    """MAXUpdate in this process, on ONE dedicated thread that is a single-threaded apartment: it creates the object,
    initialises it and makes every call, one at a time, in the order they were queued.

    A caller waits for its answer without a timeout. A stuck call cannot be ended inside this process (a thread
    cannot be killed), and giving up on the wait would only make a second write possible while the first may still
    land. So the caller waits; the backend's write lock keeps every later write waiting too, which is safe. Use
    :class:`OutOfProcessSession` to bound a call."""

    def __init__(self, settings: MaxUpdateSettings, *, create_object: Callable[[], object] | None = None,
                 co_initialize: Callable[[], None] | None = None, co_uninitialize: Callable[[], None] | None = None,
                 retry_seconds: float = INIT_RETRY_SECONDS) -> None:
        self.settings = settings
        self._apartment = MaxUpdateApartment(settings, create_object=create_object, co_initialize=co_initialize,
                                             co_uninitialize=co_uninitialize, retry_seconds=retry_seconds)
        self._requests: queue.SimpleQueue[tuple[Future, str, tuple] | None] = queue.SimpleQueue()
        self._closing = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="maxupdate-sta", daemon=True)
        self._thread.start()

    def call(self, method: str, *args: object) -> object:
        answer: Future = Future()
        with self._closing:
            if self._closed:
                raise MaxUpdateUnavailable("the MAXUpdate session is closed; nothing was sent")
            self._requests.put((answer, method, args))
        return answer.result()  # no timeout: see the class docstring

    def status(self) -> str:
        return "closed" if self._closed else self._apartment.status

    def close(self) -> None:
        with self._closing:
            if self._closed:
                return
            self._closed = True
            self._requests.put(None)
        self._thread.join(timeout=CLOSE_WAIT_SECONDS)

    def _serve(self) -> None:
        self._apartment.open()
        while (request := self._requests.get()) is not None:
            answer, method, args = request
            try:
                answer.set_result(self._apartment.call(method, args))
            except Exception as exc:  # noqa: BLE001 - handed to the caller
                answer.set_exception(exc)
        self._apartment.close()


class _JobObjectBasicLimitInformation(ctypes.Structure):
    _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
                ("LimitFlags", ctypes.c_uint32), ("MinimumWorkingSetSize", ctypes.c_size_t),
                ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", ctypes.c_uint32),
                ("Affinity", ctypes.c_size_t), ("PriorityClass", ctypes.c_uint32), ("SchedulingClass", ctypes.c_uint32)]


class _IoCounters(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in ("ReadOperationCount", "WriteOperationCount",
                                                     "OtherOperationCount", "ReadTransferCount", "WriteTransferCount",
                                                     "OtherTransferCount")]


class _JobObjectExtendedLimitInformation(ctypes.Structure):
    _fields_ = [("BasicLimitInformation", _JobObjectBasicLimitInformation), ("IoInfo", _IoCounters),
                ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t)]


class _KillOnCloseJob:
    """Windows: a Job object whose processes Windows kills when its last handle closes. The session holds the only
    handle, so the hosts die with the gateway however it ends (ctypes only: the gateway has no pywin32)."""

    def __init__(self) -> None:
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        self._create = kernel32.CreateJobObjectW
        self._create.argtypes, self._create.restype = (ctypes.c_void_p, ctypes.c_wchar_p), ctypes.c_void_p
        self._set = kernel32.SetInformationJobObject
        self._set.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32)
        self._assign = kernel32.AssignProcessToJobObject
        self._assign.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
        self._close = kernel32.CloseHandle
        self._close.argtypes = (ctypes.c_void_p,)
        self.handle = self._create(None, None)
        if not self.handle:
            raise ctypes.WinError(ctypes.get_last_error())
        limits = _JobObjectExtendedLimitInformation()
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        if not self._set(self.handle, JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS, ctypes.byref(limits),
                         ctypes.sizeof(limits)):
            error = ctypes.WinError(ctypes.get_last_error())
            self.close()
            raise error

    def add(self, process: subprocess.Popen) -> None:
        if not self._assign(self.handle, int(process._handle)):
            raise ctypes.WinError(ctypes.get_last_error())

    def close(self) -> None:
        """Kills every process still in the job."""
        self._close(self.handle)


class _Launcher:
    """Linux: starts host processes on one daemon thread, which lives as long as the gateway, and gives each
    ``PR_SET_PDEATHSIG`` = SIGKILL. The kernel sends that signal when the thread that started the process ends; a
    caller's thread (a server's worker) may end any time, so it must not start hosts itself."""

    _lock = threading.Lock()
    _requests: queue.SimpleQueue | None = None

    @classmethod
    def popen(cls, command: list[str], **options: object) -> subprocess.Popen:
        with cls._lock:
            if cls._requests is None:
                cls._requests = queue.SimpleQueue()
                threading.Thread(target=cls._serve, args=(cls._requests,), name="maxupdate-host-launcher",
                                 daemon=True).start()
        started: Future = Future()
        cls._requests.put((started, command, options))
        return started.result()

    @staticmethod
    def _serve(requests: queue.SimpleQueue) -> None:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it
        gateway_pid = os.getpid()

        def die_with_the_gateway() -> None:  # in the child, between fork and exec
            if prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
            if os.getppid() != gateway_pid:  # the gateway died before prctl
                os._exit(1)

        while True:
            started, command, options = requests.get()
            try:
                started.set_result(subprocess.Popen(command, preexec_fn=die_with_the_gateway, **options))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                started.set_exception(exc)


def _host_environment() -> dict[str, str]:
    """The gateway's environment without its own settings (:data:`GATEWAY_ENV_PREFIX`)."""
    return {name: value for name, value in os.environ.items() if not name.upper().startswith(GATEWAY_ENV_PREFIX)}


class _Host:
    """One writer-host process: its answers (stdout lines, None at EOF) and its stderr forwarded to the log."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self.last_stderr = ""
        self._stderr_reader = threading.Thread(target=self._forward_stderr, daemon=True)
        self._stderr_reader.start()
        threading.Thread(target=self._read_stdout, daemon=True).start()

    def send(self, message: dict) -> None:
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def receive(self, timeout: float) -> str | None:
        """The next answer line, None when the host has exited; raises ``queue.Empty`` after ``timeout``."""
        return self.lines.get(timeout=timeout)

    def kill(self) -> int:
        """Kill the host and wait until it has exited: after this it makes no further call. Returns its code."""
        self.process.kill()
        return self.wait()

    def stop(self, grace: float) -> None:
        """End the host by closing its stdin (it finishes the call it is making), killing it after ``grace``."""
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.wait()

    def wait(self) -> int:
        code = self.process.wait()
        self._stderr_reader.join(timeout=CLOSE_WAIT_SECONDS)  # every line it wrote is logged
        return code

    def _read_stdout(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _forward_stderr(self) -> None:
        levels = logging.getLevelNamesMapping()
        for raw in self.process.stderr:
            line = raw.rstrip()
            level_name, _, message = line.partition(" ")
            if level_name in levels:
                host_log.log(levels[level_name], "%s", message)
            else:  # a traceback or stray output
                host_log.warning("%s", line)
            self.last_stderr = line


class OutOfProcessSession:
    """MAXUpdate in a 32-bit Python of its own: ``[host_python, -m, max_gateway.max.writer_host]``.

    The settings go to the host as the first line on its stdin (never argv or the environment: the connection
    string is a secret); then JSON lines, one call at a time: ``{"id": n, "method": ..., "args": [...]}``, answered
    ``{"id": n, "result": ...}`` or ``{"id": n, "error": {"kind": "com_error" | "unavailable" | "no_method",
    "message": ...}}``. The host's stderr is logged under ``max_gateway.max.writer_host``. The host dies with the
    gateway and does not get its ``EXACTMAX_GATEWAY_*`` environment (see the module docstring).

    - A call unanswered after ``call_timeout_seconds``: the host is killed and waited for, so the call has ended and
      a lookup settles it for good; :class:`MaxUpdateOutcomeUnknown`. The next call starts a fresh host.
    - The host exits mid-call: :class:`MaxUpdateOutcomeUnknown`.
    - The host cannot be started, or does not finish starting within ``start_timeout_seconds``:
      :class:`MaxUpdateUnavailable`.

    ``fake`` (tests only) names a ``module:attribute`` factory the host uses instead of MAXUpdate; the host honours
    it only when its environment has ``MAX_GATEWAY_ALLOW_FAKE_MAXUPDATE=1``."""

    def __init__(self, settings: MaxUpdateSettings, *, fake: str | None = None,
                 start_timeout_seconds: float = 60.0) -> None:
        if not settings.host_python:
            raise ValueError("OutOfProcessSession needs settings.host_python")
        self.settings = settings
        self._fake = fake
        self._start_timeout_seconds = start_timeout_seconds
        self._lock = threading.Lock()
        self._host: _Host | None = None
        self._job: _KillOnCloseJob | None = None  # Windows: every host of the session is in it
        self._last_id = 0
        self._status = "starting: the MAXUpdate host is not running yet"
        self._closed = False

    @property
    def host_pid(self) -> int | None:
        host = self._host
        return None if host is None else host.process.pid

    def call(self, method: str, *args: object) -> object:
        with self._lock:
            if self._closed:
                raise MaxUpdateUnavailable("the MAXUpdate session is closed; nothing was sent")
            host = self._running_host()
            self._last_id += 1
            try:
                host.send({"id": self._last_id, "method": method, "args": list(args)})
            except OSError as exc:  # the host is gone: it read nothing
                self._discard(host)
                raise MaxUpdateUnavailable(f"the MAXUpdate host could not take {method} ({exc}); nothing was "
                                           "sent") from None
            try:
                line = host.receive(self.settings.call_timeout_seconds)
            except queue.Empty:
                pid = host.process.pid
                self._discard(host)
                raise MaxUpdateOutcomeUnknown(
                    f"MAXUpdate did not answer {method} within {self.settings.call_timeout_seconds} s; its host "
                    f"(pid {pid}) was killed and has exited, so the call has ended") from None
            if line is None:
                code = self._discard(host)
                raise MaxUpdateOutcomeUnknown(f"the MAXUpdate host exited (code {code}) during {method}")
            return self._answer(host, method, line)

    def status(self) -> str:
        """Starts the host when none runs, unless a call is in progress (then it answers at once)."""
        if self._lock.acquire(blocking=False):
            try:
                if not self._closed:
                    self._running_host()
            except MaxUpdateUnavailable:
                pass  # the reason is the status
            finally:
                self._lock.release()
        return self._status

    def close(self) -> None:
        """Ends the host; a call in progress is waited for first (its timeout bounds the wait)."""
        with self._lock:
            self._closed = True
            if self._host is not None:
                self._host.stop(CLOSE_WAIT_SECONDS)
                self._host = None
            if self._job is not None:
                self._job.close()
                self._job = None
            self._status = "closed"

    def _answer(self, host: _Host, method: str, line: str) -> object:
        try:
            answer = json.loads(line)
            readable = isinstance(answer, dict) and answer.get("id") == self._last_id
        except ValueError:
            readable = False
        if not readable:
            self._discard(host)
            raise MaxUpdateOutcomeUnknown(f"the MAXUpdate host's answer to {method} was unreadable; it was killed")
        error = answer.get("error")
        if error is None:
            self._status = "ready"
            result = answer.get("result")
            return tuple(result) if isinstance(result, list) else result  # JSON turned pywin32's tuple into a list
        kind, message = error.get("kind"), error.get("message", "")
        if kind == "unavailable":
            self._status = message
            raise MaxUpdateUnavailable(message)
        if kind == "no_method":
            raise MaxUpdateMethodMissing(message)
        raise MaxUpdateOutcomeUnknown(message)

    def _running_host(self) -> _Host:
        if self._host is not None:
            if self._host.process.poll() is None:
                return self._host
            log.warning("the MAXUpdate host (pid %d) had exited (code %s) between calls; starting a fresh one",
                        self._host.process.pid, self._discard(self._host))
        self._host = self._start()
        return self._host

    def _start(self) -> _Host:
        command = [self.settings.host_python, "-m", HOST_MODULE]
        try:
            if sys.platform == "win32" and self._job is None:
                self._job = _KillOnCloseJob()
            popen = _Launcher.popen if sys.platform.startswith("linux") else subprocess.Popen
            process = popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=PACKAGE_ROOT, env=_host_environment(), encoding="utf-8", errors="replace",
                            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))  # no console
        except (OSError, subprocess.SubprocessError) as exc:
            self._status = f"the MAXUpdate host could not be started ({command[0]}): {exc}"
            raise MaxUpdateUnavailable(self._status) from None
        host = _Host(process)
        if self._job is not None:
            try:
                self._job.add(process)
            except OSError as exc:
                host.kill()
                self._status = f"the MAXUpdate host could not be tied to the gateway's life (Job object): {exc}"
                raise MaxUpdateUnavailable(self._status) from None
        log.info("MAXUpdate host started (pid %d)", process.pid)
        settings = asdict(self.settings) | ({"fake": self._fake} if self._fake else {})
        try:
            host.send(settings)
            hello = host.receive(self._start_timeout_seconds)
        except OSError:
            hello = None
        except queue.Empty:
            host.kill()
            self._status = (f"the MAXUpdate host did not finish starting within {self._start_timeout_seconds} s "
                            "(a dialog, a licence or connection wait?); it was killed")
            raise MaxUpdateUnavailable(self._status) from None
        try:
            self._status = str(json.loads(hello)["status"])
        except (TypeError, ValueError, KeyError):  # None: it exited
            code = host.kill()
            self._status = f"the MAXUpdate host ended (code {code}) while starting: {host.last_stderr}"
            raise MaxUpdateUnavailable(self._status) from None
        return host

    def _discard(self, host: _Host) -> int:
        if self._host is host:
            self._host = None
        code = host.kill()
        log.warning("MAXUpdate host (pid %d) ended, code %s", host.process.pid, code)
        return code


class MaxUpdateWriter:
    """The MAXUpdate calls the ``max`` backend makes, typed, over one session. Each raises
    :class:`MaxUpdateRefused` (MAXUpdate answered failure: nothing written), :class:`MaxUpdateUnavailable` (never
    handed over) or :class:`MaxUpdateOutcomeUnknown` (handed over, no answer)."""

    def __init__(self, session: MaxUpdateSession) -> None:
        self.session = session

    def add_sales_order(self, header_xml: str) -> str:
        """``AddSOXML(sXML, bSuppressMsg=True)`` (manual §4.3): a new SO_Master. Returns the ORDNUM MAX assigned (a
        blank ``ORDNUM_27`` takes the next number); a blank answer is a refusal."""
        ordnum = _return_value(self.session.call("AddSOXML", header_xml, True))
        ordnum = "" if ordnum is None else str(ordnum).strip()
        if not ordnum:
            raise self._refused("AddSOXML", self._last_error_text())
        return ordnum

    def add_sales_order_line(self, line_xml: str) -> None:
        """``AddSOLineItemXML(sXML, bSuppressMsg=True)`` (manual §4.3): a new SO_Detail on an existing order."""
        self._expect_success("AddSOLineItemXML", line_xml, True)

    def change_sales_order(self, header_xml: str) -> None:
        """``ChangeSalesOrderXML(sXML)`` (manual §4.3): ``ORDNUM_27`` must name an existing order."""
        self._expect_success("ChangeSalesOrderXML", header_xml)

    def change_sales_order_line(self, line_xml: str, old_line_xml: str) -> None:
        """``ChangeSalesOrderLineItemXML(sXML, sOldSoeDetXML)`` (manual §4.3): ``old_line_xml`` must match the line
        as MAX holds it."""
        self._expect_success("ChangeSalesOrderLineItemXML", line_xml, old_line_xml)

    def delete_sales_order(self, ordnum: str) -> None:
        """``DeleteSalesOrderXML(OrdNum)`` (manual §4.3): the order with its lines and notes."""
        self._expect_success("DeleteSalesOrderXML", ordnum)

    def process_transaction(self, xml: str) -> None:
        """``ProcessTransXML(sXML, sErrMsg)`` (manual §4.4): one MAX_Transaction. The error text is the ``sErrMsg``
        out-parameter (empty when pywin32 had no type information to return it)."""
        answer = self.session.call("ProcessTransXML", xml, "")
        if _return_value(answer) != 1:
            raise self._refused("ProcessTransXML", _error_out_parameter(answer))

    def status(self) -> str:
        return self.session.status()

    def close(self) -> None:
        self.session.close()

    def _expect_success(self, method: str, *args: object) -> None:
        if _return_value(self.session.call(method, *args)) != 1:
            raise self._refused(method, self._last_error_text())

    def _refused(self, method: str, error_text: str) -> MaxUpdateRefused:
        """The refusal, its text redacted: it reaches logs and HTTP answers."""
        return MaxUpdateRefused(method, redact(error_text, self.session.settings))

    def _last_error_text(self) -> str:
        """``GetErrorStringXML()``, or "" when the object lacks it or it fails: the refusal stands either way."""
        try:
            text = _return_value(self.session.call("GetErrorStringXML"))
        except (MaxUpdateUnavailable, MaxUpdateOutcomeUnknown):
            return ""
        return text if isinstance(text, str) else ""


def open_writer(settings: MaxUpdateSettings) -> MaxUpdateWriter:
    """Out of process when ``settings.host_python`` is set, else on an STA thread in this process."""
    session = OutOfProcessSession(settings) if settings.host_python else StaComSession(settings)
    return MaxUpdateWriter(session)
