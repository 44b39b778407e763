"""Twisted's reactor on the bench's one-byte exchange, for `cargo xtask bench` (issue 18).

The exchange is suites/closing.toml's `closing_later_both_sides`, as the bench times it for
the framework: the client connects and writes one byte, the server reads it and loses the
connection, each side's connection is lost once the other's EOF arrived. Over TLS the same
after the handshake, with the bench's own test PKI (P-256, the same certificates), written
as PEM files into the folder given on the command line.

    closing_later.py PEM_DIR

One listener per transport for the whole run, as Twisted's own benchmarks keep it. The bench
drives it over stdin and stdout, one line each way, so that its pairings interleave with the
framework's: it writes `tcp` or `tls`, this program runs one pairing and answers with the
microseconds it took (from the connect call to both sides' connectionLost), or `error ...`.
"""

import os
import sys
import time

from twisted.internet import error, protocol, reactor, ssl, stdio
from twisted.protocols.basic import LineReceiver


class Server(protocol.Protocol):
    def dataReceived(self, data):
        self.factory.pairing.received += data
        self.transport.loseConnection()

    def connectionLost(self, reason):
        self.factory.pairing.side_lost("server", reason)


class Client(protocol.Protocol):
    def connectionMade(self):
        self.transport.write(b"x")

    def dataReceived(self, data):
        pass

    def connectionLost(self, reason):
        self.factory.pairing.side_lost("client", reason)


class Pairing:
    """One pairing: the time from the connect call to both sides' connectionLost. It counts
    only if the server received the byte and both sides ended cleanly (as the bench checks
    ours: both `done`), so that a failed handshake cannot pass for a fast pairing."""

    def __init__(self, done):
        self.left = 2
        self.done = done
        self.received = b""
        self.problems = []
        self.started = time.perf_counter()

    def side_lost(self, side, reason):
        if not reason.check(error.ConnectionDone):
            self.problems.append("%s lost: %s" % (side, reason.value))
        self.left -= 1
        if self.left == 0:
            elapsed = time.perf_counter() - self.started
            if self.received != b"x":
                self.problems.append("the server received %r, not b'x'" % self.received)
            if self.problems:
                self.done(None, "; ".join(self.problems))
            else:
                self.done(elapsed)


class ServerFactory(protocol.ServerFactory):
    protocol = Server
    pairing = None


class ClientFactory(protocol.ClientFactory):
    protocol = Client

    def __init__(self, pairing):
        self.pairing = pairing

    def clientConnectionFailed(self, connector, reason):
        self.pairing.done(None, str(reason.value))


class Driver(LineReceiver):
    delimiter = b"\n"

    def __init__(self, pem_dir):
        def read(name):
            with open(os.path.join(pem_dir, name), "rb") as f:
                return f.read()

        leaf = ssl.PrivateCertificate.loadPEM(read("leaf.pem") + read("leaf.key"))
        ca = ssl.Certificate.loadPEM(read("ca.pem"))
        self.server_tls = leaf.options()
        self.client_tls = ssl.optionsForClientTLS("localhost", trustRoot=ca)
        self.factories = {"tcp": ServerFactory(), "tls": ServerFactory()}
        self.ports = {
            "tcp": reactor.listenTCP(0, self.factories["tcp"], interface="127.0.0.1"),
            "tls": reactor.listenSSL(
                0, self.factories["tls"], self.server_tls, interface="127.0.0.1"
            ),
        }

    def lineReceived(self, line):
        transport = line.decode().strip()
        if transport not in self.ports:
            self.sendLine(b"error unknown transport " + line)
            return

        def done(elapsed, error=None):
            if elapsed is None:
                self.sendLine(("error " + error).encode())
            else:
                self.sendLine(("%.3f" % (elapsed * 1e6)).encode())

        pairing = Pairing(done)
        self.factories[transport].pairing = pairing
        port = self.ports[transport].getHost().port
        if transport == "tcp":
            reactor.connectTCP("127.0.0.1", port, ClientFactory(pairing))
        else:
            reactor.connectSSL("127.0.0.1", port, ClientFactory(pairing), self.client_tls)

    def connectionLost(self, reason):
        reactor.stop()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: closing_later.py PEM_DIR")
    stdio.StandardIO(Driver(sys.argv[1]))
    reactor.run()


if __name__ == "__main__":
    main()
