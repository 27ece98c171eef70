"""The MAXUpdate writer (max_gateway/max/maxupdate.py) against a fake COM object (fake_maxupdate.py): the vendor's
call sequence, one STA thread, typed outcomes, and the out-of-process host with its timeout, its secrets and its
life tied to the gateway's."""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from fake_maxupdate import APPLIED_ENV, FakeMaxUpdateCom, Hang, RaiseComError, Refuse, Succeed

from max_gateway.max.maxupdate import (
    ALLOW_FAKE_ENV,
    HOST_MODULE,
    PACKAGE_ROOT,
    MaxUpdateMethodMissing,
    MaxUpdateOutcomeUnknown,
    MaxUpdateRefused,
    MaxUpdateSettings,
    MaxUpdateUnavailable,
    MaxUpdateWriter,
    OutOfProcessSession,
    StaComSession,
    _JobObjectExtendedLimitInformation,
    open_writer,
)
from max_gateway.max.writer_host import EXIT_GATEWAY_GONE

PASSWORD = "S3cret-Pa55word"
SETTINGS = MaxUpdateSettings(
    connection_string=f"Provider=sqloledb;Data Source=max-sql;database=ExactMAX;UID=gateway;Pwd={PASSWORD}",
    company="Sample Company", license_path=r"C:\EXACT\RMServer\LIC", log_path=r"C:\logs", error_report=True)
HEADER = "<eMAXExact><SO_Master_Table><SO_Master><CUSTPO_27>PO-1</CUSTPO_27></SO_Master></SO_Master_Table></eMAXExact>"
LINE = "<eMAXExact><SO_Detail_Table><SO_Detail><LINNUM_28>01</LINNUM_28></SO_Detail></SO_Detail_Table></eMAXExact>"
RECEIPT = "<eMAXExact><MAX_Transaction_Table><MAX_Transaction><TYPE_39>R</TYPE_39></MAX_Transaction>" \
          "</MAX_Transaction_Table></eMAXExact>"
# Real texts, formatted from the manual's §18 templates.
BAD_PART = "Error: Invalid Part Number - PRT-99999."  # IDS_BADPRTNUM, MAXTRAN2 32786
BAD_DATE = "Error: Transaction must have a valid date.."  # IDS_BADDATE, MAXTRAN2 32784
NO_ORDER = "Error: The order '00099999' does not exist."  # IDS_ORDERDOESNTEXIST, MAXTRAN2 32794
FAKE = "fake_maxupdate:FakeMaxUpdateCom"
HOST_LOGGER = "max_gateway.max.writer_host"
ECHOED_LOGIN = f"[Microsoft][ODBC SQL Server Driver] Login failed: {SETTINGS.connection_string}"


class InProcess:
    """A writer over a StaComSession on ``fake``, noting the thread each apartment hook ran on."""

    def __init__(self, fake: FakeMaxUpdateCom, **session_options) -> None:
        self.fake = fake
        self.created_on: list[int] = []
        self.initialised_on: list[int] = []
        self.uninitialised_on: list[int] = []
        self.session = StaComSession(SETTINGS, create_object=self._create, co_initialize=self._co_initialize,
                                     co_uninitialize=lambda: self.uninitialised_on.append(threading.get_ident()),
                                     **session_options)
        self.writer = MaxUpdateWriter(self.session)

    def _create(self) -> FakeMaxUpdateCom:
        self.created_on.append(threading.get_ident())
        return self.fake

    def _co_initialize(self) -> None:
        self.initialised_on.append(threading.get_ident())

    def methods(self) -> list[str]:
        return [call.method for call in self.fake.calls]


@pytest.fixture
def in_process() -> Iterator:
    opened: list[InProcess] = []

    def open_in_process(fake: FakeMaxUpdateCom, **session_options) -> InProcess:
        opened.append(InProcess(fake, **session_options))
        return opened[-1]

    yield open_in_process
    for each in opened:
        each.session.close()


