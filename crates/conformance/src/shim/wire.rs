//! The shim protocol's messages (docs/SHIM.md): the `hello` and `pair` requests as JSON, and
//! the answers read back and checked: a shim's capabilities, and each side's events, reason
//! and received bytes, refused with a clear message when they are malformed or impossible.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::prelude::{BASE64_STANDARD, Engine as _};
use connectable::{CloseRequest, Delivery, DisconnectReason, Event, ReasonKind, TimedEvent};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::suite::{PeerSpec, TransportKind};

/// The version of docs/SHIM.md this runner speaks.
pub const PROTOCOL: u64 = 1;

/// Received bytes up to this many come whole, in base64; past it, a digest and a head.
pub const WHOLE_UP_TO: u64 = 16 << 20;

/// What a shim says it implements, from its `hello` answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Capabilities {
    /// The language, its version, the event loop.
    pub implementation: String,
    /// Transport words.
    pub transports: Vec<String>,
    /// Delivery words.
    pub deliveries: Vec<String>,
    /// Each probe, with the arguments it understands.
    pub probes: BTreeMap<String, Vec<String>>,
    /// Script step words.
    #[serde(default)]
    pub steps: Vec<String>,
    /// TLS features: `client_cert`, `require_client_cert`, `verify_false`.
    #[serde(default)]
    pub tls: Vec<String>,
}

/// The `hello` request.
pub fn hello(id: u64) -> Value {
    json!({"type": "hello", "id": id, "protocol": PROTOCOL})
}

/// The capabilities in a `hello` answer, or what is wrong with it.
pub fn read_hello(answer: &Value, id: u64) -> Result<Capabilities, String> {
    expect_kind(answer, "hello", id)?;
    match answer.get("protocol").and_then(Value::as_u64) {
        Some(PROTOCOL) => {}
        Some(other) => {
            return Err(format!(
                "it speaks protocol version {other}; this runner speaks {PROTOCOL} (docs/SHIM.md)"
            ));
        }
        None => return Err("its hello answer has no \"protocol\" number".into()),
    }
    Capabilities::deserialize(answer).map_err(|e| format!("its hello answer is malformed: {e}"))
}

/// Checks an answer's `type` and `id`; an `error` or `not_implemented` answer is refused with
/// what it says.
pub fn expect_kind(answer: &Value, kind: &str, id: u64) -> Result<(), String> {
    let found = answer.get("type").and_then(Value::as_str);
    let text = |key: &str| {
        answer
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("(no text)")
            .to_owned()
    };
    match found {
        Some("error") => return Err(format!("it answered an error: {}", text("message"))),
        Some("not_implemented") => {
            return Err(format!(
                "it does not implement {}, but its hello said it does: a shim declares only \
                 what it implements, so that the runner skips the rest",
                text("what")
            ));
        }
        Some(found) if found == kind => {}
        Some(found) => {
            return Err(format!(
                "it answered type {found:?} where {kind:?} was expected"
            ));
        }
        None => return Err("its answer has no \"type\"".into()),
    }
    match answer.get("id").and_then(Value::as_u64) {
        Some(found) if found == id => Ok(()),
        Some(found) => Err(format!("it answered id {found} to the request of id {id}")),
        None => Err("its answer has no \"id\"".into()),
    }
}

/// The TLS part of a request: the PEM files written for the trial and the case's settings.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The server's certificate.
    pub cert: String,
    /// The server's key.
    pub key: String,
    /// The CA.
    pub ca: String,
    /// The client's certificate and key, when it presents one.
    pub client: Option<(String, String)>,
    /// Whether the server requires a client certificate.
    pub require_client_cert: bool,
    /// Whether the client verifies the server.
    pub verify: bool,
}

/// Everything one `pair` request says.
#[derive(Clone, Debug)]
pub struct PairRequest<'a> {
    /// The request's id.
    pub id: u64,
    /// The trial's name.
    pub trial: &'a str,
    /// The transport.
    pub transport: TransportKind,
    /// The delivery mode (with its seed).
    pub delivery: Delivery,
    /// The pairing's timeout.
    pub timeout: Duration,
    /// How long a side's close waits for its last writes and the peer's EOF.
    pub linger: Duration,
    /// Where the UNIX socket goes.
    pub unix_path: Option<String>,
    /// The TLS files and settings.
    pub tls: Option<TlsFiles>,
    /// The server side.
    pub server: &'a PeerSpec,
    /// The client side.
    pub client: &'a PeerSpec,
}

