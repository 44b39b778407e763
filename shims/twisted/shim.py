"""The Twisted shim of the conformance runner (docs/SHIM.md).

It certifies Twisted's default reactor, the framework whose connection tests the catalogue
ports, with the catalogue's own cases. The runner writes one JSON request a line on stdin; for
each `pair` this program listens and connects with the reactor's own calls (listenTCP,
listenSSL, listenUNIX, connectTCP, connectSSL, connectUNIX), runs the two probes as Twisted
Protocols against each other, and answers with what each side saw: its events, how it ended
and what it received. It judges nothing: the runner checks the answer as it checks our
reactors.

Twisted's idiom throughout: a Protocol per side built by a Factory, IHalfCloseableProtocol for
the probes that go on after the peer's EOF, IHandshakeListener for the TLS handshake,
loseConnection / abortConnection / loseWriteConnection, pauseProducing / resumeProducing on
the transport for reading, reactor.callLater for timers. It runs in the virtual environment
scripts/install-deps makes (target/venv-twisted), with Twisted and pyOpenSSL from PyPI.
"""

import base64
import hashlib
import json
import sys
import time

from OpenSSL import SSL
from twisted.internet import error, reactor, ssl, stdio
from twisted.internet.interfaces import IHalfCloseableProtocol, IHandshakeListener
from twisted.internet.protocol import ClientFactory, Factory, Protocol
from twisted.protocols.basic import LineReceiver
from zope.interface import implementer

PROTOCOL = 1
# Received bytes are sent whole up to this many, as a digest and a head above (SHIM.md, 8).
WHOLE_LIMIT = 16 * 1024 * 1024
# Past this many events, a data event following another is merged into it (docs/SHIM.md, 6).
EVENTS_KEPT = 1 << 16
HEAD = 64 * 1024


def log(message):
    print(f"twisted-shim: {message}", file=sys.stderr, flush=True)


# -------------------------------------------------------------------------------------------
# Bytes shown in messages, as the runner's scripts show them: text when printable, hex else.


def shown(data):
    head = data[:64]
    more = "..." if len(data) > 64 else ""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and not any(
        (ord(c) < 32 or 127 <= ord(c) < 160) and c not in "\n\t" for c in text
    ):
        return json.dumps(text, ensure_ascii=False) + more
    return f"hex {head.hex()}{more}"


def describe(data):
    return f"{shown(data)} ({len(data)} bytes)"


def generated(start, count):
    """Byte i of the generated pattern is 'a' + i % 26, counting from `start`."""
    return bytes(97 + (start + i) % 26 for i in range(count))


# -------------------------------------------------------------------------------------------
# Probes: each a class whose methods are the callbacks (made, data, read_lost, write_lost,
# lost), driving the side's transport `t` (write, lose, abort, half_close, pause, resume,
# call_later). Each follows its module in crates/protocols/src/.


class Probe:
    arguments = ()
    half_close_aware = False

    def __init__(self, args):
        self.args = args

    def made(self, t):
        pass

    def data(self, t, data):
        pass

    def read_lost(self, t):
        pass

    def write_lost(self, t):
        pass

    def lost(self, t, reason):
        pass

    def send_on_made(self, t):
        if "send" in self.args:
            t.write(self.args["send"].encode())


class ClosingLater(Probe):
    arguments = ("send",)
    closing = False

    def made(self, t):
        self.send_on_made(t)

    def data(self, t, data):
        if not self.closing:
            self.closing = True
            t.lose()


class Closing(Probe):
    def made(self, t):
        t.lose()


class Echo(Probe):
    def data(self, t, data):
        t.write(data)


