"""A TCP proxy in front of PostgreSQL that counts round trips on the wire.

A round trip starts each time the client sends after the server last spoke (or on a new
connection): bytes the client sends back to back, with no answer in between, are one trip,
however many protocol messages they hold (a pipeline). A Flush alone (`H`, which asks for
no answer of its own) joins the trip before it. What the client sends is also
recorded as message type letters (`P` parse, `B` bind, `E` execute, `S` sync, `Q` simple
query, …) so that a failing count can say what was sent.

With `delay` (seconds), what the server sends is held that long before the client gets it:
a network with that round-trip time between the two, as far as waiting for answers goes
(`bench/request_costs.py --db-delay-ms`).
"""

from __future__ import annotations

import heapq
import itertools
import selectors
import socket
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field


@dataclass
class _Link:
    client: socket.socket
    server: socket.socket
    #: Who sent last: "client" or "server" (a fresh connection counts as the server's turn).
    last: str = "server"
    started: bool = False
    pending: bytes = b""
    trips: list[list[str]] = field(default_factory=list)


class WireCounter:
    """Listens on a free loopback port and forwards every connection to `upstream`."""

    def __init__(
        self, upstream: tuple[str, int] = ("127.0.0.1", 5432), *, delay: float = 0.0
    ) -> None:
        self.upstream = upstream
        self.delay = delay
        #: Server answers held back: (when due, order, client socket, bytes).
        self._held: list[tuple[float, int, socket.socket, bytes]] = []
        self._order = itertools.count()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._lock = threading.Lock()
        self._links: list[_Link] = []
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="wire-counter", daemon=True)
        self._thread.start()

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgresql+psycopg://{user}@127.0.0.1:{self.port}/{database}"

    def reset(self) -> None:
        with self._lock:
            for link in self._links:
                link.trips.clear()

    @property
    def trips(self) -> list[list[str]]:
        """Every round trip since the last `reset`, each as the message types sent."""
        with self._lock:
            return [list(trip) for link in self._links for trip in link.trips]

    def close(self) -> None:
        self._stopped = True
        self._thread.join(timeout=5)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()

    def _run(self) -> None:
        while not self._stopped:
            timeout = 0.05
            if self._held:
                timeout = max(0.0, min(timeout, self._held[0][0] - time.perf_counter()))
                if timeout < 0.002:  # epoll waits whole milliseconds: sleep the rest exactly
                    time.sleep(timeout)
                    timeout = 0.0
            for key, _ in self._selector.select(timeout=timeout):
                if key.data is None:
                    self._accept()
                    continue
                link, from_client = key.data
                try:
                    self._forward(link, from_client)
                except Exception:  # never leave a client waiting: it sees the link drop
                    self._drop(link)
            now = time.perf_counter()
            while self._held and self._held[0][0] <= now:
                _, _, target, data = heapq.heappop(self._held)
                with suppress(OSError):  # the client went away meanwhile
                    target.sendall(data)

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        try:
            server = socket.create_connection(self.upstream)
        except OSError:
            client.close()  # the client sees the connection refused, as without us
            return
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = _Link(client, server)
        with self._lock:
            self._links.append(link)
        self._selector.register(client, selectors.EVENT_READ, (link, True))
        self._selector.register(server, selectors.EVENT_READ, (link, False))

    def _forward(self, link: _Link, from_client: bool) -> None:
        source, target = (link.client, link.server) if from_client else (link.server, link.client)
        try:
            data = source.recv(1 << 16)
        except OSError:
            data = b""
        if not data:
            self._drop(link)
            return
        with self._lock:
            if from_client:
                messages = self._messages(link, data)
                # A Flush alone asks for nothing new (it pushes out answers already owed):
                # it belongs to the trip whose answers it awaits.
                flush_only = bool(messages) and set(messages) == {"H"}
                if not link.trips or (link.last != "client" and not flush_only):
                    link.trips.append([])
                link.last = "client"
                link.trips[-1].extend(messages)
            else:
                link.last = "server"
        if self.delay and not from_client:
            due = time.perf_counter() + self.delay
            heapq.heappush(self._held, (due, next(self._order), target, data))
            return
        target.sendall(data)

    def _drop(self, link: _Link) -> None:
        for sock in (link.client, link.server):
            with suppress(KeyError, ValueError):
                self._selector.unregister(sock)
            sock.close()

    @staticmethod
    def _messages(link: _Link, data: bytes) -> list[str]:
        """The frontend message types in `data` (the startup packet has none)."""
        buffer = link.pending + data
        found: list[str] = []
        if not link.started:
            if len(buffer) < 4:
                link.pending = buffer
                return found
            size = int.from_bytes(buffer[:4], "big")
            if len(buffer) < size:
                link.pending = buffer
                return found
            code = int.from_bytes(buffer[4:8], "big")
            found.append("startup")
            buffer = buffer[size:]
            # An SSL or GSS request is answered with one byte; the real startup follows.
            link.started = code not in (80877103, 80877104)
        while len(buffer) >= 5:
            size = int.from_bytes(buffer[1:5], "big")
            if len(buffer) < size + 1:
                break
            found.append(chr(buffer[0]))
            buffer = buffer[size + 1 :]
        link.pending = buffer
        return found
