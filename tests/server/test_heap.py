"""ivr serve keeps its long-lived heap out of full collections, and settles it again on reload."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from fastagi.server.heap import settle_heap


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the test process's heap goes back to normal collection


def test_garbage_is_collected_and_what_lives_is_frozen(unfrozen: None) -> None:
    cycle = _Node()
    cycle.other = _Node()
    cycle.other.other = cycle  # only a collection frees a cycle
    gone = weakref.ref(cycle)
    kept = _Node()
    del cycle
    settle_heap()
    assert gone() is None
    assert gc.get_freeze_count() > 0
    assert not any(obj is kept for obj in gc.get_objects())  # skipped by the collector


def test_settling_again_lets_the_old_frozen_objects_be_collected(unfrozen: None) -> None:
    old = _Node()
    old.other = _Node()
    old.other.other = old
    gone = weakref.ref(old)
    settle_heap()  # `old` is frozen while it lives...
    del old
    settle_heap()  # ...and collected once it is garbage and the heap is settled again
    assert gone() is None
