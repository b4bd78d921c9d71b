"""The long-lived heap kept out of the garbage collector's full passes.

What `ivr serve` builds at start-up (modules, Twisted, pydantic's validators,
the menus, phone-number metadata) lives as long as the process, yet every
full collection walked it: about 30 ms a pass, ~10 us of CPU per call at full
load (docs/benchmarks.md). Frozen (`gc.freeze`), those objects are skipped;
what calls create is collected as before. After a reload the heap is settled
again, so old menus that are now garbage are collected first, not kept frozen.

Young collections are put off until 10,000 objects (not CPython's 700):
the calls in progress hold a few thousand young objects (coroutines, their
frames, pending replies), so at 700 a young pass ran every ~30 calls and
walked them all, ~8 us of CPU per call at full load; at 10,000 it runs
when garbage cycles really pile up (docs/benchmarks.md).
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "settle_heap"]

#: Net new objects between two young collections.
YOUNG_THRESHOLD = 10_000


def settle_heap() -> None:
    """Collect what is garbage now, then freeze everything left alive.

    Also sets the young generation's threshold (the older two keep theirs).
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