impl PairRequest<'_> {
    /// The request as its JSON line's value.
    pub fn to_json(&self) -> Value {
        let tls = self.tls.as_ref().map(|tls| {
            json!({
                "cert": tls.cert,
                "key": tls.key,
                "ca": tls.ca,
                "client_cert": tls.client.as_ref().map(|c| &c.0),
                "client_key": tls.client.as_ref().map(|c| &c.1),
                "require_client_cert": tls.require_client_cert,
                "verify": tls.verify,
                "server_name": connectable::pki::SERVER_NAME,
            })
        });
        json!({
            "type": "pair",
            "id": self.id,
            "trial": self.trial,
            "transport": self.transport.word(),
            "delivery": self.delivery.word(),
            "seed": match self.delivery {
                Delivery::Chunked(seed) => Some(seed),
                _ => None,
            },
            "timeout_ms": u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
            "linger_ms": u64::try_from(self.linger.as_millis()).unwrap_or(u64::MAX),
            "unix_path": self.unix_path,
            "tls": tls,
            "server": side(self.server),
            "client": side(self.client),
        })
    }
}

/// One side of a request: a probe with the arguments the suite gave, or a script.
pub fn side(peer: &PeerSpec) -> Value {
    match peer {
        PeerSpec::Probe(spec, arguments) => {
            json!({"probe": spec.name(), "arguments": Value::Object((**arguments).clone())})
        }
        PeerSpec::Script(script) => {
            json!({"script": script.steps().iter().map(step).collect::<Vec<_>>()})
        }
        // The plan never gives a shim a case with an external side, a list of connections
        // (only against an external side) or no server.
        PeerSpec::Command(_)
        | PeerSpec::Address(_)
        | PeerSpec::Connections(_)
        | PeerSpec::Unreachable(_) => Value::Null,
    }
}

/// A script step as the request carries it: `{ word: value }`, `wait` in milliseconds.
fn step(step: &protocols::Step) -> Value {
    use protocols::Step;
    let value = match step {
        Step::Send(text) | Step::Expect(text) => json!(text),
        Step::SendHex(bytes) | Step::ExpectHex(bytes) => json!(hex(bytes)),
        Step::SendSize(n) | Step::ExpectSize(n) => json!(n),
        Step::Wait(duration) => json!(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)),
        _ => json!(true),
    };
    let mut object = serde_json::Map::new();
    object.insert(step.word().to_owned(), value);
    Value::Object(object)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a side received, as the answer gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// All of it.
    Whole(Vec<u8>),
    /// Past [`WHOLE_UP_TO`]: how many, their SHA-256, and the first bytes.
    Digest {
        /// How many bytes.
        length: u64,
        /// The SHA-256 of all of them.
        sha256: [u8; 32],
        /// The first bytes (up to 64 KiB).
        head: Vec<u8>,
    },
}

impl Received {
    /// How many bytes were received.
    pub fn length(&self) -> u64 {
        match self {
            Self::Whole(bytes) => bytes.len() as u64,
            Self::Digest { length, .. } => *length,
        }
    }
}

