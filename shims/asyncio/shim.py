#!/usr/bin/env python3
"""The asyncio shim: certifies Python's asyncio event loop with the conformance catalogue.

It speaks the protocol of docs/SHIM.md: one JSON request per line on stdin, one JSON answer
per line on stdout, its log on stderr. For each `pair` request it runs a server probe and a
client probe against each other on a fresh event loop, with asyncio's own streams
(`loop.create_server`, `loop.create_connection`, `loop.create_unix_server`) and TLS through
`loop.start_tls`, and answers with what each side saw. It reports what asyncio does; the
runner decides whether that is what the case expects.

Standard library only. Each probe is a small class whose callbacks mirror our `Protocol`
(crates/protocols/src/<probe>.rs), driving a `Conn`: the transport handle a probe sees,
on top of an `asyncio.Transport`.
"""

import asyncio
import base64
import hashlib
import json
import ssl
import sys
import time
import unicodedata

PROTOCOL = 1

# Received bytes are sent whole up to this many; past it, by SHA-256 and the first 64 KiB.
WHOLE_UP_TO = 16 << 20
HEAD = 64 * 1024

# Past this many events, a data event following another is merged into it (docs/SHIM.md, 6).
EVENTS_KEPT = 1 << 16

TRANSPORTS = ["tcp", "tcp6", "tls", "unix"]
DELIVERIES = ["whole", "bytewise", "chunked"]
PROBES = {
    "closing-later": ["send"],
    "closing": [],
    "echo": [],
    "send": ["data", "data_hex", "size", "then"],
    "accumulate": ["close_after"],
    "abort-on-data": ["send"],
    "close-twice": ["send", "when", "first", "second"],
    "half-close": ["send", "when", "twice", "close_on_write_lost", "fail"],
    "large-buffer-writer": ["size", "delay_ms"],
    "pause-reading": ["on", "resume_after_ms", "close_after"],
    "write-sequence": ["parts", "then"],
    "reject-data": ["send", "allow"],
    "panic-on-data": ["send"],
    "never-close": ["send"],
    "idle": [],
}
STEPS = [
    "send", "send_hex", "send_size", "expect", "expect_hex", "expect_size", "wait",
    "pause_reading", "resume_reading", "half_close", "close", "abort", "expect_closed",
]
TLS_FEATURES = ["client_cert", "require_client_cert", "verify_false"]


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def generated(start, count):
    """`count` bytes of the generated pattern from byte `start`: byte i is 'a' + i % 26."""
    period = bytes(range(ord("a"), ord("a") + 26))
    offset = start % 26
    repeated = period * ((offset + count) // 26 + 1)
    return repeated[offset:offset + count]


def describe(data):
    """Bytes as the runner's messages show them: text or hex, with the count."""
    head = data[:64]
    more = "..." if len(data) > 64 else ""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and not any(
            unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text):
        return f"{json.dumps(text, ensure_ascii=False)}{more} ({len(data)} bytes)"
    return f"hex {head.hex()}{more} ({len(data)} bytes)"


class ProbeFailed(Exception):
    """A probe's callback failed on purpose (a script's mismatch, `fail = ...`)."""


# -- What a side saw ------------------------------------------------------------------------


class Record:
    """One side's events, reason and received bytes, as the answer reports them."""

    def __init__(self, origin):
        self.origin = origin
        self.events = []
        self.reason = None
        self.detail = ""
        self.received = bytearray()
        self.received_total = 0
        self.digest = hashlib.sha256()

    def event(self, word, **fields):
        at_us = int((time.monotonic() - self.origin) * 1e6)
        if (word == "data" and len(self.events) >= EVENTS_KEPT
                and self.events[-1]["event"] == "data"):
            self.events[-1]["bytes"] += fields["bytes"]
            return
        self.events.append({"at_us": at_us, "event": word, **fields})

    def got(self, chunk):
        self.event("data", bytes=len(chunk))
        self.received_total += len(chunk)
        self.digest.update(chunk)
        if len(self.received) < WHOLE_UP_TO + 1:
            self.received += chunk[:WHOLE_UP_TO + 1 - len(self.received)]

    def answer(self):
        if self.received_total <= WHOLE_UP_TO:
            received = {"length": self.received_total,
                        "base64": base64.b64encode(bytes(self.received)).decode()}
        else:
            received = {"length": self.received_total,
                        "sha256": self.digest.hexdigest(),
                        "head_base64": base64.b64encode(bytes(self.received[:HEAD])).decode()}
        # A copy: what asyncio does after the answer (closing what the timeout aborted)
        # must not change it.
        return {"reason": self.reason, "detail": self.detail,
                "events": [dict(event) for event in self.events], "received": received}


class Splitter:
    """Splits each read for the delivery mode; splitmix64 for `chunked`, as our reactors."""

    MASK = (1 << 64) - 1

    def __init__(self, delivery, seed):
        self.delivery = delivery
        self.state = seed or 0

    def _next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def size(self, left):
        if self.delivery == "bytewise":
            return 1
        if self.delivery == "chunked":
            return 1 + self._next() % left
        return left


# -- The transport a probe sees -------------------------------------------------------------


class Conn(asyncio.Protocol):
    """One side: the asyncio protocol of its connection, and the handle its probe drives.

    Our contract's calls map to asyncio's: write -> transport.write, lose_connection ->
    transport.close() (flushes first), abort_connection -> transport.abort(), half_close ->
    transport.write_eof(), pause/resume_reading -> transport.pause/resume_reading(),
    call_later -> loop.call_later. Over TLS, TCP is connected first (connection_made), then
    `loop.start_tls` performs the handshake: writes and closes the probe asks for meanwhile
    wait for it, as in Twisted.
    """

    def __init__(self, pairing, role, probe):
        self.pairing = pairing
        self.role = role
        self.probe = probe
        self.record = Record(pairing.origin)
        self.splitter = Splitter(pairing.delivery, pairing.seed)
        self.transport = None
        self.tls = pairing.tls is not None
        self.handshaking = False
        self.pending_writes = []
        self.close_requested = None      # "lose" or "abort"
        self.half_closed = False
        self.write_shut = False
        self.peer_half_closed = False
        self.reading_paused = False
        self.held = b""
        self.offset = 0       # how much of `held` was handed over already
        self.gathered = None  # writes made while a read is handed over, sent as one
        self.timers = []
        self.failure = None
        self.done = pairing.loop.create_future()
        if role == "client" and self.tls and not pairing.tls["verify"]:
            self.record.event("unverified")

    # The probe's calls -------------------------------------------------------------------

    def write(self, data):
        if self.close_requested or self.transport is None or not data:
            return
        if self.handshaking:
            self.pending_writes.append(bytes(data))
        elif self.gathered is not None and not self.half_closed:
            self.gathered.append(bytes(data))
        else:
            # After write_eof asyncio raises here, in the probe's callback, as it would
            # unsplit: that is not gathered.
            self.transport.write(data)

    def write_sequence(self, parts):
        """Our write_sequence: asyncio's writelines."""
        if self.close_requested or self.transport is None:
            return
        if self.handshaking:
            self.pending_writes.extend(bytes(part) for part in parts if part)
        elif self.gathered is not None and not self.half_closed:
            self.gathered.extend(bytes(part) for part in parts if part)
        else:
            self.transport.writelines(parts)

    def _flush_gathered(self):
        """Writes what the probe wrote since the read's hand-over began, as one write."""
        gathered = self.gathered
        if gathered:
            self.gathered = []
            if not self.close_requested and self.transport is not None:
                self.transport.write(b"".join(gathered))

    def lose_connection(self):
        self._ask_close("lose")

    def abort_connection(self):
        self._ask_close("abort")

    def _ask_close(self, how):
        if self.close_requested == "abort" or self.transport is None or self.done.done():
            return
        if self.close_requested == how:
            return
        if how == "abort":
            # An abort discards what is unsent, the gathered bytes too.
            self.gathered = [] if self.gathered is not None else None
        else:
            self._flush_gathered()
        self.close_requested = how
        self.record.event("close-requested", how=how)
        if how == "abort":
            self.pending_writes = []
            self.transport.abort()
        elif not self.handshaking:
            self.transport.close()

    def half_close(self):
        if self.close_requested or self.half_closed or self.transport is None:
            return
        if self.tls:
            # TLS has no half-close, and asyncio's TLS transport refuses write_eof: a full
            # close, as in our contract.
            self.lose_connection()
            return
        self._flush_gathered()
        self.half_closed = True
        self.record.event("half-close-requested")
        self.transport.write_eof()
        self._await_write_shut()

    def pause_reading(self):
        if not self.reading_paused and self._open():
            self.reading_paused = True
            self.record.event("paused")
            if not self.handshaking:
                self.transport.pause_reading()

    def resume_reading(self):
        if self.reading_paused and self._open():
            self.reading_paused = False
            self.record.event("resumed")
            if not self.handshaking:
                self.transport.resume_reading()
            self._deliver(b"")

    def call_later(self, ms, callback):
        def fire():
            if self._open():
                self.record.event("timer")
                self._call(callback)
        handle = self.pairing.loop.call_later(ms / 1000, fire)
        self.timers.append(handle)
        return handle

    # asyncio's callbacks -----------------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport
        self.record.event("made")
        if self.tls:
            # start_tls pauses and resumes reading itself; nothing is read before it.
            transport.pause_reading()
            self.handshaking = True
            self.pairing.loop.create_task(self._handshake())
        self._call(self.probe.connection_made, self)

    async def _handshake(self):
        tls = self.pairing.tls
        try:
            upgraded = await self.pairing.loop.start_tls(
                self.transport, self, self.pairing.context(self.role),
                server_side=self.role == "server",
                server_hostname=None if self.role == "server" else tls["server_name"],
                ssl_handshake_timeout=self.pairing.timeout)
        except (ssl.SSLError, OSError) as error:
            if self.close_requested == "abort":
                self._end("aborted", "")
            elif isinstance(error, ssl.SSLError):
                self._end("tls", str(error))
            else:
                self._end("lost", str(error) or type(error).__name__)
            return
        if upgraded is None or self.done.done():
            return
        self.transport = upgraded
        self.handshaking = False
        self.record.event("handshake")
        self._call(self.probe.handshake_completed, self)
        for data in self.pending_writes:
            upgraded.write(data)
        self.pending_writes = []
        if self.reading_paused:
            upgraded.pause_reading()
        if self.close_requested == "lose":
            upgraded.close()
        self._deliver(b"")

    def data_received(self, data):
        if self.handshaking:
            # asyncio hands over data decrypted after the handshake before start_tls
            # returns: held until the handshake is recorded, which came first.
            self._hold(data)
            return
        self._deliver(data)

    def _hold(self, data):
        if data:
            self.held = self.held[self.offset:] + data
            self.offset = 0

    def _deliver(self, data):
        """Hands what was read to the probe, split for the delivery mode; what is left when
        the probe pauses or asks to close is held (and handed over on resume).

        What the probe writes back from the pieces of one read (an echo, bytewise) is
        gathered and written once the hand-over ends, as asyncio would have had it from one
        data_received with the whole read, not one send per byte (docs/SHIM.md, 9). Pieces
        are sliced from an offset into the held bytes: cutting the rest off each time would
        copy it for every byte."""
        self._hold(data)
        outermost = self.gathered is None  # a resume from inside a data callback nests
        if outermost:
            self.gathered = []
        try:
            while (self.offset < len(self.held) and self._accepts_data()
                   and not self.reading_paused):
                size = self.splitter.size(len(self.held) - self.offset)
                chunk = self.held[self.offset:self.offset + size]
                self.offset += size
                if self.offset >= len(self.held):
                    self.held, self.offset = b"", 0
                self.record.got(chunk)
                self._call(self.probe.data_received, self, chunk)
        finally:
            if outermost:
                self._flush_gathered()
                self.gathered = None

    def eof_received(self):
        if not self.tls and self.probe.half_close_aware() and not self.close_requested:
            if not self.peer_half_closed:
                self.peer_half_closed = True
                self.record.event("read-lost")
                self._call(self.probe.read_connection_lost, self)
            # Both directions closed: the connection is over.
            return not self.write_shut and not self.done.done()
        # Not half-close aware (or over TLS): asyncio flushes, closes, and ends it done.
        return False

    def connection_lost(self, error):
        if self.close_requested == "abort":
            self._end("aborted", "")
        elif error is None:
            self._end("done", "")
        elif isinstance(error, ssl.SSLError):
            self._end("tls", str(error))
        else:
            self._end("lost", str(error) or type(error).__name__)

    # Inside ------------------------------------------------------------------------------

    def _open(self):
        return self.transport is not None and not self.done.done()

    def _accepts_data(self):
        return self._open() and not self.close_requested and not self.peer_half_closed

    def _await_write_shut(self):
        """write-lost once asyncio has flushed and shut down writing (it does so when its
        write buffer empties after write_eof; asyncio has no callback for it)."""
        if not self._open():
            return
        if self.transport.get_write_buffer_size() > 0:
            self.pairing.loop.call_later(0.001, self._await_write_shut)
            return
        self.write_shut = True
        self.record.event("write-lost")
        self._call(self.probe.write_connection_lost, self)
        if self.peer_half_closed and self._open() and not self.close_requested:
            self.transport.close()

    def _call(self, callback, *args):
        """Runs a probe callback; one that raises ends the side `error` and aborts."""
        if self.done.done() or self.failure is not None:
            return
        try:
            callback(*args)
        except Exception as error:  # the probe's failure, reported as the contract says
            message = str(error) or type(error).__name__
            self.record.event("callback-failed", message=message)
            self.failure = message
            if self.transport is not None:
                self.transport.abort()

    def _end(self, reason, detail):
        if self.done.done():
            return
        for timer in self.timers:
            timer.cancel()
        if self.failure is not None:
            reason, detail = "error", self.failure
        self.record.event("lost")
        try:
            self.probe.connection_lost(self, reason)
        except Exception as error:
            reason, detail = "error", str(error)
        self.record.reason = reason
        self.record.detail = detail
        self.done.set_result(None)

    def refused(self, detail):
        """The connection was never established."""
        if not self.done.done():
            self.record.reason = "refused"
            self.record.detail = detail
            self.done.set_result(None)


# -- The probes (crates/protocols/src/<name>.rs) ---------------------------------------------


class Probe:
    """Does nothing: the callbacks every probe has, as our `Protocol`'s defaults."""

    def half_close_aware(self):
        return False

    def connection_made(self, conn):
        pass

    def handshake_completed(self, conn):
        pass

    def data_received(self, conn, data):
        pass

    def read_connection_lost(self, conn):
        pass

    def write_connection_lost(self, conn):
        pass

    def connection_lost(self, conn, reason):
        pass


class ClosingLater(Probe):
    """Writes `send` when connected; closes cleanly on the first data."""

    def __init__(self, send=None):
        self.send, self.closing = send, False

    def connection_made(self, conn):
        if self.send is not None:
            conn.write(self.send.encode())

    def data_received(self, conn, data):
        if not self.closing:
            self.closing = True
            conn.lose_connection()


class Closing(Probe):
    """Closes cleanly as soon as the connection is made."""

    def connection_made(self, conn):
        conn.lose_connection()


class Echo(Probe):
    """Writes back every chunk."""

    def data_received(self, conn, data):
        conn.write(data)


class Send(Probe):
    """Writes a payload when connected, then waits, closes or aborts."""

    def __init__(self, data=None, data_hex=None, size=None, then="wait"):
        if data is not None:
            self.payload = data.encode()
        elif data_hex is not None:
            self.payload = bytes.fromhex(data_hex)
        else:
            self.payload = generated(0, size)
        self.then = then

    def connection_made(self, conn):
        conn.write(self.payload)
        if self.then == "close":
            conn.lose_connection()
        elif self.then == "abort":
            conn.abort_connection()


class Accumulate(Probe):
    """Takes everything in; with close_after, closes once that many bytes arrived."""

    def __init__(self, close_after=None):
        self.close_after, self.received, self.closing = close_after, 0, False

    def _close_if_due(self, conn):
        if self.close_after is not None and not self.closing and self.received >= self.close_after:
            self.closing = True
            conn.lose_connection()

    def connection_made(self, conn):
        self._close_if_due(conn)

    def data_received(self, conn, data):
        self.received += len(data)
        self._close_if_due(conn)


class AbortOnData(Probe):
    """Writes `send` when connected; aborts on the first data."""

    def __init__(self, send=None):
        self.send, self.aborted = send, False

    def connection_made(self, conn):
        if self.send is not None:
            conn.write(self.send.encode())

    def data_received(self, conn, data):
        if not self.aborted:
            self.aborted = True
            conn.abort_connection()


class CloseTwice(Probe):
    """Closes or aborts twice in a row, when connected or on the first data."""

    def __init__(self, first, second, send=None, when="data"):
        self.first, self.second, self.send, self.when = first, second, send, when
        self.closed = False

    def _close_twice(self, conn):
        if not self.closed:
            self.closed = True
            for how in (self.first, self.second):
                if how == "lose":
                    conn.lose_connection()
                else:
                    conn.abort_connection()

    def connection_made(self, conn):
        if self.send is not None:
            conn.write(self.send.encode())
        if self.when == "made":
            self._close_twice(conn)

    def data_received(self, conn, data):
        self._close_twice(conn)


class HalfClose(Probe):
    """Writes, then half-closes (when made, on data, at the peer's half-close, or never)."""

    def __init__(self, send=None, when="made", twice=False, close_on_write_lost=False, fail=None):
        self.send, self.when, self.twice = send, when, twice
        self.close_on_write_lost, self.fail = close_on_write_lost, fail
        self.done = False

    def half_close_aware(self):
        return True

    def _half_close(self, conn):
        if self.done:
            return
        self.done = True
        if self.send is not None:
            conn.write(self.send.encode())
        conn.half_close()
        if self.twice:
            conn.half_close()

    def connection_made(self, conn):
        if self.when == "made":
            self._half_close(conn)

    def data_received(self, conn, data):
        if self.when == "data":
            self._half_close(conn)

    def read_connection_lost(self, conn):
        if self.fail == "read-lost":
            raise ProbeFailed("read_connection_lost failed on purpose")
        if self.when == "read-lost":
            self._half_close(conn)

    def write_connection_lost(self, conn):
        if self.fail == "write-lost":
            raise ProbeFailed("write_connection_lost failed on purpose")
        if self.close_on_write_lost:
            conn.lose_connection()


class LargeBufferWriter(Probe):
    """Writes size - 1 Xs when connected, the last X delay_ms later, then closes."""

    def __init__(self, size, delay_ms=1):
        self.size, self.delay_ms = size, delay_ms

    def connection_made(self, conn):
        if self.size > 1:
            conn.write(b"X" * (self.size - 1))
        conn.call_later(self.delay_ms, lambda: self._last(conn))

    def _last(self, conn):
        if self.size > 0:
            conn.write(b"X")
        conn.lose_connection()


class PauseReading(Probe):
    """Pauses reading when connected or on the first data; resumes after a delay."""

    def __init__(self, on="data", resume_after_ms=None, close_after=None):
        self.on, self.resume_after_ms, self.close_after = on, resume_after_ms, close_after
        self.paused_once, self.received = False, 0

    def _pause(self, conn):
        if self.paused_once:
            return
        self.paused_once = True
        conn.pause_reading()
        if self.resume_after_ms is not None:
            conn.call_later(self.resume_after_ms, conn.resume_reading)

    def connection_made(self, conn):
        if self.on == "made":
            self._pause(conn)

    def data_received(self, conn, data):
        self.received += len(data)
        if self.close_after is not None and self.received >= self.close_after:
            conn.lose_connection()
            return
        self._pause(conn)


class WriteSequence(Probe):
    """Writes its parts with one writelines call when connected, then waits, closes or aborts."""

    def __init__(self, parts, then="wait"):
        self.parts, self.then = [part.encode() for part in parts], then

    def connection_made(self, conn):
        conn.write_sequence(self.parts)
        if self.then == "close":
            conn.lose_connection()
        elif self.then == "abort":
            conn.abort_connection()


class RejectData(Probe):
    """Writes `send` when connected; fails on the first byte not in `allow`."""

    def __init__(self, send=None, allow=""):
        self.send, self.allowed, self.received = send, set(allow.encode()), 0

    def connection_made(self, conn):
        if self.send is not None:
            conn.write(self.send.encode())

    def data_received(self, conn, data):
        for at, byte in enumerate(data):
            if byte not in self.allowed:
                raise ProbeFailed(f"unexpected byte {chr(byte)!r} at offset {self.received + at}")
        self.received += len(data)


class PanicOnData(Probe):
    """Writes `send` when connected; raises when the first data arrives."""

    def __init__(self, send=None):
        self.send = send

    def connection_made(self, conn):
        if self.send is not None:
            conn.write(self.send.encode())

    def data_received(self, conn, data):
        raise RuntimeError(f"panic-on-data got {len(data)} bytes and panicked on purpose")


class NeverClose(Probe):
    """Writes `send` when connected, then never closes, not even at the peer's half-close."""

    def __init__(self, send=None):
        self.send = send

    def half_close_aware(self):
        return True

    def connection_made(self, conn):
        if self.send is not None:
            conn.write(self.send.encode())


class Script(Probe):
    """A conversation written in the suite file: steps run in order (script.rs)."""

    def __init__(self, steps):
        self.steps = [next(iter(step.items())) for step in steps]
        self.next, self.inbox, self.generated = 0, b"", 0
        self.peer_closed, self.waiting = False, False

    def half_close_aware(self):
        words = [word for word, _ in self.steps]
        return "expect_closed" in words and words.index("expect_closed") + 1 < len(words)

    def _mismatch(self, expected, how):
        word = self.steps[self.next][0]
        got = self.inbox[:max(len(expected), 1) + 16]
        return (f"script step {self.next + 1} ({word}): expected {describe(expected)}, "
                f"{how} {describe(got)}")

    def _expect(self, expected):
        have = min(len(self.inbox), len(expected))
        if self.inbox[:have] != expected[:have]:
            raise ProbeFailed(self._mismatch(expected, "received"))
        if have < len(expected):
            return False
        self.inbox = self.inbox[len(expected):]
        return True

    def _advance(self, conn):
        while self.next < len(self.steps):
            word, value = self.steps[self.next]
            if word == "send":
                conn.write(value.encode())
            elif word == "send_hex":
                conn.write(bytes.fromhex(value))
            elif word == "send_size":
                conn.write(generated(self.generated, value))
                self.generated += value
            elif word == "expect":
                if not self._expect(value.encode()):
                    return
            elif word == "expect_hex":
                if not self._expect(bytes.fromhex(value)):
                    return
            elif word == "expect_size":
                if len(self.inbox) < value:
                    return
                self.inbox = self.inbox[value:]
            elif word == "wait":
                if not self.waiting:
                    self.waiting = True
                    conn.call_later(value, lambda: self._waited(conn))
                return
            elif word == "pause_reading":
                conn.pause_reading()
            elif word == "resume_reading":
                conn.resume_reading()
            elif word == "half_close":
                conn.half_close()
            elif word == "close":
                conn.lose_connection()
            elif word == "abort":
                conn.abort_connection()
            elif word == "expect_closed":
                if not self.peer_closed:
                    return
            self.next += 1

    def _waited(self, conn):
        self.waiting = False
        self.next += 1
        conn._call(self._advance, conn)

    def _wants_data(self):
        return any(word in ("expect", "expect_hex", "expect_size")
                   for word, _ in self.steps[self.next:])

    def connection_made(self, conn):
        self._advance(conn)

    def data_received(self, conn, data):
        if self._wants_data():
            self.inbox += data
        self._advance(conn)

    def read_connection_lost(self, conn):
        self.peer_closed = True
        self._advance(conn)

    def connection_lost(self, conn, reason):
        # A connection that broke already says why the script could not finish; only a
        # clean close with steps left is the script's failure.
        if reason != "done":
            return
        self.peer_closed = True
        self._advance(conn)
        if self.next >= len(self.steps):
            return
        word, value = self.steps[self.next]
        if word in ("expect", "expect_hex"):
            expected = value.encode() if word == "expect" else bytes.fromhex(value)
            raise ProbeFailed(self._mismatch(expected, "but the connection closed after"))
        raise ProbeFailed(
            f"script step {self.next + 1} ({word}) had not run when the connection closed")


PROBE_CLASSES = {
    "closing-later": ClosingLater,
    "closing": Closing,
    "echo": Echo,
    "send": Send,
    "accumulate": Accumulate,
    "abort-on-data": AbortOnData,
    "close-twice": CloseTwice,
    "half-close": HalfClose,
    "large-buffer-writer": LargeBufferWriter,
    "pause-reading": PauseReading,
    "write-sequence": WriteSequence,
    "reject-data": RejectData,
    "panic-on-data": PanicOnData,
    "never-close": NeverClose,
    "idle": Probe,
}


def build_probe(side):
    if "script" in side:
        return Script(side["script"])
    return PROBE_CLASSES[side["probe"]](**side.get("arguments", {}))


# -- One pairing -----------------------------------------------------------------------------


class Pairing:
    """One `pair` request: a listener, a connection to it, both sides driven to their end."""

    def __init__(self, request, loop):
        self.loop = loop
        self.origin = time.monotonic()
        self.transport = request["transport"]
        self.delivery = request["delivery"]
        self.seed = request.get("seed")
        self.timeout = request["timeout_ms"] / 1000
        self.tls = request.get("tls")
        self.unix_path = request.get("unix_path")
        self.server = Conn(self, "server", build_probe(request["server"]))
        self.client = Conn(self, "client", build_probe(request["client"]))

    def context(self, role):
        tls = self.tls
        if role == "server":
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls["cert"], tls["key"])
            if tls["require_client_cert"]:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(tls["ca"])
            elif tls["client_cert"]:
                context.verify_mode = ssl.CERT_OPTIONAL
                context.load_verify_locations(tls["ca"])
            return context
        context = ssl.create_default_context(cafile=tls["ca"])
        if not tls["verify"]:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if tls["client_cert"]:
            context.load_cert_chain(tls["client_cert"], tls["client_key"])
        return context

    async def run(self):
        accepted = []

        def serve():
            # One connection per pairing: the listener is closed once it is accepted.
            if accepted:
                return Refuser()
            accepted.append(True)
            return self.server

        if self.transport == "unix":
            server = await self.loop.create_unix_server(serve, self.unix_path)
            connect = lambda: self.loop.create_unix_connection(lambda: self.client, self.unix_path)
        else:
            host = "::1" if self.transport == "tcp6" else "127.0.0.1"
            server = await self.loop.create_server(serve, host, 0)
            port = server.sockets[0].getsockname()[1]
            connect = lambda: self.loop.create_connection(lambda: self.client, host, port)
        try:
            try:
                await connect()
            except OSError as error:
                self.client.refused(f"connecting: {error}")
                self.server.refused("no connection arrived")
            sides = [self.server.done, self.client.done]
            await asyncio.wait(sides, timeout=max(0.0, self.timeout - (time.monotonic() - self.origin)))
        finally:
            server.close()
            for side in (self.server, self.client):
                if side.transport is not None and not side.done.done():
                    side.transport.abort()
        return {"server": self.server.record.answer(), "client": self.client.record.answer()}