class Send(Probe):
    arguments = ("data", "data_hex", "size", "then")

    def made(self, t):
        if "data" in self.args:
            t.write(self.args["data"].encode())
        elif "data_hex" in self.args:
            t.write(bytes.fromhex(self.args["data_hex"]))
        elif "size" in self.args:
            size = self.args["size"]
            for at in range(0, size, 1 << 20):
                t.write(generated(at, min(1 << 20, size - at)))
        then = self.args.get("then", "wait")
        if then == "close":
            t.lose()
        elif then == "abort":
            t.abort()


class Accumulate(Probe):
    arguments = ("close_after",)
    received = 0
    closing = False

    def close_if_due(self, t):
        limit = self.args.get("close_after")
        if limit is not None and not self.closing and self.received >= limit:
            self.closing = True
            t.lose()

    def made(self, t):
        self.close_if_due(t)

    def data(self, t, data):
        self.received += len(data)
        self.close_if_due(t)


class AbortOnData(Probe):
    arguments = ("send",)
    aborted = False

    def made(self, t):
        self.send_on_made(t)

    def data(self, t, data):
        if not self.aborted:
            self.aborted = True
            t.abort()


class CloseTwice(Probe):
    arguments = ("send", "when", "first", "second")
    closed = False

    def close_twice(self, t):
        if self.closed:
            return
        self.closed = True
        for call in (self.args["first"], self.args["second"]):
            t.abort() if call == "abort" else t.lose()

    def made(self, t):
        self.send_on_made(t)
        if self.args.get("when", "data") == "made":
            self.close_twice(t)

    def data(self, t, data):
        self.close_twice(t)


class HalfClose(Probe):
    arguments = ("send", "when", "twice", "close_on_write_lost", "fail")
    half_close_aware = True
    done = False

    def half_close(self, t):
        if self.done:
            return
        self.done = True
        self.send_on_made(t)
        t.half_close()
        if self.args.get("twice", False):
            t.half_close()

    def when(self):
        return self.args.get("when", "made")

    def made(self, t):
        if self.when() == "made":
            self.half_close(t)

    def data(self, t, data):
        if self.when() == "data":
            self.half_close(t)

    def read_lost(self, t):
        if self.args.get("fail") == "read-lost":
            raise RuntimeError("read_connection_lost failed on purpose")
        if self.when() == "read-lost":
            self.half_close(t)

    def write_lost(self, t):
        if self.args.get("fail") == "write-lost":
            raise RuntimeError("write_connection_lost failed on purpose")
        if self.args.get("close_on_write_lost", False):
            t.lose()


class LargeBufferWriter(Probe):
    arguments = ("size", "delay_ms")

    def made(self, t):
        size = self.args["size"]
        # One big write of size - 1 X's, as Twisted's own LargeBufferWriterProtocol does.
        if size > 1:
            t.write(b"X" * (size - 1))
        t.call_later(self.args.get("delay_ms", 1), self.last)

    def last(self, t):
        if self.args["size"] > 0:
            t.write(b"X")
        t.lose()


class PauseReading(Probe):
    arguments = ("on", "resume_after_ms", "close_after")
    paused_once = False
    received = 0

    def pause(self, t):
        if self.paused_once:
            return
        self.paused_once = True
        t.pause()
        if "resume_after_ms" in self.args:
            t.call_later(self.args["resume_after_ms"], lambda t: t.resume())

    def made(self, t):
        if self.args.get("on", "data") == "made":
            self.pause(t)

    def data(self, t, data):
        self.received += len(data)
        limit = self.args.get("close_after")
        if limit is not None and self.received >= limit:
            t.lose()
            return
        self.pause(t)


class Idle(Probe):
    pass


PROBES = {
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
    "idle": Idle,
}

STEPS = [
    "send", "send_hex", "send_size", "expect", "expect_hex", "expect_size", "wait",
    "pause_reading", "resume_reading", "half_close", "close", "abort", "expect_closed",
]


