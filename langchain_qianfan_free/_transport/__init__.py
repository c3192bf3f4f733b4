"""HTTP I/O.

The sync and async loops, the retry policy, the network environment and the
per-event-loop aiohttp sessions. The only package (with the emulator) that imports
``requests`` or ``aiohttp``.
"""