@pytest.fixture
def host_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The host may use a fake, and can import it (fake_maxupdate.py lives beside this file)."""
    monkeypatch.setenv(ALLOW_FAKE_ENV, "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))


@pytest.fixture
def out_of_process() -> Iterator:
    opened: list[OutOfProcessSession] = []

    def open_out_of_process(fake: str = FAKE, **settings) -> tuple[MaxUpdateWriter, OutOfProcessSession]:
        session = OutOfProcessSession(replace(SETTINGS, **{"host_python": sys.executable} | settings), fake=fake,
                                      start_timeout_seconds=30)
        opened.append(session)
        return MaxUpdateWriter(session), session

    yield open_out_of_process
    for session in opened:
        session.close()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _dead(pid: int) -> bool:
    """Gone, or a zombie: an orphan is reaped by init, late or (in a container) never."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


# ------------------------------------------------------------ settings
def test_settings_repr_never_shows_the_connection_string() -> None:
    assert PASSWORD not in repr(SETTINGS)
    assert "connection_string" not in repr(SETTINGS)
    assert "Sample Company" in repr(SETTINGS)


# ------------------------------------------------------------ in process: one STA thread
def test_calls_follow_the_documented_sequence_dialogs_off_before_initialize_once_then_the_calls(in_process) -> None:
    run = in_process(FakeMaxUpdateCom())
    assert run.writer.add_sales_order(HEADER) == "00012345"
    run.writer.add_sales_order_line(LINE)
    run.writer.process_transaction(RECEIPT)

    # Manual §4.1: SetVisualErrorReportingXML(ErrorReporting); Initialize(PriConnectionString, CompanyName,
    # LicensePath, LogPath, bErrRpt), once; then the calls (AddSOXML/AddSOLineItemXML with bSuppressMsg True, §4.3;
    # ProcessTransXML(sXML, sErrMsg), §4.4). Visual errors go off before Initialize and again after it.
    expected = [
        ("SetVisualErrorReportingXML", (0,)),
        ("Initialize", (SETTINGS.connection_string, "Sample Company", r"C:\EXACT\RMServer\LIC", r"C:\logs", True)),
        ("SetVisualErrorReportingXML", (0,)),
        ("AddSOXML", (HEADER, True)),
        ("AddSOLineItemXML", (LINE, True)),
        ("ProcessTransXML", (RECEIPT, "")),
    ]
    assert [(call.method, call.args) for call in run.fake.calls] == expected
    assert len(run.created_on) == 1  # one object for the session (manual §7: re-creating it causes Error 91)


def test_every_call_runs_on_the_one_sta_thread_even_from_8_threads_and_never_two_at_once(in_process) -> None:
    run = in_process(FakeMaxUpdateCom([Hang(0.005)] * 40))
    callers: set[int] = set()

    def write() -> None:
        callers.add(threading.get_ident())
        for _ in range(5):
            run.writer.process_transaction(RECEIPT)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert run.methods().count("ProcessTransXML") == 40
    (sta,) = set(run.initialised_on)
    assert run.created_on == [sta]
    assert {call.thread_id for call in run.fake.calls} == {sta}
    assert sta not in callers
    assert not run.fake.overlapped
    spans = sorted((call.started, call.ended) for call in run.fake.calls)
    assert all(ended <= next_started for (_, ended), (next_started, _) in zip(spans, spans[1:], strict=False))
    run.session.close()
    assert run.uninitialised_on == [sta]


def test_an_initialisation_failure_is_unavailable_with_its_reason_and_a_later_call_recovers(in_process) -> None:
    run = in_process(FakeMaxUpdateCom(failing_initializations=2), retry_seconds=0)  # at start, on the first call
    with pytest.raises(MaxUpdateUnavailable, match="SQL Server does not exist"):
        run.writer.add_sales_order(HEADER)
    assert "SQL Server does not exist" in run.writer.status()
    assert "AddSOXML" not in run.methods()  # never handed over

    assert run.writer.add_sales_order(HEADER) == "00012345"
    assert run.writer.status() == "ready"
    assert run.methods() == ["SetVisualErrorReportingXML", "Initialize"] * 3 + ["SetVisualErrorReportingXML",
                                                                                "AddSOXML"]
    assert len(run.created_on) == 1  # the object is kept: only Initialize is tried again


def test_a_failed_initialisation_is_tried_again_at_most_once_per_interval(in_process) -> None:
    run = in_process(FakeMaxUpdateCom(failing_initializations=5), retry_seconds=3600)
    for _ in range(3):
        with pytest.raises(MaxUpdateUnavailable):
            run.writer.process_transaction(RECEIPT)
    assert run.methods().count("Initialize") == 1


