#!/usr/bin/env python3
"""A shim that misbehaves on purpose, for crates/conformance/tests/shims.rs.

It is the asyncio shim (shims/asyncio/shim.py, imported) with one fault, named by its first
argument, on the trials of the case `first`; the trials of the other cases it answers as the
asyncio shim does, so a test can see that the run goes on, with a new process where the old
one had to go.
"""

import asyncio
import json
import os
import sys
import time

# The asyncio shim is imported from the source tree: no bytecode written there.
sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "..", "shims", "asyncio"))
import shim  # noqa: E402  (the asyncio shim)

FAULT = sys.argv[1]
# Whether this process answered a pairing as cut at its timeout ("timed-out").
CUT = False


def send(answer):
    sys.stdout.write((answer if isinstance(answer, str) else json.dumps(answer)) + "\n")
    sys.stdout.flush()


def real(request):
    return {"type": "result", "id": request["id"], **asyncio.run(shim.pair(request))}


def faulty(request):
    """The answer with the fault, or None to write nothing more."""
    if FAULT == "malformed":
        return "this is not json {"
    if FAULT == "missing-side":
        answer = real(request)
        del answer["client"]
        return answer
    if FAULT == "impossible-order":
        answer = real(request)
        events = answer["server"]["events"]
        # A data event after connection_lost (its bytes still add up to what was received).
        moved = events.pop(next(i for i, e in enumerate(events) if e["event"] == "data"))
        moved["at_us"] = events[-1]["at_us"] + 1
        events.append(moved)
        return answer
    if FAULT == "hang":
        shim.log("hanging on purpose")
        time.sleep(3600)
    if FAULT == "crash":
        shim.log("crashing on purpose in the middle of", request["trial"])
        sys.stdout.write('{"type": "result", "id": ')
        sys.stdout.flush()
        os._exit(3)
    if FAULT == "timed-out":
        # A valid answer of a pairing cut at its timeout: the client had not ended. The runner
        # must not hand this process another pairing: if it does, the answer is garbage.
        global CUT
        CUT = True
        answer = real(request)
        client = answer["client"]
        client["reason"], client["detail"] = None, ""
        client["events"] = [e for e in client["events"] if e["event"] != "lost"]
        return answer
    if FAULT == "not-implemented":
        return {"type": "not_implemented", "id": request["id"], "what": "the argument data of the probe send"}
    raise SystemExit(f"unknown fault {FAULT!r}")


def main():
    while line := sys.stdin.readline():
        request = json.loads(line)
        if request["type"] == "hello":
            answer = shim.hello(request)
            if FAULT == "lacks-send":
                answer["probes"] = {k: v for k, v in answer["probes"].items() if k != "send"}
            if FAULT == "bad-hello":
                answer = "hello?"
            send(answer)
        elif CUT:
            send("a process cut at a timeout was handed another pairing")
        elif "::first::" in request["trial"]:
            send(faulty(request))
        else:
            send(real(request))


if __name__ == "__main__":
    main()
