"""The long-lived heap kept out of the garbage collector's full passes.

What `ivr serve` builds at start-up (modules, Twisted, pydantic's validators,
the menus, phone-number metadata) lives as long as the process, yet every
full collection walked it: about 30 ms a pass, ~10 us of CPU per call at full
load (docs/benchmarks.md). Frozen (`gc.freeze`), those objects are skipped;
what calls create is collected as before. After a reload the heap is settled
again, so old menus that are now garbage are collected first, not kept frozen.
"""

from __future__ import annotations

import gc

__all__ = ["settle_heap"]


def settle_heap() -> None:
    """Collect what is garbage now, then freeze everything left alive."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
