"""`ivr bench`: our server against panoramisk and a bare asyncio responder, same calls.

The bench places one call of a demo-menu scenario against our server,
records the AGI command lines it sent, and hands that list to two peer
servers, so all three do exactly the same work on the wire:

- `fastagi.bench.panoramisk_peer`: a minimal panoramisk FastAGI application;
- `fastagi.bench.bare_peer`: a few dozen lines of `asyncio.start_server`.

Each runs in its own process (`python -m fastagi.bench.<peer> --port P
--commands FILE`), pinned to one CPU; the Asterisk emulator drives it from
another. See `fastagi.bench.runner.run_bench` and docs/benchmarks.md.

This package module imports nothing on purpose: the peers are started as
``python -m fastagi.bench.<peer>`` and their memory must not include the
bench's own imports (the emulator, the menus, Twisted).
"""