class Script(Probe):
    """A script side (crates/protocols/src/script.rs): steps run in order until one waits."""

    def __init__(self, steps):
        super().__init__({})
        self.steps = steps
        self.next = 0
        self.inbox = b""
        self.sent = 0  # generated bytes written so far: the pattern continues across steps
        self.peer_closed = False
        self.waiting = False  # a `wait` step's timer is running
        words = [self.word(s) for s in steps]
        closed_at = words.index("expect_closed") if "expect_closed" in words else None
        self.half_close_aware = closed_at is not None and closed_at + 1 < len(steps)

    @staticmethod
    def word(step):
        return next(iter(step))

    def wants_data(self):
        return any(
            self.word(s) in ("expect", "expect_hex", "expect_size") for s in self.steps[self.next:]
        )

    def mismatch(self, expected, how):
        got = self.inbox[: max(len(expected), 1) + 16]
        step = self.word(self.steps[self.next])
        return (
            f"script step {self.next + 1} ({step}): expected {describe(expected)}, "
            f"{how} {describe(got)}"
        )

    def expect(self, expected):
        have = min(len(self.inbox), len(expected))
        if self.inbox[:have] != expected[:have]:
            raise RuntimeError(self.mismatch(expected, "received"))
        if have < len(expected):
            return False
        self.inbox = self.inbox[len(expected):]
        return True

    def advance(self, t):
        while self.next < len(self.steps):
            step = self.steps[self.next]
            key = self.word(step)
            value = step[key]
            if key == "send":
                t.write(value.encode())
            elif key == "send_hex":
                t.write(bytes.fromhex(value))
            elif key == "send_size":
                t.write(generated(self.sent, value))
                self.sent += value
            elif key == "expect":
                if not self.expect(value.encode()):
                    return
            elif key == "expect_hex":
                if not self.expect(bytes.fromhex(value)):
                    return
            elif key == "expect_size":
                if len(self.inbox) < value:
                    return
                self.inbox = self.inbox[value:]
            elif key == "wait":
                if not self.waiting:
                    self.waiting = True
                    t.call_later(value, self.waited)
                return
            elif key == "pause_reading":
                t.pause()
            elif key == "resume_reading":
                t.resume()
            elif key == "half_close":
                t.half_close()
            elif key == "close":
                t.lose()
            elif key == "abort":
                t.abort()
            elif key == "expect_closed":
                if not self.peer_closed:
                    return
            self.next += 1

    def waited(self, t):
        self.waiting = False
        self.next += 1
        self.advance(t)

    def made(self, t):
        self.advance(t)

    def data(self, t, data):
        if self.wants_data():
            self.inbox += data
        self.advance(t)

    def read_lost(self, t):
        self.peer_closed = True
        self.advance(t)

    def lost(self, t, reason):
        # A connection that broke already says why the script could not finish; only a clean
        # close with steps left is the script's failure.
        if reason != "done":
            return
        self.peer_closed = True
        self.advance(t)
        if self.next >= len(self.steps):
            return
        step = self.steps[self.next]
        key = self.word(step)
        if key in ("expect", "expect_hex"):
            expected = step[key].encode() if key == "expect" else bytes.fromhex(step[key])
            raise RuntimeError(self.mismatch(expected, "but the connection closed after"))
        raise RuntimeError(
            f"script step {self.next + 1} ({key}) had not run when the connection closed"
        )


def make_probe(spec):
    if "script" in spec:
        return Script(spec["script"])
    return PROBES[spec["probe"]](spec.get("arguments") or {})


# -------------------------------------------------------------------------------------------
# Delivery: how a read is handed to the probe (SHIM.md, 9).


def chunker(delivery, seed):
    if delivery == "bytewise":
        return lambda left: 1
    if delivery == "chunked":
        mask = (1 << 64) - 1
        state = [(seed or 0) & mask]

        def next_size(left):
            # splitmix64, as the runner draws chunked split points.
            state[0] = (state[0] + 0x9E3779B97F4A7C15) & mask
            z = state[0]
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
            return 1 + (z ^ (z >> 31)) % left

        return next_size
    return lambda left: left