def test_an_initialisation_error_echoing_the_connection_string_is_redacted(in_process, caplog) -> None:
    run = in_process(FakeMaxUpdateCom(failing_initializations=1, initialize_error="Login failed: {connection_string}"),
                     retry_seconds=3600)
    with pytest.raises(MaxUpdateUnavailable) as raised:
        run.writer.process_transaction(RECEIPT)
    assert PASSWORD not in str(raised.value)
    assert PASSWORD not in run.writer.status()
    assert "Login failed: ***" in run.writer.status()
    assert PASSWORD not in caplog.text


def test_without_pywin32_the_in_process_writer_is_unavailable_naming_why() -> None:
    writer = open_writer(SETTINGS)
    try:
        assert isinstance(writer.session, StaComSession)
        with pytest.raises(MaxUpdateUnavailable, match="pythoncom"):
            writer.process_transaction(RECEIPT)
    finally:
        writer.close()


# ------------------------------------------------------------ answers
@pytest.mark.parametrize("type_info", [True, False], ids=["pywin32 tuples", "plain values"])
def test_each_call_answers_success_with_or_without_type_information(in_process, type_info: bool) -> None:
    run = in_process(FakeMaxUpdateCom(type_info=type_info))
    assert run.writer.add_sales_order(HEADER) == "00012345"
    run.writer.add_sales_order_line(LINE)
    run.writer.change_sales_order(HEADER)
    run.writer.change_sales_order_line(LINE, LINE)
    run.writer.delete_sales_order("00012345")
    run.writer.process_transaction(RECEIPT)
    assert "GetErrorStringXML" not in run.methods()


@pytest.mark.parametrize(("call", "method"), [
    (lambda writer: writer.add_sales_order(HEADER), "AddSOXML"),
    (lambda writer: writer.add_sales_order_line(LINE), "AddSOLineItemXML"),
    (lambda writer: writer.change_sales_order(HEADER), "ChangeSalesOrderXML"),
    (lambda writer: writer.change_sales_order_line(LINE, LINE), "ChangeSalesOrderLineItemXML"),
    (lambda writer: writer.delete_sales_order("00099999"), "DeleteSalesOrderXML"),
])
def test_a_refused_sales_order_call_is_refused_with_the_text_of_get_error_string_xml(in_process, call,
                                                                                     method: str) -> None:
    run = in_process(FakeMaxUpdateCom([Refuse(NO_ORDER)]))
    with pytest.raises(MaxUpdateRefused) as refused:
        call(run.writer)
    assert (refused.value.method, refused.value.error_text) == (method, NO_ORDER)
    assert run.methods()[-2:] == [method, "GetErrorStringXML"]


def test_a_refusal_without_get_error_string_xml_is_refused_with_no_text(in_process) -> None:
    run = in_process(FakeMaxUpdateCom([Refuse(BAD_PART)], has_get_error_string=False))
    with pytest.raises(MaxUpdateRefused) as refused:
        run.writer.add_sales_order_line(LINE)
    assert refused.value.error_text == ""
    assert run.writer.status() == "ready"


def test_a_refused_transaction_takes_its_text_from_the_serrmsg_out_parameter(in_process) -> None:
    fake = FakeMaxUpdateCom([Refuse(BAD_PART), Refuse(BAD_DATE)])
    run = in_process(fake)
    with pytest.raises(MaxUpdateRefused) as first:
        run.writer.add_sales_order_line(LINE)  # leaves BAD_PART as GetErrorStringXML's text
    with pytest.raises(MaxUpdateRefused) as second:
        run.writer.process_transaction(RECEIPT)
    assert (first.value.error_text, second.value.error_text) == (BAD_PART, BAD_DATE)
    assert (second.value.method, run.methods()[-1]) == ("ProcessTransXML", "ProcessTransXML")


def test_a_refused_transaction_without_type_information_has_no_text(in_process) -> None:
    run = in_process(FakeMaxUpdateCom([Refuse(BAD_DATE)], type_info=False))
    with pytest.raises(MaxUpdateRefused) as refused:
        run.writer.process_transaction(RECEIPT)
    assert refused.value.error_text == ""


