"""ivr serve keeps its long-lived heap out of full collections, and settles it again on reload."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator

import pytest

from fastagi.server.heap import YOUNG_THRESHOLD, settle_heap


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


@pytest.fixture
def default_thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def _young_collections_while(work: Callable[[], object]) -> int:
    passes = 0

    def count(phase: str, info: dict[str, int]) -> None:
        nonlocal passes
        if phase == "start" and info["generation"] == 0:
            passes += 1

    gc.callbacks.append(count)
    try:
        work()
    finally:
        gc.callbacks.remove(count)
    return passes


def test_calls_in_progress_do_not_set_off_young_collections(
    unfrozen: None, default_thresholds: None
) -> None:
    settle_heap()
    # What a hundred calls in progress hold: thousands of live young containers.
    held = _young_collections_while(lambda: [[_Node()] for _ in range(3000)])
    assert held == 0


def test_garbage_cycles_are_still_collected_without_asking(
    unfrozen: None, default_thresholds: None
) -> None:
    settle_heap()
    first = _Node()
    first.other = _Node()
    first.other.other = first
    gone = weakref.ref(first)
    del first

    def pile_up_cycles() -> None:
        for _ in range(2 * YOUNG_THRESHOLD):
            node = _Node()
            node.other = node

    assert _young_collections_while(pile_up_cycles) > 0
    assert gone() is None