class Received:
    """What a side was handed, in order: whole up to WHOLE_LIMIT, a digest and the head above."""

    def __init__(self):
        self.length = 0
        self.chunks = []
        self.head = b""
        self.hash = hashlib.sha256()

    def add(self, data):
        self.length += len(data)
        self.hash.update(data)
        if self.chunks is not None:
            self.chunks.append(data)
            if self.length > WHOLE_LIMIT:
                self.head = b"".join(self.chunks)[:HEAD]
                self.chunks = None
        elif len(self.head) < HEAD:
            self.head = (self.head + data)[:HEAD]

    def answer(self):
        if self.chunks is not None:
            return {"length": self.length, "base64": base64.b64encode(b"".join(self.chunks)).decode()}
        return {
            "length": self.length,
            "sha256": self.hash.hexdigest(),
            "head_base64": base64.b64encode(self.head).decode(),
        }


# -------------------------------------------------------------------------------------------
# One side of a pairing: a Twisted Protocol driving one probe, and the record of what it saw.


class Side:
    """What one side saw, and the calls its probe makes on its connection."""

    def __init__(self, pairing, probe):
        self.pairing = pairing
        self.probe = probe
        self.events = []
        self.reason = None
        self.detail = ""
        self.received = Received()
        self.next_chunk = chunker(pairing.delivery, pairing.seed)
        self.transport = None
        self.ended = False
        self.closing = False  # loseConnection asked: nothing more is handed over
        self.aborted = False
        self.half_closed = False
        self.paused = False
        self.held = []  # bytes read and not handed over yet (paused, or split mid-read)
        self.offset = 0  # how much of held[0] was handed over already
        self.gathered = None  # writes made while a read is handed over, sent as one
        self.failure = None  # the message of a probe callback that raised
        self.timers = []

    def event(self, word, **extra):
        events = self.events
        if word == "data" and len(events) >= EVENTS_KEPT and events[-1]["event"] == "data":
            events[-1]["bytes"] += extra["bytes"]
            return
        events.append({"at_us": self.pairing.now(), "event": word, **extra})

    def call(self, callback, *args):
        """Runs a probe callback; one that raises fails the side: it aborts, ends `error`."""
        try:
            callback(self, *args)
        except Exception as failure:  # a probe's failure is reported, not the shim's
            message = str(failure)
            self.event("callback-failed", message=message)
            if self.failure is None:
                self.failure = message
            if not self.ended and self.transport is not None:
                self.transport.abortConnection()

    # The calls a probe makes (its `t`).

    def write(self, data):
        if not (self.ended or self.closing or self.aborted or self.half_closed):
            if self.gathered is not None:
                self.gathered.append(data)
            else:
                self.transport.write(data)

    def flush_gathered(self):
        """Writes what the probe wrote since the read's hand-over began, as one write."""
        gathered = self.gathered
        if not gathered:
            return
        self.gathered = []
        if not (self.ended or self.closing or self.aborted or self.half_closed):
            self.transport.write(b"".join(gathered))

    def lose(self):
        self.flush_gathered()
        if self.ended or self.closing or self.aborted:
            return
        self.closing = True
        self.event("close-requested", how="lose")
        self.transport.loseConnection()

    def abort(self):
        if self.ended or self.aborted:
            return
        self.aborted = True
        self.event("close-requested", how="abort")
        self.transport.abortConnection()

    def half_close(self):
        self.flush_gathered()
        if self.ended or self.closing or self.aborted or self.half_closed:
            return
        self.half_closed = True
        self.event("half-close-requested")
        self.transport.loseWriteConnection()

    def pause(self):
        if self.ended or self.paused:
            return
        self.paused = True
        self.event("paused")
        self.transport.pauseProducing()

    def resume(self):
        if self.ended or not self.paused:
            return
        self.paused = False
        self.event("resumed")
        # On a later turn, as a read would come: first what was held back, then reading goes
        # on (the transport stays paused until then, so an EOF cannot overtake held bytes).
        reactor.callLater(0, self.resume_reading)

    def resume_reading(self):
        if self.ended:
            return
        self.deliver()
        if not (self.paused or self.ended):
            self.transport.resumeProducing()

    def call_later(self, ms, callback):
        def fire():
            if not self.ended:
                self.event("timer")
                self.call(callback)

        self.timers.append(reactor.callLater(ms / 1000, fire))

    # What the protocol hears from the reactor.

    def made(self, transport):
        self.transport = transport
        self.event("made")
        self.call(self.probe.made)

    def data_arrived(self, data):
        if self.ended or self.closing or self.aborted:
            return
        self.held.append(data)
        self.deliver()

    def deliver(self):
        """Hands held bytes to the probe, split by the delivery mode, while it reads.

        What the probe writes back from each piece of a read (an echo, bytewise) is gathered
        and written once the hand-over ends, as it would be if Twisted had handed over the
        whole read: not one TLS record per byte. A close or half-close the probe asks for sends
        the gathered bytes first, so the order of its calls is the order on the wire; an abort
        discards them, as it discards what Twisted had not sent yet. The pieces are slices
        from an offset into the read: slicing off the rest each time would copy it for every
        byte.
        """
        self.gathered = []
        try:
            while self.held and not (self.paused or self.closing or self.aborted or self.ended):
                read = self.held[0]
                start = self.offset
                size = self.next_chunk(len(read) - start)
                self.offset = start + size
                if self.offset >= len(read):
                    self.held.pop(0)
                    self.offset = 0
                piece = read[start:start + size]
                self.event("data", bytes=size)
                self.received.add(piece)
                self.call(self.probe.data, piece)
        finally:
            self.flush_gathered()
            self.gathered = None

    def read_lost(self):
        self.event("read-lost")
        self.call(self.probe.read_lost)

    def write_lost(self):
        self.event("write-lost")
        self.call(self.probe.write_lost)

    def handshake(self):
        self.event("handshake")

    def connection_lost(self, why):
        if self.ended:
            return
        self.ended = True
        for timer in self.timers:
            if timer.active():
                timer.cancel()
        self.held, self.offset = [], 0
        detail = ""
        if self.failure is not None:
            reason, detail = "error", self.failure
        elif self.aborted:
            reason = "aborted"
        elif why.check(error.ConnectionDone):
            reason = "done"
        elif why.check(SSL.Error):
            reason, detail = "tls", describe_tls(why.value)
        else:
            reason, detail = "lost", f"{why.type.__name__}: {why.getErrorMessage()}"
        self.event("lost")
        self.call(self.probe.lost, reason)
        if self.failure is not None and reason != "error":
            reason, detail = "error", self.failure
        self.reason, self.detail = reason, detail
        self.pairing.side_ended()

    def refused(self, why):
        self.ended = True
        self.reason, self.detail = "refused", why.getErrorMessage()
        self.pairing.side_ended()

    def stop(self):
        """Stops the side at the timeout: it keeps no reason, as it had not ended."""
        self.ended = True
        for timer in self.timers:
            if timer.active():
                timer.cancel()
        if self.transport is not None:
            self.transport.abortConnection()

    def answer(self):
        return {
            "reason": self.reason,
            "detail": self.detail,
            "events": self.events,
            "received": self.received.answer(),
        }


