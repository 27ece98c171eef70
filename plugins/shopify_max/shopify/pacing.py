"""Cost-aware pacing: spend Shopify's leaky bucket without overdrawing it (SHOPIFY.md §2).

The pacer learns the bucket from each response's ``extensions.cost.throttleStatus`` (no bucket size or
restore rate is a constant; a connection may override them). Before a request it predicts how full the
bucket is now and waits until the operation's expected cost fits. On THROTTLED it computes the exact wait
from the numbers Shopify returned; the client retries after it under :mod:`shopify_max.retry_policy`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shopify_max.shopify.limits import MAX_QUERY_COST

# Before the first response for an operation its cost is unknown: assume the most one query may request
# (single-query max, SHOPIFY.md §2), so a first use can never be throttled. Mutations cost a flat 10.
UNKNOWN_QUERY_COST = float(MAX_QUERY_COST)
MUTATION_COST = 10.0


@dataclass
class BucketState:
    maximum_available: float
    currently_available: float
    restore_rate: float
    observed_at: float  # time.monotonic() when Shopify reported it

    def available_at(self, moment: float) -> float:
        elapsed = max(0.0, moment - self.observed_at)
        return min(self.maximum_available, self.currently_available + elapsed * self.restore_rate)


def throttle_wait_seconds(requested_cost: float, throttle_status: dict[str, Any]) -> float:
    """How long until ``requested_cost`` points are available, from a THROTTLED response's numbers."""
    missing = float(requested_cost) - float(throttle_status["currentlyAvailable"])
    rate = float(throttle_status["restoreRate"])
    return max(0.0, missing / rate) if rate > 0 else 1.0


class CostPacer:
    """Shared by every request of one client; thread-safe."""

    def __init__(self, *, max_cost_per_second: float | None = None, bucket_size: float | None = None,
                 initial_cost_estimate: float = UNKNOWN_QUERY_COST, safety_margin: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.restore_rate_override = max_cost_per_second
        self.bucket_size_override = bucket_size
        self.initial_cost_estimate = initial_cost_estimate
        self.safety_margin = safety_margin  # points kept in reserve for other clients of the same bucket
        self._clock = clock
        self._lock = threading.Lock()
        self._state: BucketState | None = None
        self._expected_cost: dict[str, float] = {}
        self._reserved = 0.0  # points promised to requests in flight

    @property
    def state(self) -> BucketState | None:
        return self._state

    def expected_cost(self, operation: str, first_guess: float | None = None) -> float:
        """The last requested cost seen for ``operation``; before any, ``first_guess`` or the initial estimate."""
        known = self._expected_cost.get(operation)
        if known is not None:
            return known
        return self.initial_cost_estimate if first_guess is None else first_guess

    def reserve(self, operation: str, first_guess: float | None = None) -> tuple[float, float]:
        """Wait time before sending ``operation`` and the points reserved for it (pass back to ``observe``)."""
        with self._lock:
            cost = self.expected_cost(operation, first_guess)
            state = self._state
            if state is None:
                return 0.0, 0.0
            now = self._clock()
            maximum = self.bucket_size_override or state.maximum_available
            rate = self.restore_rate_override or state.restore_rate
            available = min(maximum, state.available_at(now)) - self._reserved - self.safety_margin
            needed = min(cost, maximum - self.safety_margin)
            wait = 0.0 if available >= needed else (needed - available) / rate
            self._reserved += cost
            return wait, cost

    def observe(self, reserved: float, cost_extension: dict[str, Any] | None, operation: str) -> None:
        """Record what a response said (or release the reservation when it said nothing).

        Shopify measured the bucket before answering; dating the figure at receipt assumes the least restore.
        With requests in flight at once, of two reports the one that predicts fewer points now wins, so the
        pacer never believes in points the bucket may not have.
        """
        with self._lock:
            self._reserved = max(0.0, self._reserved - reserved)
            if not cost_extension:
                return
            status = cost_extension.get("throttleStatus")
            if status:
                now = self._clock()
                reported = BucketState(float(status["maximumAvailable"]), float(status["currentlyAvailable"]),
                                       float(status["restoreRate"]), now)
                if self._state is None or reported.available_at(now) <= self._state.available_at(now) \
                        or self._state.restore_rate != reported.restore_rate \
                        or self._state.maximum_available != reported.maximum_available:
                    self._state = reported
            requested = cost_extension.get("requestedQueryCost")
            if requested is not None:
                # Reserve the requested cost: Shopify checks the requested, not the actual, cost.
                self._expected_cost[operation] = float(requested)