class Refuser(asyncio.Protocol):
    """A connection after the pairing's one (none should come): closed at once."""

    def connection_made(self, transport):
        transport.abort()


async def pair(request):
    loop = asyncio.get_running_loop()
    # Exceptions asyncio cannot hand to anyone (a handshake failing inside start_tls, a
    # reset after the end) are the sides' business, already recorded: logged only.
    loop.set_exception_handler(lambda _, context: log("asyncio:", context.get("message"),
                                                      context.get("exception")))
    pairing = Pairing(request, loop)
    result = await pairing.run()
    # Let the aborted transports finish closing before the loop goes.
    await asyncio.sleep(0)
    return result


def hello(request):
    return {
        "type": "hello", "id": request["id"], "protocol": PROTOCOL,
        "implementation": f"CPython {sys.version.split()[0]} asyncio",
        "transports": TRANSPORTS, "deliveries": DELIVERIES, "probes": PROBES,
        "steps": STEPS, "tls": TLS_FEATURES,
    }


def main():
    while line := sys.stdin.readline():
        if not line.strip():
            continue
        request = json.loads(line)
        if request.get("type") == "hello":
            answer = hello(request)
        elif request.get("type") == "pair":
            log(f"pair {request['id']}: {request['trial']}")
            answer = {"type": "result", "id": request["id"], **asyncio.run(pair(request))}
        else:
            answer = {"type": "error", "id": request.get("id"),
                      "message": f"unknown request type {request.get('type')!r}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
