#!/usr/bin/env node
// The Node shim of the conformance runner (docs/SHIM.md): it certifies Node's own event loop,
// `net` and `tls`, with the catalogue's cases. The runner writes one JSON request a line on
// stdin; for each `pair` this program listens, connects, runs the two probes against each
// other on Node's sockets, and answers with what each side saw: its events, how it ended and
// what it received. It judges nothing: the runner checks the answer as it checks our reactors.
//
// Node's idiom throughout: socket events ('data', 'end', 'finish', 'close', 'error'),
// `allowHalfOpen` so that a peer's FIN is the probe's to answer, `end()` for a clean close,
// `resetAndDestroy()` for an abort (a RST; TLS and UNIX sockets have no such call, so there it
// is `destroy()`), `pause()` / `resume()` for reading. Only Node's standard library is used.

'use strict';

const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const readline = require('readline');
const tls = require('tls');

const PROTOCOL = 1;
// Received bytes are sent whole up to this many, as a digest and a head above (SHIM.md, 8).
const WHOLE_LIMIT = 16 * 1024 * 1024;
const HEAD = 64 * 1024;
// How long a closing side reads and discards, waiting for the peer's EOF, before it gives up
// and counts its close as done (the contract's linger).
// How long a close waits for the peer's EOF unless the request says (its linger_ms).
const LINGER_MS = 2000;

// Past this many events, a data event following another is merged into it (docs/SHIM.md, 6).
const EVENTS_KEPT = 1 << 16;

function log(...parts) {
    process.stderr.write(`node-shim: ${parts.join(' ')}\n`);
}

// ---------------------------------------------------------------------------------------------
// Bytes shown in messages, as the runner's scripts show them: text when printable, hex else.

function shown(bytes) {
    const head = bytes.subarray(0, 64);
    const more = bytes.length > 64 ? '...' : '';
    const text = head.toString('utf8');
    const printable = Buffer.from(text, 'utf8').equals(head) &&
        ![...text].some((c) => /[\p{Cc}]/u.test(c) && c !== '\n' && c !== '\t');
    return printable ? `${JSON.stringify(text)}${more}` : `hex ${head.toString('hex')}${more}`;
}

function describe(bytes) {
    return `${shown(bytes)} (${bytes.length} bytes)`;
}

