"""Buckets in a file beside the SQLite database, mapped into the memory of every process
that serves it (`serve --workers N`), under an exclusive file lock: one host, no server.

Layout: a 16-byte header (magic, version, slot count), then fixed slots of 32 bytes (the
first 16 bytes of the bucket name's SHA-256, tokens, stamp), found by open addressing over
`PROBES` slots. When every slot of a probe window is taken, the bucket used longest ago
gives way: an idle bucket has refilled anyway, so forgetting it changes nothing. Stamps are
`time.monotonic()`, one clock for every process of the host.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
import threading
import time

from scimitar.runtime.rate_limits.buckets import Decision, refill, take_one

_MAGIC = b"SCRL"
_VERSION = 1
_HEADER = struct.Struct("<4sII4x")
_SLOT = struct.Struct("<16sdd")
SLOTS = 16384
PROBES = 16
_EMPTY = bytes(16)


class FileStore:
    def __init__(self, path: str | None, *, slots: int = SLOTS) -> None:
        """`path` None: an anonymous map, for one process (an in-memory database)."""
        self.slots = slots
        size = _HEADER.size + slots * _SLOT.size
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        if path is None:
            self._map = mmap.mmap(-1, size)
            _HEADER.pack_into(self._map, 0, _MAGIC, _VERSION, slots)
            return
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            header = os.pread(self._fd, _HEADER.size, 0)
            if len(header) < _HEADER.size or _HEADER.unpack(header) != (_MAGIC, _VERSION, slots):
                # New, or written by another layout: start empty (buckets are transient).
                os.ftruncate(self._fd, 0)
                os.ftruncate(self._fd, size)
                os.pwrite(self._fd, _HEADER.pack(_MAGIC, _VERSION, slots), 0)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._map = mmap.mmap(self._fd, size)

    def take(self, bucket: str, rate: float, capacity: float) -> Decision:
        digest = hashlib.sha256(bucket.encode()).digest()[:16]
        start = int.from_bytes(digest[:8], "little") % self.slots
        with self._thread_lock:
            # flock is held by the open file, shared by this process's threads: the thread
            # lock keeps them apart, the file lock keeps the processes apart.
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                return self._take(digest, start, rate, capacity)
            finally:
                if self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _take(self, digest: bytes, start: int, rate: float, capacity: float) -> Decision:
        now = time.monotonic()
        chosen: int | None = None
        tokens = capacity
        stalest: tuple[float, int] | None = None
        for probe in range(min(PROBES, self.slots)):
            offset = _HEADER.size + ((start + probe) % self.slots) * _SLOT.size
            name, held, stamp = _SLOT.unpack_from(self._map, offset)
            if name == digest:
                chosen, tokens = offset, refill(held, stamp, now, rate, capacity)
                break
            if name == _EMPTY:
                chosen = offset
                break
            if stalest is None or stamp < stalest[0]:
                stalest = (stamp, offset)
        if chosen is None:
            assert stalest is not None
            chosen = stalest[1]
        tokens, decision = take_one(tokens, rate)
        _SLOT.pack_into(self._map, chosen, digest, tokens, now)
        return decision

    def close(self) -> None:
        self._map.close()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
