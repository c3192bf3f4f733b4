"""Samples per client and metric, and the medians, percentiles and ratios reported."""

from __future__ import annotations

import statistics
from collections import defaultdict


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


class Samples:
    """``samples[metric][client]`` holds one list of values per round."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, list[list[float]]]] = defaultdict(dict)

    def add(self, metric: str, client: str, values: list[float]) -> None:
        """Record one round of ``values``."""
        self._data[metric].setdefault(client, []).append(values)

    def has(self, metric: str, client: str) -> bool:
        return client in self._data.get(metric, {})

    def all(self, metric: str, client: str) -> list[float]:
        """Every value of every round."""
        return [value for one in self._data[metric][client] for value in one]

    def median(self, metric: str, client: str) -> float:
        return statistics.median(self.all(metric, client))

    def p99(self, metric: str, client: str) -> float:
        return percentile(self.all(metric, client), 0.99)

    def round_medians(self, metric: str, client: str) -> list[float]:
        return [statistics.median(one) for one in self._data[metric][client]]

    def overhead(self, metric: str, client: str, floor: str) -> float:
        """Median over rounds of (client's round median − floor's round median).

        Rounds pair up because every round measures every client, in alternating order,
        so slow phases of the machine hit both sides of a difference alike.
        """
        ours, base = self.round_medians(metric, client), self.round_medians(metric, floor)
        return statistics.median(a - b for a, b in zip(ours, base, strict=True))

    def ratio(self, metric: str, client: str, floor: str) -> float:
        """Median over rounds of (client's round median / floor's round median)."""
        ours, base = self.round_medians(metric, client), self.round_medians(metric, floor)
        return statistics.median(a / b for a, b in zip(ours, base, strict=True))

    def as_dict(self) -> dict[str, dict[str, list[list[float]]]]:
        return {metric: dict(clients) for metric, clients in self._data.items()}