def describe_tls(failure):
    """pyOpenSSL's error list, as OpenSSL's own words."""
    parts = []
    for entry in failure.args[0] if failure.args and isinstance(failure.args[0], list) else []:
        parts.append(" ".join(str(p) for p in entry if p))
    return "; ".join(parts) or str(failure)


@implementer(IHandshakeListener)
class SideProtocol(Protocol):
    """The Twisted Protocol of one side: forwards the reactor's callbacks to its Side."""

    def __init__(self, side):
        self.side = side

    def connectionMade(self):
        self.side.made(self.transport)

    def handshakeCompleted(self):
        self.side.handshake()

    def dataReceived(self, data):
        self.side.data_arrived(data)

    def connectionLost(self, reason):
        self.side.connection_lost(reason)


@implementer(IHalfCloseableProtocol)
class HalfCloseableSideProtocol(SideProtocol):
    """A side whose probe goes on after the peer's EOF (Twisted's IHalfCloseableProtocol)."""

    def readConnectionLost(self):
        self.side.read_lost()

    def writeConnectionLost(self):
        self.side.write_lost()


def protocol_for(side):
    if side.probe.half_close_aware:
        return HalfCloseableSideProtocol(side)
    return SideProtocol(side)


class ServerFactory(Factory):
    """Accepts one connection, for the server side."""

    def __init__(self, pairing):
        self.pairing = pairing

    def buildProtocol(self, addr):
        if self.pairing.accepted:
            return None  # one connection per pairing: Twisted closes this one
        self.pairing.accepted = True
        self.pairing.stop_listening()
        return protocol_for(self.pairing.server)