// Byte i of the generated pattern is 'a' + i % 26, counting from `start`.
function generated(start, count) {
    const out = Buffer.allocUnsafe(count);
    for (let i = 0; i < count; i++) out[i] = 97 + ((start + i) % 26);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Probes: each a factory from the suite's arguments to an object whose methods are the
// callbacks (made, data, readLost, writeLost, lost), driving the side's transport `t`
// (write, loseConnection, abortConnection, halfClose, pauseReading, resumeReading,
// callLater). Each follows its module in crates/protocols/src/.

// Writes `send` when the connection is made (closing-later, abort-on-data).
function sendOnMade(args, t) {
    if (args.send !== undefined) t.write(Buffer.from(args.send, 'utf8'));
}

const PROBES = {
    'closing-later': {
        arguments: ['send'],
        make: (args) => {
            let closing = false;
            return {
                made: (t) => sendOnMade(args, t),
                data: (t) => {
                    if (!closing) {
                        closing = true;
                        t.loseConnection();
                    }
                },
            };
        },
    },
    closing: {
        arguments: [],
        make: () => ({ made: (t) => t.loseConnection() }),
    },
    echo: {
        arguments: [],
        make: () => ({ data: (t, bytes) => t.write(bytes) }),
    },
    send: {
        arguments: ['data', 'data_hex', 'size', 'then'],
        make: (args) => ({
            made: (t) => {
                if (args.data !== undefined) t.write(Buffer.from(args.data, 'utf8'));
                else if (args.data_hex !== undefined) t.write(Buffer.from(args.data_hex, 'hex'));
                else if (args.size !== undefined) {
                    // In slices, so that a large payload is not one buffer.
                    for (let at = 0; at < args.size; at += 1 << 20) {
                        t.write(generated(at, Math.min(1 << 20, args.size - at)));
                    }
                }
                const then = args.then || 'wait';
                if (then === 'close') t.loseConnection();
                else if (then === 'abort') t.abortConnection();
            },
        }),
    },
    accumulate: {
        arguments: ['close_after'],
        make: (args) => {
            let received = 0;
            let closing = false;
            const closeIfDue = (t) => {
                if (args.close_after !== undefined && !closing && received >= args.close_after) {
                    closing = true;
                    t.loseConnection();
                }
            };
            return {
                made: closeIfDue,
                data: (t, bytes) => {
                    received += bytes.length;
                    closeIfDue(t);
                },
            };
        },
    },
    'abort-on-data': {
        arguments: ['send'],
        make: (args) => {
            let aborted = false;
            return {
                made: (t) => sendOnMade(args, t),
                data: (t) => {
                    if (!aborted) {
                        aborted = true;
                        t.abortConnection();
                    }
                },
            };
        },
    },
    'close-twice': {
        arguments: ['send', 'when', 'first', 'second'],
        make: (args) => {
            let closed = false;
            const call = (t, how) => (how === 'abort' ? t.abortConnection() : t.loseConnection());
            const closeTwice = (t) => {
                if (closed) return;
                closed = true;
                call(t, args.first);
                call(t, args.second);
            };
            return {
                made: (t) => {
                    sendOnMade(args, t);
                    if (args.when === 'made') closeTwice(t);
                },
                data: closeTwice,
            };
        },
    },
    'half-close': {
        arguments: ['send', 'when', 'twice', 'close_on_write_lost', 'fail'],
        make: (args) => {
            const when = args.when || 'made';
            let done = false;
            const halfClose = (t) => {
                if (done) return;
                done = true;
                sendOnMade(args, t);
                t.halfClose();
                if (args.twice) t.halfClose();
            };
            return {
                halfCloseAware: true,
                made: (t) => when === 'made' && halfClose(t),
                data: (t) => when === 'data' && halfClose(t),
                readLost: (t) => {
                    if (args.fail === 'read-lost') throw new Error('read_connection_lost failed on purpose');
                    if (when === 'read-lost') halfClose(t);
                },
                writeLost: (t) => {
                    if (args.fail === 'write-lost') throw new Error('write_connection_lost failed on purpose');
                    if (args.close_on_write_lost) t.loseConnection();
                },
            };
        },
    },
    'large-buffer-writer': {
        arguments: ['size', 'delay_ms'],
        make: (args) => ({
            made: (t) => {
                // One big write of size - 1 X's, as Twisted's LargeBufferWriterProtocol does.
                if (args.size > 1) t.write(Buffer.alloc(args.size - 1, 'X'));
                t.callLater(args.delay_ms === undefined ? 1 : args.delay_ms, () => {
                    if (args.size > 0) t.write(Buffer.from('X'));
                    t.loseConnection();
                });
            },
        }),
    },
    'pause-reading': {
        arguments: ['on', 'resume_after_ms', 'close_after'],
        make: (args) => {
            const on = args.on || 'data';
            let pausedOnce = false;
            let received = 0;
            const pause = (t) => {
                if (pausedOnce) return;
                pausedOnce = true;
                t.pauseReading();
                if (args.resume_after_ms !== undefined) {
                    t.callLater(args.resume_after_ms, () => t.resumeReading());
                }
            };
            return {
                made: (t) => on === 'made' && pause(t),
                data: (t, bytes) => {
                    received += bytes.length;
                    if (args.close_after !== undefined && received >= args.close_after) {
                        t.loseConnection();
                        return;
                    }
                    pause(t);
                },
            };
        },
    },
    idle: {
        arguments: [],
        make: () => ({}),
    },
};

const STEPS = ['send', 'send_hex', 'send_size', 'expect', 'expect_hex', 'expect_size', 'wait',
    'pause_reading', 'resume_reading', 'half_close', 'close', 'abort', 'expect_closed'];

// A script side (crates/protocols/src/script.rs): steps run in order until one must wait.
function makeScript(steps) {
    let next = 0;
    let inbox = Buffer.alloc(0);
    let sent = 0; // generated bytes written so far: the pattern continues across steps
    let peerClosed = false;
    let waiting = false; // a `wait` step's timer is running
    const word = (step) => Object.keys(step)[0];
    const wantsData = () => steps.slice(next).some((s) => ['expect', 'expect_hex', 'expect_size'].includes(word(s)));
    const mismatch = (expected, how) => {
        const step = steps[next];
        const got = inbox.subarray(0, Math.max(expected.length, 1) + 16);
        return `script step ${next + 1} (${word(step)}): expected ${describe(expected)}, ${how} ${describe(got)}`;
    };
    const expect = (expected) => {
        const have = Math.min(inbox.length, expected.length);
        if (!inbox.subarray(0, have).equals(expected.subarray(0, have))) {
            throw new Error(mismatch(expected, 'received'));
        }
        if (have < expected.length) return false;
        inbox = inbox.subarray(expected.length);
        return true;
    };
    const advance = (t) => {
        while (next < steps.length) {
            const step = steps[next];
            const key = word(step);
            const value = step[key];
            switch (key) {
                case 'send': t.write(Buffer.from(value, 'utf8')); break;
                case 'send_hex': t.write(Buffer.from(value, 'hex')); break;
                case 'send_size': t.write(generated(sent, value)); sent += value; break;
                case 'expect': if (!expect(Buffer.from(value, 'utf8'))) return; break;
                case 'expect_hex': if (!expect(Buffer.from(value, 'hex'))) return; break;
                case 'expect_size':
                    if (inbox.length < value) return;
                    inbox = inbox.subarray(value);
                    break;
                case 'wait':
                    if (!waiting) {
                        waiting = true;
                        t.callLater(value, () => {
                            waiting = false;
                            next += 1;
                            advance(t);
                        });
                    }
                    return;
                case 'pause_reading': t.pauseReading(); break;
                case 'resume_reading': t.resumeReading(); break;
                case 'half_close': t.halfClose(); break;
                case 'close': t.loseConnection(); break;
                case 'abort': t.abortConnection(); break;
                case 'expect_closed': if (!peerClosed) return; break;
                default: throw new Error(`unknown script step ${key}`);
            }
            next += 1;
        }
    };
    const closedAt = steps.findIndex((s) => word(s) === 'expect_closed');
    return {
        halfCloseAware: closedAt >= 0 && closedAt + 1 < steps.length,
        made: advance,
        data: (t, bytes) => {
            if (wantsData()) inbox = Buffer.concat([inbox, bytes]);
            advance(t);
        },
        readLost: (t) => {
            peerClosed = true;
            advance(t);
        },
        lost: (t, reason) => {
            // A connection that broke already says why the script could not finish; only a
            // clean close with steps left is the script's failure.
            if (reason !== 'done') return;
            peerClosed = true;
            advance(t);
            if (next >= steps.length) return;
            const step = steps[next];
            const key = word(step);
            if (key === 'expect' || key === 'expect_hex') {
                const expected = Buffer.from(step[key], key === 'expect' ? 'utf8' : 'hex');
                throw new Error(mismatch(expected, 'but the connection closed after'));
            }
            throw new Error(`script step ${next + 1} (${key}) had not run when the connection closed`);
        },
    };
}

// ---------------------------------------------------------------------------------------------
// Delivery: how a read is handed to the probe (SHIM.md, 9).

// splitmix64, as the runner draws chunked split points.
function splitmix(seed) {
    const mask = (1n << 64n) - 1n;
    let state = BigInt(seed) & mask;
    return () => {
        state = (state + 0x9e3779b97f4a7c15n) & mask;
        let z = state;
        z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask;
        z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask;
        return z ^ (z >> 31n);
    };
}

function chunker(delivery, seed) {
    if (delivery === 'bytewise') return () => 1;
    if (delivery === 'chunked') {
        const next = splitmix(seed === null ? 0 : seed);
        return (left) => 1 + Number(next() % BigInt(left));
    }
    return (left) => left;
}

// What a side was handed, in order: whole up to WHOLE_LIMIT, then a digest and the head.
class Received {
    constructor() {
        this.length = 0;
        this.chunks = [];
        this.hash = crypto.createHash('sha256');
        // The pieces of one read handed over one after another (bytewise, chunked) are
        // adjacent views of the same memory: they are taken in as one span when something
        // else comes, not one hash update per byte.
        this.span = null;
        this.settled = 0;
    }

    add(bytes) {
        this.length += bytes.length;
        const span = this.span;
        if (span !== null && span.memory === bytes.buffer && span.end === bytes.byteOffset) {
            span.end += bytes.length;
            return;
        }
        this.settle();
        this.span = { memory: bytes.buffer, start: bytes.byteOffset, end: bytes.byteOffset + bytes.length };
    }

    // Takes in the span of pieces not taken in yet.
    settle() {
        const span = this.span;
        if (span === null) return;
        this.span = null;
        const bytes = Buffer.from(span.memory, span.start, span.end - span.start);
        this.hash.update(bytes);
        this.settled += bytes.length;
        if (this.chunks !== null) {
            this.chunks.push(bytes);
            if (this.settled > WHOLE_LIMIT) {
                // Too much to send whole: keep the head, the digest runs on.
                this.head = Buffer.concat(this.chunks).subarray(0, HEAD);
                this.chunks = null;
            }
        } else if (this.head.length < HEAD) {
            this.head = Buffer.concat([this.head, bytes]).subarray(0, HEAD);
        }
    }

    toJSON() {
        this.settle();
        if (this.chunks !== null) {
            return { length: this.length, base64: Buffer.concat(this.chunks).toString('base64') };
        }
        return { length: this.length, sha256: this.hash.digest('hex'), head_base64: this.head.toString('base64') };
    }
}

// ---------------------------------------------------------------------------------------------
// One side of a pairing: a Node socket driven for one probe, and the record of what it saw.

class Side {
    constructor(pairing, name, probe) {
        this.pairing = pairing;
        this.name = name;
        this.probe = probe;
        this.events = [];
        this.reason = null;
        this.detail = '';
        this.received = new Received();
        this.nextChunk = chunker(pairing.delivery, pairing.seed);
        this.socket = null;
        this.made = false;
        this.ended = false;
        this.closing = false; // lose_connection asked: nothing more is handed over
        this.aborted = false;
        this.halfClosed = false;
        this.paused = false;
        this.held = []; // bytes read and not handed over yet (paused, or split mid-read)
        this.gathered = null; // writes made while one read is handed over, sent as one
        this.peerEof = false; // the peer's EOF arrived, not acted on yet
        this.eofSeen = false;
        this.error = null; // the first error the socket reported
        this.failure = null; // the message of a probe callback that threw
        this.timers = new Set();
        this.t = this.transport();
    }

    event(word, extra = {}) {
        const last = this.events[this.events.length - 1];
        if (word === 'data' && this.events.length >= EVENTS_KEPT && last.event === 'data') {
            last.bytes += extra.bytes;
            return;
        }
        this.events.push({ at_us: this.pairing.now(), event: word, ...extra });
    }

    // The calls a probe makes on its connection.
    transport() {
        return {
            write: (bytes) => {
                if (this.ended || this.closing || this.aborted || this.halfClosed) return;
                if (this.gathered !== null) this.gathered.push(bytes);
                else this.socket.write(bytes);
            },
            loseConnection: () => {
                this.flushGathered();
                this.loseConnection('lose');
            },
            // An abort discards what is unsent, the gathered bytes too.
            abortConnection: () => this.abort(),
            halfClose: () => {
                this.flushGathered();
                this.halfClose();
            },
            pauseReading: () => {
                if (this.ended || this.paused) return;
                this.paused = true;
                this.event('paused');
                this.socket.pause();
            },
            resumeReading: () => {
                if (this.ended || !this.paused) return;
                this.paused = false;
                this.event('resumed');
                // Hand over what was held back first, on a later turn, as a read would come.
                setImmediate(() => this.deliver());
            },
            callLater: (ms, fn) => {
                const timer = setTimeout(() => {
                    this.timers.delete(timer);
                    if (this.ended) return;
                    this.event('timer');
                    this.call(() => fn());
                }, ms);
                this.timers.add(timer);
            },
        };
    }

    // Runs one probe callback; one that throws fails the side: it aborts, and ends `error`.
    call(callback) {
        try {
            callback();
        } catch (error) {
            const message = error && error.message ? error.message : String(error);
            this.event('callback-failed', { message });
            if (this.failure === null) this.failure = message;
            if (!this.ended) this.reset();
        }
    }

    // The connection is established (over TLS, see Pairing.attach for when).
    start(socket, handshakeDone = false) {
        this.socket = socket;
        this.made = true;
        this.event('made');
        if (handshakeDone) this.event('handshake');
        socket.on('data', (bytes) => {
            if (this.ended || this.closing || this.aborted) return; // read and discarded
            this.held.push(bytes);
            this.deliver();
        });
        socket.on('end', () => {
            this.peerEof = true;
            this.deliver();
        });
        socket.on('finish', () => this.writeShut());
        socket.on('error', (error) => {
            if (this.error === null) this.error = error;
        });
        socket.on('close', () => this.finish());
        if (this.probe.made) this.call(() => this.probe.made(this.t));
    }

    // Hands held bytes to the probe, split by the delivery mode, while it reads; then the EOF.
    deliver() {
        // What the probe writes back from each piece of one read (an echo, bytewise) is
        // gathered and goes out in one write when the read is handed over, as from a runtime
        // that hands over whole reads: not one stream write per byte. Anything else the probe
        // asks of its connection sends the gathered bytes first (flushGathered), so the order
        // on the wire is the order of its calls.
        this.gathered = [];
        try {
            this.handOver();
        } finally {
            this.flushGathered();
            this.gathered = null;
        }
        if (!this.paused && !this.ended && this.held.length === 0) {
            this.socket.resume();
            if (this.peerEof && !this.eofSeen) {
                this.eofSeen = true;
                this.peerClosed();
            }
        }
    }

    flushGathered() {
        const gathered = this.gathered;
        this.gathered = gathered === null ? null : [];
        if (gathered === null || gathered.length === 0) return;
        if (this.ended || this.closing || this.aborted || this.halfClosed) return;
        this.socket.write(gathered.length === 1 ? gathered[0] : Buffer.concat(gathered));
    }

    handOver() {
        while (this.held.length > 0 && !this.paused && !this.closing && !this.aborted && !this.ended) {
            const read = this.held[0];
            const size = this.nextChunk(read.length);
            const piece = read.subarray(0, size);
            if (size >= read.length) this.held.shift();
            else this.held[0] = read.subarray(size);
            this.event('data', { bytes: piece.length });
            this.received.add(piece);
            if (this.probe.data) this.call(() => this.probe.data(this.t, piece));
        }
    }

    // The peer shut down its writing. A half-close-aware probe over a plain stream is told
    // and stays open for writing; otherwise this side flushes and closes in turn.
    peerClosed() {
        if (this.closing || this.aborted) return;
        if (!this.pairing.tls && this.probe.halfCloseAware) {
            this.event('read-lost');
            if (this.probe.readLost) this.call(() => this.probe.readLost(this.t));
            return;
        }
        this.closing = true;
        this.socket.end();
    }

    loseConnection(how) {
        if (this.ended || this.closing || this.aborted) return;
        this.closing = true;
        this.event('close-requested', { how });
        this.socket.end();
        // Read and discard until the peer's EOF, so unread bytes do not turn the close into
        // a reset; the linger's end without it still counts as done.
        this.socket.resume();
        const linger = setTimeout(() => {
            this.timers.delete(linger);
            if (!this.ended) this.socket.destroy();
        }, this.pairing.lingerMs);
        this.timers.add(linger);
    }

    abort() {
        if (this.ended || this.aborted) return;
        this.aborted = true;
        this.event('close-requested', { how: 'abort' });
        this.reset();
    }

    // Discards what is unsent and resets: resetAndDestroy() where Node has it (TCP).
    reset() {
        if (this.socket === null) return;
        if (this.pairing.transport === 'tcp' || this.pairing.transport === 'tcp6') {
            this.socket.resetAndDestroy();
        } else {
            this.socket.destroy();
        }
    }

    halfClose() {
        if (this.ended || this.closing || this.aborted || this.halfClosed) return;
        this.halfClosed = true;
        this.event('half-close-requested');
        this.socket.end();
    }

    // end() completed: what was written went out, then the FIN (over TLS close_notify first).
    writeShut() {
        if (!this.halfClosed || this.ended || this.aborted) return;
        this.event('write-lost');
        if (this.probe.writeLost) this.call(() => this.probe.writeLost(this.t));
    }

    // The socket closed: the side ends, with the reason word its history means.
    finish() {
        if (this.ended) return;
        this.ended = true;
        for (const timer of this.timers) clearTimeout(timer);
        this.timers.clear();
        let reason;
        let detail = '';
        if (this.failure !== null) {
            reason = 'error';
            detail = this.failure;
        } else if (this.aborted) {
            reason = 'aborted';
        } else if (this.error !== null) {
            reason = this.pairing.tls && isTlsError(this.error) ? 'tls' : 'lost';
            detail = this.error.message;
        } else {
            reason = 'done';
        }
        this.event('lost');
        if (this.probe.lost) {
            this.call(() => this.probe.lost(this.t, reason));
            if (this.failure !== null && reason !== 'error') {
                reason = 'error';
                detail = this.failure;
            }
        }
        this.reason = reason;
        this.detail = detail;
        this.pairing.sideEnded();
    }

    // A side that never got a connection: connect failed, or the TLS server's handshake did.
    fail(reason, error) {
        if (this.ended) return;
        this.ended = true;
        if (reason !== 'refused') {
            this.event('made');
            this.event('lost');
        }
        this.reason = reason;
        this.detail = error.message;
        this.pairing.sideEnded();
    }

    // Stops the side at the timeout: it keeps no reason, as it had not ended.
    stop() {
        for (const timer of this.timers) clearTimeout(timer);
        this.timers.clear();
        this.ended = true;
        if (this.socket !== null) this.socket.destroy();
    }

    toJSON() {
        return { reason: this.reason, detail: this.detail, events: this.events, received: this.received };
    }
}

// Errors that come from TLS itself (OpenSSL's, and Node's checks of the peer's certificate).
function isTlsError(error) {
    const code = String(error.code || '');
    return code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code.includes('CERT') ||
        code.includes('SIGNATURE') || code.includes('ISSUER') || code === 'EPROTO' ||
        /ssl|tls|certificate/i.test(error.message);
}

// ---------------------------------------------------------------------------------------------
// A pairing: one `pair` request, both sides in this process.

function makeProbe(spec) {
    if (spec.script) return makeScript(spec.script);
    return PROBES[spec.probe].make(spec.arguments || {});
}

class Pairing {
    constructor(request, answer) {
        this.request = request;
        this.answer = answer;
        this.transport = request.transport;
        this.tls = request.transport === 'tls';
        this.delivery = request.delivery;
        this.lingerMs = typeof request.linger_ms === 'number' ? request.linger_ms : LINGER_MS;
        this.seed = request.seed;
        this.started = process.hrtime.bigint();
        this.server = new Side(this, 'server', makeProbe(request.server));
        this.client = new Side(this, 'client', makeProbe(request.client));
        this.listener = null;
        this.answered = false;
        this.deadline = setTimeout(() => this.timedOut(), request.timeout_ms);
    }

    now() {
        return Number((process.hrtime.bigint() - this.started) / 1000n);
    }

    run() {
        const tlsSettings = this.request.tls;
        if (this.tls) {
            if (!tlsSettings.verify) this.client.event('unverified');
            this.listener = tls.createServer({
                key: fs.readFileSync(tlsSettings.key),
                cert: fs.readFileSync(tlsSettings.cert),
                ca: fs.readFileSync(tlsSettings.ca),
                requestCert: true,
                rejectUnauthorized: tlsSettings.require_client_cert,
            });
            // Node reports a TLS server connection only once its handshake completed.
            this.listener.on('secureConnection', (socket) => this.accepted(socket));
            this.listener.on('tlsClientError', (error) => {
                this.closeListener();
                this.server.fail(isTlsError(error) ? 'tls' : 'lost', error);
            });
        } else {
            this.listener = net.createServer({ allowHalfOpen: true }, (socket) => this.accepted(socket));
        }
        this.listener.on('error', (error) => this.broken(`listen failed: ${error.message}`));
        const where = this.transport === 'unix'
            ? { path: this.request.unix_path }
            : { host: this.transport === 'tcp6' ? '::1' : '127.0.0.1', port: 0 };
        this.listener.listen(where, () => this.connect(where));
    }

    connect(where) {
        const address = this.transport === 'unix'
            ? { path: where.path }
            : { host: where.host, port: this.listener.address().port };
        let socket;
        if (this.tls) {
            const settings = this.request.tls;
            socket = tls.connect({
                ...address,
                ca: fs.readFileSync(settings.ca),
                servername: settings.server_name,
                rejectUnauthorized: settings.verify,
                cert: settings.client_cert ? fs.readFileSync(settings.client_cert) : undefined,
                key: settings.client_key ? fs.readFileSync(settings.client_key) : undefined,
                allowHalfOpen: true,
            });
            socket.once('connect', () => this.client.start(socket));
            socket.once('secureConnect', () => this.client.event('handshake'));
        } else {
            socket = net.connect({ ...address, allowHalfOpen: true });
            socket.once('connect', () => this.client.start(socket));
        }
        socket.once('error', (error) => {
            if (!this.client.made) this.client.fail('refused', error);
        });
    }

    accepted(socket) {
        if (this.server.socket !== null) {
            socket.destroy(); // one connection per pairing
            return;
        }
        this.closeListener();
        if (this.tls) {
            // Half-open only once the handshake is over: an EOF during it must end the socket
            // (tls.Server then reports it as a tlsClientError), not leave it waiting for us.
            socket.allowHalfOpen = true;
            this.server.start(socket, true);
        } else {
            this.server.start(socket);
        }
    }

    closeListener() {
        if (this.listener !== null && this.listener.listening) this.listener.close();
    }

    sideEnded() {
        if (this.server.ended && this.client.ended) this.respond();
    }

    timedOut() {
        this.server.stop();
        this.client.stop();
        this.respond();
    }

    respond() {
        if (this.answered) return;
        this.answered = true;
        clearTimeout(this.deadline);
        this.closeListener();
        this.answer({ type: 'result', id: this.request.id, server: this.server, client: this.client });
    }

    broken(message) {
        if (this.answered) return;
        this.answered = true;
        clearTimeout(this.deadline);
        this.server.stop();
        this.client.stop();
        this.closeListener();
        this.answer({ type: 'error', id: this.request.id, message });
    }
}

// ---------------------------------------------------------------------------------------------
// The conversation: one request a line, one answer a line, one pairing at a time.

function hello(request) {
    const probes = {};
    for (const [name, probe] of Object.entries(PROBES)) probes[name] = probe.arguments;
    return {
        type: 'hello',
        id: request.id,
        protocol: PROTOCOL,
        implementation: `Node ${process.version} net and tls (OpenSSL ${process.versions.openssl})`,
        transports: ['tcp', 'tcp6', 'tls', 'unix'],
        deliveries: ['whole', 'bytewise', 'chunked'],
        probes,
        steps: STEPS,
        tls: ['client_cert', 'require_client_cert', 'verify_false'],
    };
}

function main() {
    const queue = [];
    let busy = false;
    const write = (answer) => process.stdout.write(`${JSON.stringify(answer)}\n`);
    const next = () => {
        if (busy || queue.length === 0) return;
        const line = queue.shift();
        let request;
        try {
            // The seed may be above 2^53: keep it exact by reading it as text first.
            request = JSON.parse(line.replace(/"seed"\s*:\s*(\d+)/, '"seed":"$1"'));
        } catch (error) {
            log(`unreadable request: ${error.message}`);
            return next();
        }
        if (request.type === 'hello') {
            write(hello(request));
            return next();
        }
        if (request.type !== 'pair') {
            write({ type: 'error', id: request.id, message: `unknown request type ${request.type}` });
            return next();
        }
        log(`pair ${request.trial}`);
        busy = true;
        const pairing = new Pairing(request, (answer) => {
            write(answer);
            busy = false;
            setImmediate(next);
        });
        try {
            pairing.run();
        } catch (error) {
            pairing.broken(`the shim failed: ${error.stack}`);
        }
    };
    const lines = readline.createInterface({ input: process.stdin });
    lines.on('line', (line) => {
        if (line.trim() === '') return;
        queue.push(line);
        next();
    });
    lines.on('close', () => {
        // EOF on stdin: finish the pairing under way, if any, then exit.
        const exit = () => (busy ? setTimeout(exit, 10) : process.exit(0));
        exit();
    });
}

main();