@pytest.mark.parametrize(("call", "method"), [
    (lambda writer: writer.add_sales_order(HEADER), "AddSOXML"),  # the text of GetErrorStringXML
    (lambda writer: writer.process_transaction(RECEIPT), "ProcessTransXML"),  # the sErrMsg out-parameter
])
def test_a_refusal_text_echoing_the_connection_string_is_redacted(in_process, call, method: str) -> None:
    run = in_process(FakeMaxUpdateCom([Refuse(ECHOED_LOGIN)]))
    with pytest.raises(MaxUpdateRefused) as refused:
        call(run.writer)
    assert refused.value.method == method
    assert refused.value.error_text == "[Microsoft][ODBC SQL Server Driver] Login failed: ***"
    assert PASSWORD not in str(refused.value)


def test_a_com_exception_during_a_call_is_outcome_unknown_and_the_session_goes_on(in_process) -> None:
    run = in_process(FakeMaxUpdateCom([RaiseComError("Method '~' of object '~' failed"), Succeed()]))
    with pytest.raises(MaxUpdateOutcomeUnknown, match="ProcessTransXML.*failed"):
        run.writer.process_transaction(RECEIPT)
    run.writer.process_transaction(RECEIPT)
    assert run.methods().count("Initialize") == 1


def test_a_method_the_object_lacks_is_unavailable_not_unknown(in_process) -> None:
    run = in_process(FakeMaxUpdateCom())
    with pytest.raises(MaxUpdateMethodMissing):
        run.session.call("AddSOXMLv2", HEADER)
    assert run.writer.status() == "ready"


def test_a_closed_session_sends_nothing(in_process) -> None:
    run = in_process(FakeMaxUpdateCom())
    run.writer.close()
    with pytest.raises(MaxUpdateUnavailable, match="closed"):
        run.writer.process_transaction(RECEIPT)
    assert "ProcessTransXML" not in run.methods()


# ------------------------------------------------------------ out of process
@pytest.mark.slow  # starts host processes
def test_the_host_process_round_trips_every_call_and_outcome(host_environment, out_of_process) -> None:
    writer, session = out_of_process()
    assert writer.status() == "ready"
    pid = session.host_pid
    assert writer.add_sales_order(HEADER) == "00012345"
    writer.add_sales_order_line(LINE)
    writer.change_sales_order_line(LINE, LINE)
    writer.process_transaction(RECEIPT)
    with pytest.raises(MaxUpdateRefused) as refused:
        writer.process_transaction(f"fake:refuse:{BAD_DATE}")
    assert refused.value.error_text == BAD_DATE
    with pytest.raises(MaxUpdateRefused) as refused:
        writer.add_sales_order(f"fake:refuse:{NO_ORDER}")
    assert refused.value.error_text == NO_ORDER
    with pytest.raises(MaxUpdateRefused) as refused:
        writer.delete_sales_order(f"fake:refuse:{ECHOED_LOGIN}")
    assert refused.value.error_text == "[Microsoft][ODBC SQL Server Driver] Login failed: ***"
    with pytest.raises(MaxUpdateOutcomeUnknown, match="Automation error"):
        writer.process_transaction("fake:raise:Automation error")
    with pytest.raises(MaxUpdateMethodMissing):
        session.call("AddSOXMLv2", HEADER)
    writer.delete_sales_order("00012345")
    assert (session.host_pid, writer.status()) == (pid, "ready")


@pytest.mark.slow  # starts host processes and waits out a 1 s timeout
def test_a_call_past_its_timeout_kills_the_host_is_outcome_unknown_and_a_fresh_host_takes_the_next(
        host_environment, out_of_process) -> None:
    writer, session = out_of_process(call_timeout_seconds=1)
    writer.process_transaction(RECEIPT)
    pid = session.host_pid
    started = time.monotonic()
    with pytest.raises(MaxUpdateOutcomeUnknown, match="killed"):
        writer.process_transaction("fake:hang:30")
    assert 1 <= time.monotonic() - started < 5
    assert _gone(pid)  # killed and waited for: the call has ended, so a lookup now settles it
    writer.process_transaction(RECEIPT)
    assert session.host_pid not in (None, pid)