class ConnectingFactory(ClientFactory):
    """Connects the client side; a failed connect is `refused`."""

    def __init__(self, pairing):
        self.pairing = pairing

    def buildProtocol(self, addr):
        return protocol_for(self.pairing.client)

    def clientConnectionFailed(self, connector, reason):
        self.pairing.client.refused(reason)


# -------------------------------------------------------------------------------------------
# TLS: the runner's PEM files as Twisted's CertificateOptions.


def certificates(path):
    with open(path, "rb") as f:
        text = f.read()
    marker = b"-----END CERTIFICATE-----"
    return [ssl.Certificate.loadPEM(part + marker) for part in text.split(marker) if part.strip()]


def server_options(settings):
    chain = certificates(settings["cert"])
    with open(settings["cert"], "rb") as cert, open(settings["key"], "rb") as key:
        server = ssl.PrivateCertificate.loadPEM(cert.read() + key.read())
    return ssl.CertificateOptions(
        privateKey=server.privateKey.original,
        certificate=server.original,
        extraCertChain=[c.original for c in chain[1:]],
        # A client certificate is checked if offered, required if the case says so.
        verify=True,
        caCerts=[c.original for c in certificates(settings["ca"])],
        requireCertificate=settings["require_client_cert"],
    )


def client_options(settings):
    client_certificate = None
    if settings.get("client_cert"):
        with open(settings["client_cert"], "rb") as f:
            cert = f.read()
        with open(settings["client_key"], "rb") as f:
            key = f.read()
        client_certificate = ssl.PrivateCertificate.loadPEM(cert + key)
    if not settings["verify"]:
        if client_certificate is None:
            return ssl.CertificateOptions()
        return client_certificate.options()
    trust = ssl.trustRootFromCertificates(certificates(settings["ca"]))
    return ssl.optionsForClientTLS(
        settings["server_name"], trustRoot=trust, clientCertificate=client_certificate
    )


# -------------------------------------------------------------------------------------------
# A pairing: one `pair` request, both sides in this process.


