"""A counting TCP relay in front of PostgreSQL: every statement a server sends is counted on its way.

The benchmark puts one listening port per side (A, B) between the app servers and PostgreSQL and
reads how many statements each side sent: a simple-protocol ``Query`` message or an
extended-protocol ``Execute`` message is one statement, whoever issued it (Django, the psycopg
pool's connection check, ``BEGIN``/``COMMIT``, savepoints, ``SET``). It counts what PostgreSQL
is asked to do, needs no extension on the server and no code in the measured commit.

    python bench/sqlproxy.py --upstream 127.0.0.1:54330 --listen 22160 --listen 22161

It prints ``ready`` once listening. Each line ``count`` on its standard input is answered with
one line of ``port=statements`` pairs (totals since the start). It relays bytes unchanged; an
``SSLRequest`` is answered "no" so the session continues in plain text on the loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import sys

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
#: Frontend messages that make the server run one statement.
STATEMENT_TYPES = frozenset(b"QE")


class Counter:
    """Statements seen on one listening port."""

    def __init__(self) -> None:
        self.statements = 0


class FrontendParser:
    """Splits the client's byte stream into protocol messages (across chunk boundaries) and counts statements."""

    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self.buffer = bytearray()
        self.skip = 0  # bytes of the current message body still to pass

    def feed(self, data: bytes) -> None:
        if self.skip >= len(data):
            self.skip -= len(data)
            return
        self.buffer += data[self.skip :]
        self.skip = 0
        view = self.buffer
        pos = 0
        while len(view) - pos >= 5:
            kind = view[pos]
            (length,) = struct.unpack_from("!i", view, pos + 1)
            if kind in STATEMENT_TYPES:
                self.counter.statements += 1
            end = pos + 1 + length
            if end > len(view):
                self.skip = end - len(view)
                pos = len(view)
                break
            pos = end
        del self.buffer[:pos]


async def _read_startup(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """The client's startup packet, answering SSL/GSS encryption requests with "no" first."""
    while True:
        head = await reader.readexactly(8)
        length, code = struct.unpack("!ii", head)
        body = await reader.readexactly(length - 8)
        if code in (SSL_REQUEST, GSSENC_REQUEST):
            writer.write(b"N")
            await writer.drain()
            continue
        return head + body


async def _pump(reader, writer, parser: FrontendParser | None) -> None:
    try:
        while data := await reader.read(65536):
            if parser is not None:
                parser.feed(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


def handler(upstream: tuple[str, int], counter: Counter):
    """The connection handler of one listening port."""

    async def relay(client_reader, client_writer):
        try:
            startup = await _read_startup(client_reader, client_writer)
            server_reader, server_writer = await asyncio.open_connection(*upstream)
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            client_writer.close()
            return
        server_writer.write(startup)
        await server_writer.drain()
        await asyncio.gather(
            _pump(client_reader, server_writer, FrontendParser(counter)),
            _pump(server_reader, client_writer, None),
        )

    return relay


async def _control(counters: dict[int, Counter]) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        if line.strip() == b"count":
            print(" ".join(f"{port}={c.statements}" for port, c in counters.items()), flush=True)


async def main(upstream: tuple[str, int], ports: list[int]) -> None:
    counters = {port: Counter() for port in ports}
    servers = [await asyncio.start_server(handler(upstream, counters[p]), "127.0.0.1", p) for p in ports]
    print("ready", flush=True)
    await _control(counters)  # ends when the benchmark closes our standard input
    for server in servers:
        server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="host:port of PostgreSQL")
    parser.add_argument("--listen", type=int, action="append", required=True, help="a port on 127.0.0.1 (repeat)")
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")
    asyncio.run(main((host, int(port)), args.listen))
