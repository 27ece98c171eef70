"""One measured figure, as every benchmark module returns it."""

from __future__ import annotations

import socket
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass
class Figure:
    name: str  # what was measured, e.g. "dag parse time: orders_to_max.py (median of 7)"
    value: float
    unit: str  # "s", "ms", "orders/s", ...
    ratio: float | None = None  # against the stated baseline or bound, when there is one
    note: str = ""  # what the ratio compares with, sizes, conditions

    def line(self) -> str:
        ratio = "" if self.ratio is None else f"  ratio {self.ratio:.2f}"
        note = f"  ({self.note})" if self.note else ""
        return f"{self.name}: {self.value:.3f} {self.unit}{ratio}{note}"

    def as_dict(self) -> dict:
        return asdict(self)


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` calls to ``action``."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def free_port() -> int:
    """A loopback port nobody listens on now, for a sandbox process."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