class Pairing:
    def __init__(self, request, answer):
        self.request = request
        self.answer = answer
        self.transport = request["transport"]
        self.tls = self.transport == "tls"
        self.delivery = request["delivery"]
        self.seed = request.get("seed")
        self.started = time.monotonic_ns()
        self.server = Side(self, make_probe(request["server"]))
        self.client = Side(self, make_probe(request["client"]))
        self.accepted = False
        self.port = None
        self.answered = False
        self.deadline = reactor.callLater(request["timeout_ms"] / 1000, self.timed_out)

    def now(self):
        return (time.monotonic_ns() - self.started) // 1000

    def run(self):
        server, client = ServerFactory(self), ConnectingFactory(self)
        kind = self.transport
        if kind == "unix":
            path = self.request["unix_path"]
            self.port = reactor.listenUNIX(path, server)
            reactor.connectUNIX(path, client)
            return
        host = "::1" if kind == "tcp6" else "127.0.0.1"
        if kind == "tls":
            settings = self.request["tls"]
            if not settings["verify"]:
                self.client.event("unverified")
            self.port = reactor.listenSSL(0, server, server_options(settings), interface=host)
            port = self.port.getHost().port
            reactor.connectSSL(host, port, client, client_options(settings))
        else:
            self.port = reactor.listenTCP(0, server, interface=host)
            reactor.connectTCP(host, self.port.getHost().port, client)

    def stop_listening(self):
        if self.port is not None:
            self.port.stopListening()
            self.port = None

    def side_ended(self):
        if self.server.ended and self.client.ended:
            self.respond()

    def timed_out(self):
        self.server.stop()
        self.client.stop()
        self.respond()

    def fail(self, message):
        self.server.stop()
        self.client.stop()
        self.respond({"type": "error", "id": self.request["id"], "message": message})

    def respond(self, answer=None):
        if self.answered:
            return
        self.answered = True
        if self.deadline.active():
            self.deadline.cancel()
        self.stop_listening()
        self.answer(answer or {
            "type": "result",
            "id": self.request["id"],
            "server": self.server.answer(),
            "client": self.client.answer(),
        })


# -------------------------------------------------------------------------------------------
# The conversation: one request a line on stdin, one answer a line on stdout.


def hello(request):
    import twisted

    return {
        "type": "hello",
        "id": request["id"],
        "protocol": PROTOCOL,
        "implementation": (
            f"Twisted {twisted.__version__} {type(reactor).__name__} "
            f"(CPython {sys.version.split()[0]})"
        ),
        "transports": ["tcp", "tcp6", "tls", "unix"],
        "deliveries": ["whole", "bytewise", "chunked"],
        "probes": {name: list(probe.arguments) for name, probe in PROBES.items()},
        "steps": STEPS,
        "tls": ["client_cert", "require_client_cert", "verify_false"],
    }


class Requests(LineReceiver):
    """The runner's requests, one at a time: the next is read once the last is answered."""

    delimiter = b"\n"
    MAX_LENGTH = 1 << 24

    def __init__(self):
        self.pending = []
        self.busy = False
        self.closed = False

    def lineReceived(self, line):
        if line.strip():
            self.pending.append(line)
            self.next()

    def next(self):
        if self.busy:
            return
        if not self.pending:
            if self.closed:
                reactor.stop()
            return
        line = self.pending.pop(0)
        try:
            request = json.loads(line)
        except ValueError as failure:
            log(f"unreadable request: {failure}")
            return self.next()
        kind = request.get("type")
        if kind == "hello":
            self.send(hello(request))
            return self.next()
        if kind != "pair":
            self.send({"type": "error", "id": request.get("id"), "message": f"unknown request type {kind}"})
            return self.next()
        log(f"pair {request['trial']}")
        self.busy = True
        pairing = Pairing(request, self.answered)
        try:
            pairing.run()
        except Exception as failure:  # the shim's own bug: say so, the run goes on
            log(f"pair failed: {failure!r}")
            pairing.fail(f"the shim failed: {failure!r}")

    def answered(self, answer):
        self.send(answer)
        self.busy = False
        reactor.callLater(0, self.next)

    def send(self, answer):
        self.transport.write(json.dumps(answer).encode() + b"\n")

    def connectionLost(self, reason):
        # EOF on stdin: finish the pairing under way, if any, then stop.
        self.closed = True
        if not self.busy and not self.pending:
            reactor.stop()


def main():
    stdio.StandardIO(Requests())
    reactor.run()


if __name__ == "__main__":
    main()