@pytest.mark.slow  # starts host processes
def test_a_host_killed_mid_call_is_outcome_unknown_and_a_fresh_host_takes_the_next(host_environment, out_of_process,
                                                                                   caplog) -> None:
    caplog.set_level(logging.INFO, logger=HOST_LOGGER)
    writer, session = out_of_process()
    writer.process_transaction(RECEIPT)
    pid = session.host_pid
    outcome: list[BaseException] = []

    def hang() -> None:
        try:
            writer.process_transaction("fake:hang:30")
        except BaseException as exc:  # noqa: BLE001 - asserted below
            outcome.append(exc)

    caller = threading.Thread(target=hang)
    caller.start()
    deadline = time.monotonic() + 10
    while "ProcessTransXML started" not in caplog.text:  # the fake logs it through the host's stderr
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    caller.join(timeout=10)
    assert len(outcome) == 1 and isinstance(outcome[0], MaxUpdateOutcomeUnknown), outcome
    assert "exited" in str(outcome[0])
    writer.process_transaction(RECEIPT)
    assert session.host_pid != pid


@pytest.mark.slow  # starts host processes
def test_the_settings_never_reach_the_hosts_argv_environment_or_the_gateway_log(host_environment, out_of_process,
                                                                               monkeypatch, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("EXACTMAX_GATEWAY_MAXUPDATE_CONNECTION_STRING", SETTINGS.connection_string)
    monkeypatch.setenv("EXACTMAX_GATEWAY_PASSWORD", PASSWORD)
    writer, session = out_of_process()
    writer.process_transaction(RECEIPT)
    proc = Path(f"/proc/{session.host_pid}")
    if proc.exists():
        assert PASSWORD.encode() not in (proc / "cmdline").read_bytes()
        environ = (proc / "environ").read_bytes().split(b"\0")
        assert not [entry for entry in environ if entry.startswith(b"EXACTMAX_GATEWAY_")]
        assert f"PATH={os.environ['PATH']}".encode() in environ  # MAXUpdate's DLLs are found through it
    failing, failing_session = out_of_process(fake="fake_maxupdate:failing_to_initialise")
    with pytest.raises(MaxUpdateUnavailable) as raised:
        failing.process_transaction(RECEIPT)
    assert "Login failed for ***" in str(raised.value)  # the host redacts what the DLL echoed
    assert PASSWORD not in failing.status()
    failing_session.close()  # every line of its stderr is logged
    assert "Login failed for ***" in caplog.text
    assert PASSWORD not in caplog.text


@pytest.mark.slow  # starts a host process
def test_the_host_refuses_a_fake_without_the_environment_variable(host_environment, out_of_process, monkeypatch,
                                                                  caplog) -> None:
    monkeypatch.delenv(ALLOW_FAKE_ENV)
    writer, _ = out_of_process()
    with pytest.raises(MaxUpdateUnavailable, match=ALLOW_FAKE_ENV):
        writer.process_transaction(RECEIPT)
    assert ALLOW_FAKE_ENV in writer.status()
    assert ALLOW_FAKE_ENV in caplog.text


def test_a_host_that_cannot_be_started_is_unavailable(out_of_process) -> None:
    writer, _ = out_of_process(host_python="/nonexistent/python.exe")
    with pytest.raises(MaxUpdateUnavailable, match="could not be started"):
        writer.process_transaction(RECEIPT)
    assert "/nonexistent/python.exe" in writer.status()


def test_open_writer_hosts_out_of_process_when_host_python_is_set() -> None:
    writer = open_writer(replace(SETTINGS, host_python=sys.executable))
    assert isinstance(writer.session, OutOfProcessSession)
    assert writer.session.host_pid is None  # started on the first call or status check


# ------------------------------------------------------------ the host dies with the gateway
GATEWAY = """
import logging, subprocess, sys, threading
from max_gateway.max.maxupdate import MaxUpdateSettings, MaxUpdateWriter, OutOfProcessSession

started = threading.Event()


class Started(logging.Handler):
    def emit(self, record):
        if "ProcessTransXML started" in record.getMessage():
            started.set()


logging.getLogger("max_gateway.max.writer_host").setLevel(logging.INFO)
logging.getLogger("max_gateway.max.writer_host").addHandler(Started())
session = OutOfProcessSession(MaxUpdateSettings(connection_string="x", company="C", host_python=sys.executable),
                              fake="fake_maxupdate:FakeMaxUpdateCom")
threading.Thread(target=lambda: MaxUpdateWriter(session).process_transaction("fake:hang:5"), daemon=True).start()
assert started.wait(30)
# another process holds the host's stdin open, so the host sees no EOF when this gateway dies
holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], stdout=subprocess.DEVNULL,
                          pass_fds=[session._host.process.stdin.fileno()])
print(session.host_pid, holder.pid, flush=True)
threading.Event().wait()
"""


@pytest.mark.slow  # starts a gateway process and its host
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_host_whose_gateway_dies_mid_call_is_killed_at_once_and_never_applies_the_call(host_environment,
                                                                                          monkeypatch, tmp_path):
    applied = tmp_path / "applied"
    monkeypatch.setenv(APPLIED_ENV, str(applied))
    gateway = subprocess.Popen([sys.executable, "-c", GATEWAY], stdout=subprocess.PIPE, text=True)
    host_pid, holder_pid = map(int, gateway.stdout.readline().split())
    try:
        gateway.kill()
        gateway.wait()
        deadline = time.monotonic() + 2  # the call would land 5 s after it started
        while not _dead(host_pid):
            assert time.monotonic() < deadline, "the host outlived its gateway"
            time.sleep(0.02)
        assert "ProcessTransXML" not in applied.read_text()
    finally:
        for pid in (host_pid, holder_pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.mark.slow  # starts host processes
def test_a_host_outlives_the_thread_that_started_it(host_environment, out_of_process) -> None:
    """PR_SET_PDEATHSIG fires when the *thread* that started the host ends. A caller's thread (a server's worker,
    retired when idle) may end any time: the host must live on."""
    writer, session = out_of_process()
    caller = threading.Thread(target=writer.process_transaction, args=(RECEIPT,))
    caller.start()
    caller.join()
    pid = session.host_pid
    time.sleep(0.5)
    writer.process_transaction(RECEIPT)
    assert session.host_pid == pid


def _raw_host(applied: Path) -> subprocess.Popen:
    """A writer host spoken to directly, its settings sent and its status read."""
    host = subprocess.Popen([sys.executable, "-m", HOST_MODULE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=PACKAGE_ROOT, text=True,
                            env=os.environ | {APPLIED_ENV: str(applied)})
    host.stdin.write(json.dumps(asdict(SETTINGS) | {"fake": FAKE}) + "\n")
    host.stdin.flush()
    assert json.loads(host.stdout.readline()) == {"status": "ready"}
    return host


def _request(host: subprocess.Popen, request_id: int, document: str) -> None:
    host.stdin.write(json.dumps({"id": request_id, "method": "ProcessTransXML", "args": [document, ""]}) + "\n")
    host.stdin.flush()


@pytest.mark.slow  # starts a host process
def test_a_host_whose_stdin_ends_mid_call_exits_at_once_without_answering_or_applying_it(host_environment,
                                                                                         tmp_path) -> None:
    host = _raw_host(tmp_path / "applied")
    try:
        _request(host, 1, RECEIPT)
        assert json.loads(host.stdout.readline()) == {"id": 1, "result": [1, RECEIPT, ""]}
        _request(host, 2, "fake:hang:30")
        assert any("ProcessTransXML started" in line for line in host.stderr)  # stops reading once seen
        host.stdin.close()  # the gateway is gone
        assert host.wait(timeout=2) == EXIT_GATEWAY_GONE
        assert host.stdout.read() == ""
        assert (tmp_path / "applied").read_text().splitlines().count("ProcessTransXML") == 1
    finally:
        host.kill()
        host.wait()


@pytest.mark.slow  # starts a host process
def test_a_host_whose_stdin_ends_with_every_call_answered_ends_normally(host_environment, tmp_path) -> None:
    host = _raw_host(tmp_path / "applied")
    _request(host, 1, RECEIPT)
    assert json.loads(host.stdout.readline())["id"] == 1
    host.stdin.close()
    assert host.wait(timeout=10) == 0


@pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="the gateway is 64-bit")
def test_the_job_limits_structure_has_the_size_of_windows_x64s() -> None:
    assert ctypes.sizeof(_JobObjectExtendedLimitInformation) == 144  # JOBOBJECT_EXTENDED_LIMIT_INFORMATION
    assert _JobObjectExtendedLimitInformation.BasicLimitInformation.offset == 0
    assert _JobObjectExtendedLimitInformation.IoInfo.offset == 64
