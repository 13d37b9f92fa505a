"""Per-process state of the subset routes: range readers, origin politeness, frame tables, threads.

Why shared: the gateway reads on behalf of many users, so politeness towards an origin (Zenodo's
guest limits by default, :data:`doi2data.transfer.limits.DEFAULT_RATES`) must hold for the whole
process, not per request; and a frame table (one header read per CBF file) is worth keeping
while the manifest it was built from is current.

Readers are made per request (their ETag memory and counters belong to one operation) over the
gateway's blocking client, which carries the safety hook and no credentials.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from ..http import Credentials
from ..subset.ranges import HostGates, RangeReader
from ..transfer.limits import DEFAULT_RATES, parse_rate
from .config import GatewayConfig


class SubsetState:
    """Readers (shared politeness), a small LRU of frame tables, single-flight per table."""

    def __init__(self, config: GatewayConfig, tables: int = 32) -> None:
        rates = dict(DEFAULT_RATES)
        rates.update(parse_rate(spec) for spec in config.origin_rates)
        #: One set of per-host token buckets for every reader of the process.
        self.gates = HostGates(rates)
        self._tables: OrderedDict[Hashable, Any] = OrderedDict()
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._size = tables
        #: Subset work (HDF5 reads, frame scans, tar listings) runs here, not on the loop's default
        #: executor: a long scan must not hold up the threads that open origin responses.
        self.executor = ThreadPoolExecutor(config.subset_workers, thread_name_prefix="doi2data-subset")

    def reader(self, client: httpx.Client, workers: int = 8) -> RangeReader:
        """A reader over the gateway's client: no credentials, the process's politeness."""
        return RangeReader(client=client, credentials=Credentials(), gates=self.gates, workers=workers)

    def table(self, key: Hashable) -> Any | None:
        found = self._tables.get(key)
        if found is not None:
            self._tables.move_to_end(key)
        return found

    def keep(self, key: Hashable, table: Any) -> None:
        self._tables[key] = table
        self._tables.move_to_end(key)
        while len(self._tables) > self._size:
            self._tables.popitem(last=False)

    def lock(self, key: Hashable) -> asyncio.Lock:
        """One builder per table at a time (others wait and take its result)."""
        if len(self._locks) > 4 * self._size:
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        return self._locks.setdefault(key, asyncio.Lock())

    def close(self) -> None:
        self._tables.clear()
        self.executor.shutdown(wait=False, cancel_futures=True)


__all__ = ["SubsetState"]