/// One side of a valid answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SideAnswer {
    /// Its events, with their times.
    pub events: Vec<TimedEvent>,
    /// How it ended; `None`: still open at the timeout.
    pub reason: Option<DisconnectReason>,
    /// What it received.
    pub received: Received,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSide {
    reason: Option<String>,
    #[serde(default)]
    detail: String,
    events: Vec<RawEvent>,
    received: RawReceived,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    at_us: u64,
    event: String,
    bytes: Option<u64>,
    how: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReceived {
    length: u64,
    base64: Option<String>,
    sha256: Option<String>,
    head_base64: Option<String>,
}

/// Both sides of a `result` answer to request `id`, checked (docs/SHIM.md, sections 5 to 8),
/// or what is wrong with it. `tls`: whether the pairing ran over TLS.
pub fn read_result(answer: &Value, id: u64, tls: bool) -> Result<(SideAnswer, SideAnswer), String> {
    expect_kind(answer, "result", id)?;
    let side = |name: &str| -> Result<SideAnswer, String> {
        let value = answer
            .get(name)
            .ok_or_else(|| format!("its answer has no {name} side"))?;
        let raw = RawSide::deserialize(value)
            .map_err(|e| format!("its {name} side is malformed: {e}"))?;
        read_side(raw, tls).map_err(|e| format!("its {name} side is impossible: {e}"))
    };
    Ok((side("server")?, side("client")?))
}

fn read_side(raw: RawSide, tls: bool) -> Result<SideAnswer, String> {
    let reason = match raw.reason.as_deref() {
        None => None,
        Some(word) => {
            let kind = ReasonKind::ALL
                .into_iter()
                .find(|k| k.word() == word)
                .ok_or_else(|| {
                    let valid: Vec<&str> = ReasonKind::ALL.iter().map(|k| k.word()).collect();
                    format!(
                        "unknown reason {word:?} (valid: {}, or null)",
                        valid.join(", ")
                    )
                })?;
            Some(reason_of(kind, raw.detail))
        }
    };
    let mut events = Vec::with_capacity(raw.events.len());
    let mut last_at = 0;
    let (mut made, mut lost, mut handshakes, mut read_lost, mut write_lost) = (0, 0, 0, 0, 0);
    let mut data_bytes: u64 = 0;
    for (i, raw_event) in raw.events.into_iter().enumerate() {
        let number = i + 1;
        let word = raw_event.event.as_str();
        if raw_event.at_us < last_at {
            return Err(format!(
                "event {number} ({word}) at {} us comes before the event before it ({last_at} us)",
                raw_event.at_us
            ));
        }
        last_at = raw_event.at_us;
        if lost > 0 {
            return Err(format!("event {number} ({word}) comes after lost"));
        }
        if made == 0 && word != "unverified" && word != "made" {
            return Err(format!("event {number} ({word}) comes before made"));
        }
        let event = match word {
            "unverified" => Event::Unverified,
            "made" => {
                made += 1;
                if made > 1 {
                    return Err(format!("event {number}: made twice"));
                }
                Event::Made
            }
            "handshake" => {
                handshakes += 1;
                if !tls {
                    return Err(format!("event {number}: handshake over a plain transport"));
                }
                if handshakes > 1 {
                    return Err(format!("event {number}: handshake twice"));
                }
                Event::Handshake
            }
            "data" => match raw_event.bytes {
                Some(bytes) if bytes >= 1 => {
                    data_bytes += bytes;
                    Event::Data(usize::try_from(bytes).unwrap_or(usize::MAX))
                }
                Some(_) => return Err(format!("event {number}: data of 0 bytes")),
                None => return Err(format!("event {number}: data without \"bytes\"")),
            },
            "read-lost" => {
                read_lost += 1;
                if read_lost > 1 {
                    return Err(format!("event {number}: read-lost twice"));
                }
                Event::ReadLost
            }
            "write-lost" => {
                write_lost += 1;
                if write_lost > 1 {
                    return Err(format!("event {number}: write-lost twice"));
                }
                Event::WriteLost
            }
            "paused" => Event::Paused,
            "resumed" => Event::Resumed,
            "pause-producing" => Event::PauseProducing,
            "resume-producing" => Event::ResumeProducing,
            "stop-producing" => Event::StopProducing,
            "timer" => Event::Timer,
            "half-close-requested" => Event::HalfCloseRequested,
            "close-requested" => Event::CloseRequested(match raw_event.how.as_deref() {
                Some("lose") => CloseRequest::Lose,
                Some("lose-without-close-notify") => CloseRequest::LoseWithoutCloseNotify,
                Some("abort") => CloseRequest::Abort,
                other => {
                    return Err(format!(
                        "event {number}: close-requested with how {other:?} (valid: lose, \
                         lose-without-close-notify, abort)"
                    ));
                }
            }),
            "callback-failed" => {
                Event::CallbackFailed(raw_event.message.unwrap_or_else(|| "(no message)".into()))
            }
            "lost" => {
                lost += 1;
                let Some(reason) = &reason else {
                    return Err(format!(
                        "event {number}: lost, but the side's reason is null"
                    ));
                };
                Event::Lost(reason.kind())
            }
            other => {
                return Err(format!(
                    "event {number}: unknown event {other:?} (valid: {}, timer, close-requested, \
                     half-close-requested, callback-failed)",
                    Event::WORDS.join(", ")
                ));
            }
        };
        events.push(TimedEvent {
            at: Duration::from_micros(raw_event.at_us),
            event,
        });
    }
    match (&reason, made, lost) {
        (Some(DisconnectReason::Refused(_)), 1, _) => {
            return Err("it was made, but its reason is refused".into());
        }
        (Some(DisconnectReason::Refused(_)), _, _) | (None, _, 0) => {}
        (Some(reason), 1, 0) => {
            return Err(format!(
                "its reason is {}, but it has no lost event",
                reason.kind().word()
            ));
        }
        (Some(_), 0, _) => {
            return Err("it has a reason but was never made (only refused means that)".into());
        }
        (Some(_), _, _) => {}
        (None, _, _) => return Err("it has a lost event, but its reason is null".into()),
    }
    let received = read_received(raw.received)?;
    if data_bytes != received.length() {
        return Err(format!(
            "its data events add up to {data_bytes} bytes, but it received {}",
            received.length()
        ));
    }
    Ok(SideAnswer {
        events,
        reason,
        received,
    })
}

fn reason_of(kind: ReasonKind, detail: String) -> DisconnectReason {
    match kind {
        ReasonKind::Done => DisconnectReason::Done,
        ReasonKind::Lost => DisconnectReason::Lost(detail),
        ReasonKind::Aborted => DisconnectReason::Aborted,
        ReasonKind::Tls => DisconnectReason::Tls(detail),
        ReasonKind::Refused => DisconnectReason::Refused(detail),
        ReasonKind::Error => DisconnectReason::Error(detail),
    }
}

fn read_received(raw: RawReceived) -> Result<Received, String> {
    let decode = |text: &str, what: &str| {
        BASE64_STANDARD
            .decode(text)
            .map_err(|e| format!("its received {what} is not valid base64: {e}"))
    };
    match (raw.base64, raw.sha256, raw.head_base64) {
        (Some(text), None, None) => {
            let bytes = decode(&text, "base64")?;
            if bytes.len() as u64 != raw.length {
                return Err(format!(
                    "its received length is {}, but its base64 holds {} bytes",
                    raw.length,
                    bytes.len()
                ));
            }
            Ok(Received::Whole(bytes))
        }
        (None, Some(digest), head) if raw.length > WHOLE_UP_TO => {
            let head = decode(head.as_deref().unwrap_or_default(), "head_base64")?;
            let sha256 = parse_sha256(&digest)
                .ok_or_else(|| format!("its received sha256 is not 64 hex digits: {digest:?}"))?;
            if head.len() as u64 > raw.length {
                return Err("its received head is longer than its length".into());
            }
            Ok(Received::Digest {
                length: raw.length,
                sha256,
                head,
            })
        }
        (None, Some(_), _) => Err(format!(
            "its received bytes are given by digest, but only past {WHOLE_UP_TO} bytes may be \
             (length {}): send them in base64",
            raw.length
        )),
        _ => Err(
            "its received must have either base64, or sha256 and head_base64 (docs/SHIM.md, \
             section 8)"
                .into(),
        ),
    }
}

fn parse_sha256(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (i, byte) in digest.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(server: Value) -> Value {
        json!({
            "type": "result", "id": 3,
            "server": server,
            "client": {"reason": "done", "events": [{"at_us": 1, "event": "made"}, {"at_us": 2, "event": "lost"}],
                       "received": {"length": 0, "base64": ""}},
        })
    }

    fn side(events: Value, reason: Value, received: Value) -> Value {
        json!({"reason": reason, "detail": "", "events": events, "received": received})
    }

    fn ev(at: u64, word: &str) -> Value {
        json!({"at_us": at, "event": word})
    }

    #[test]
    fn answers_are_checked() {
        let empty = json!({"length": 0, "base64": ""});
        let x = json!({"length": 1, "base64": "eA=="});
        let data = json!({"at_us": 3, "event": "data", "bytes": 1});
        // Rows: the server side, then None when it is valid or the start of the problem.
        let rows: Vec<(Value, Option<&str>)> = vec![
            (
                side(
                    json!([ev(1, "made"), data.clone(), ev(4, "lost")]),
                    json!("done"),
                    x.clone(),
                ),
                None,
            ),
            (
                side(json!([ev(1, "made")]), Value::Null, empty.clone()),
                None,
            ),
            (side(json!([]), json!("refused"), empty.clone()), None),
            (
                side(
                    json!([
                        ev(1, "made"),
                        ev(4, "lost"),
                        json!({"at_us": 5, "event": "data", "bytes": 1})
                    ]),
                    json!("done"),
                    x.clone(),
                ),
                Some("its server side is impossible: event 3 (data) comes after lost"),
            ),
            (
                side(
                    json!([ev(1, "made"), ev(2, "lost"), ev(3, "lost")]),
                    json!("done"),
                    empty.clone(),
                ),
                Some("its server side is impossible: event 3 (lost) comes after lost"),
            ),
            (
                side(json!([ev(2, "lost")]), json!("done"), empty.clone()),
                Some("its server side is impossible: event 1 (lost) comes before made"),
            ),
            (
                side(
                    json!([ev(1, "made"), ev(2, "made")]),
                    Value::Null,
                    empty.clone(),
                ),
                Some("its server side is impossible: event 2: made twice"),
            ),
            (
                side(json!([ev(1, "made")]), json!("done"), empty.clone()),
                Some("its server side is impossible: its reason is done, but it has no lost event"),
            ),
            (
                side(
                    json!([ev(1, "made"), ev(2, "handshake")]),
                    Value::Null,
                    empty.clone(),
                ),
                Some("its server side is impossible: event 2: handshake over a plain transport"),
            ),
            (
                side(
                    json!([ev(5, "made"), ev(2, "lost")]),
                    json!("done"),
                    empty.clone(),
                ),
                Some("its server side is impossible: event 2 (lost) at 2 us comes before"),
            ),
            (
                side(
                    json!([ev(1, "made"), ev(2, "lost")]),
                    json!("closed"),
                    empty.clone(),
                ),
                Some("its server side is impossible: unknown reason \"closed\""),
            ),
            (
                side(
                    json!([ev(1, "made"), ev(2, "lost")]),
                    json!("done"),
                    x.clone(),
                ),
                Some(
                    "its server side is impossible: its data events add up to 0 bytes, but it received 1",
                ),
            ),
            (
                side(
                    json!([ev(1, "made"), ev(2, "wat")]),
                    Value::Null,
                    empty.clone(),
                ),
                Some("its server side is impossible: event 2: unknown event \"wat\""),
            ),
            (
                side(
                    json!([ev(1, "made"), data.clone()]),
                    Value::Null,
                    json!({"length": 1, "base64": "!!"}),
                ),
                Some("its server side is impossible: its received base64 is not valid base64"),
            ),
            (
                json!({"reason": "done"}),
                Some("its server side is malformed: missing field `events`"),
            ),
        ];
        for (server, problem) in rows {
            let found = read_result(&result(server.clone()), 3, false).err();
            match (found, problem) {
                (None, None) => {}
                (Some(found), Some(start)) => {
                    assert!(found.starts_with(start), "{found}\n{server}")
                }
                (found, expected) => panic!("found {found:?}, expected {expected:?}: {server}"),
            }
        }
    }

    #[test]
    fn the_answer_itself_is_checked() {
        let good = result(side(
            json!([]),
            json!("refused"),
            json!({"length": 0, "base64": ""}),
        ));
        let mut no_client = good.clone();
        no_client.as_object_mut().map(|o| o.remove("client"));
        let rows: Vec<(Value, u64, &str)> = vec![
            (good.clone(), 4, "it answered id 3 to the request of id 4"),
            (no_client, 3, "its answer has no client side"),
            (
                json!({"type": "error", "id": 3, "message": "boom"}),
                3,
                "it answered an error: boom",
            ),
            (
                json!({"type": "not_implemented", "id": 3, "what": "x"}),
                3,
                "it does not implement x, but",
            ),
            (
                json!({"type": "hello", "id": 3}),
                3,
                "it answered type \"hello\" where \"result\"",
            ),
            (json!({"id": 3}), 3, "its answer has no \"type\""),
        ];
        for (answer, id, start) in rows {
            let found = read_result(&answer, id, false).expect_err("refused");
            assert!(found.starts_with(start), "{found}");
        }
    }
}
