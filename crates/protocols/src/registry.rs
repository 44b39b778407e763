//! The registry: every probe's name, description, arguments, and how to build it.
//!
//! Each probe lives in its own module, which owns its [`ProbeInfo`] (`INFO`), its argument
//! struct and its protocol; this module only lists them and dispatches on the name.

use connectable::Protocol;
use serde::Deserialize;
use serde::de::{Deserializer, Error as _};

use crate::{abort_on_data, accumulate, closing, closing_later, echo, idle, send};

/// What the registry knows about one probe, for suites, error messages and documentation.
#[derive(Clone, Copy, Debug)]
pub struct ProbeInfo {
    /// The name suites use (`closing-later`).
    pub name: &'static str,
    /// One sentence on what the probe does.
    pub about: &'static str,
    /// The arguments it takes.
    pub arguments: &'static [ArgumentInfo],
}

/// One argument of a probe.
#[derive(Clone, Copy, Debug)]
pub struct ArgumentInfo {
    /// The key suites use.
    pub name: &'static str,
    /// The kind of value, as shown to users (`text`, `integer`, `wait | close | abort`).
    pub kind: &'static str,
    /// What it does.
    pub about: &'static str,
}

/// Every probe, in documentation order.
pub const PROBES: &[ProbeInfo] = &[
    closing_later::INFO,
    closing::INFO,
    echo::INFO,
    send::INFO,
    accumulate::INFO,
    abort_on_data::INFO,
    idle::INFO,
];

/// The probe with this name.
pub fn info(name: &str) -> Option<&'static ProbeInfo> {
    PROBES.iter().find(|p| p.name == name)
}

/// A probe chosen by name with its arguments checked: cheap, no I/O, cloneable; makes a
/// fresh protocol for each trial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeSpec(Kind);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    ClosingLater(closing_later::Arguments),
    Closing,
    Echo,
    Send(send::Arguments),
    Accumulate(accumulate::Arguments),
    AbortOnData(abort_on_data::Arguments),
    Idle,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoArguments {}

/// Parses the arguments of the probe called `name` (a map of argument name to value, without
/// the name itself). Unknown probes and unknown or ill-typed arguments are errors.
pub fn parse<'de, D: Deserializer<'de>>(name: &str, arguments: D) -> Result<ProbeSpec, D::Error> {
    let kind = match name {
        "closing-later" => Kind::ClosingLater(Deserialize::deserialize(arguments)?),
        "closing" => {
            NoArguments::deserialize(arguments)?;
            Kind::Closing
        }
        "echo" => {
            NoArguments::deserialize(arguments)?;
            Kind::Echo
        }
        "send" => Kind::Send(Deserialize::deserialize(arguments)?),
        "accumulate" => Kind::Accumulate(Deserialize::deserialize(arguments)?),
        "abort-on-data" => Kind::AbortOnData(Deserialize::deserialize(arguments)?),
        "idle" => {
            NoArguments::deserialize(arguments)?;
            Kind::Idle
        }
        other => return Err(D::Error::custom(format!("unknown probe \"{other}\""))),
    };
    Ok(ProbeSpec(kind))
}

impl ProbeSpec {
    /// The probe's registered name.
    pub fn name(&self) -> &'static str {
        let info = match self.0 {
            Kind::ClosingLater(_) => &closing_later::INFO,
            Kind::Closing => &closing::INFO,
            Kind::Echo => &echo::INFO,
            Kind::Send(_) => &send::INFO,
            Kind::Accumulate(_) => &accumulate::INFO,
            Kind::AbortOnData(_) => &abort_on_data::INFO,
            Kind::Idle => &idle::INFO,
        };
        info.name
    }

    /// A fresh protocol for one trial.
    pub fn instantiate(&self) -> Box<dyn Protocol> {
        match &self.0 {
            Kind::ClosingLater(arguments) => Box::new(closing_later::ClosingLater::new(arguments)),
            Kind::Closing => Box::new(closing::Closing),
            Kind::Echo => Box::new(echo::Echo),
            Kind::Send(arguments) => Box::new(send::SendPayload::new(arguments)),
            Kind::Accumulate(arguments) => Box::new(accumulate::Accumulate::new(arguments)),
            Kind::AbortOnData(arguments) => Box::new(abort_on_data::AbortOnData::new(arguments)),
            Kind::Idle => Box::new(idle::Idle),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::send::{Payload, Then};
    use crate::testing::parse_toml;

    /// Parses `name { arguments }` and compares the outcome: the probe it makes, or a
    /// substring of the error.
    #[track_caller]
    fn check(name: &str, arguments: &str, expected: Result<Kind, &str>) {
        let outcome = parse_toml(name, arguments);
        let context = format!("{name} {{ {arguments} }}");
        match (outcome, expected) {
            (Ok(spec), Ok(kind)) => {
                assert_eq!(spec, ProbeSpec(kind), "{context}");
                assert_eq!(spec.name(), name, "{context}");
            }
            (Err(error), Err(part)) => assert!(
                error.contains(part),
                "{context}: error {error:?} does not contain {part:?}"
            ),
            (outcome, expected) => panic!("{context}: got {outcome:?}, expected {expected:?}"),
        }
    }

    fn closing_later(send: Option<&str>) -> Kind {
        let send = send.map(str::to_owned);
        Kind::ClosingLater(closing_later::Arguments { send })
    }

    fn abort_on_data(send: Option<&str>) -> Kind {
        let send = send.map(str::to_owned);
        Kind::AbortOnData(abort_on_data::Arguments { send })
    }

    fn send(payload: Payload, then: Then) -> Kind {
        Kind::Send(send::Arguments { payload, then })
    }

    fn bytes(data: &[u8]) -> Payload {
        Payload::Bytes(data.to_vec())
    }

    fn accumulate(close_after: Option<u64>) -> Kind {
        Kind::Accumulate(accumulate::Arguments { close_after })
    }

    #[test]
    #[rustfmt::skip]
    fn parses_valid_arguments() {
        check("closing-later", "",                                 Ok(closing_later(None)));
        check("closing-later", r#"send = "x""#,                    Ok(closing_later(Some("x"))));
        check("closing",       "",                                 Ok(Kind::Closing));
        check("echo",          "",                                 Ok(Kind::Echo));
        check("send",          r#"data = "x""#,                    Ok(send(bytes(b"x"), Then::Wait)));
        check("send",          r#"data = "", then = "wait""#,      Ok(send(bytes(b""), Then::Wait)));
        check("send",          r#"data = "é", then = "close""#,    Ok(send(bytes("é".as_bytes()), Then::Close)));
        check("send",          r#"data_hex = "00fF""#,             Ok(send(bytes(b"\x00\xff"), Then::Wait)));
        check("send",          r#"data_hex = "", then = "abort""#, Ok(send(bytes(b""), Then::Abort)));
        check("send",          "size = 0",                         Ok(send(Payload::Generated(0), Then::Wait)));
        check("send",          "size = 1048576",                   Ok(send(Payload::Generated(1 << 20), Then::Wait)));
        check("accumulate",    "",                                 Ok(accumulate(None)));
        check("accumulate",    "close_after = 0",                  Ok(accumulate(Some(0))));
        check("accumulate",    "close_after = 12",                 Ok(accumulate(Some(12))));
        check("abort-on-data", "",                                 Ok(abort_on_data(None)));
        check("abort-on-data", r#"send = "x""#,                    Ok(abort_on_data(Some("x"))));
        check("idle",          "",                                 Ok(Kind::Idle));
    }

    #[test]
    #[rustfmt::skip]
    fn rejects_bad_arguments() {
        check("closing_later", "",                                 Err(r#"unknown probe "closing_later""#));
        check("",              "",                                 Err(r#"unknown probe """#));
        check("closing-later", r#"sned = "x""#,                    Err("unknown field `sned`, expected `send`"));
        check("closing-later", "send = 1",                         Err("invalid type: integer `1`, expected a string"));
        check("closing",       r#"send = "x""#,                    Err("unknown field `send`, there are no fields"));
        check("echo",          "x = 1",                            Err("unknown field `x`, there are no fields"));
        check("idle",          "x = 1",                            Err("unknown field `x`, there are no fields"));
        check("send",          "",                                 Err(r#"give exactly one of "data", "data_hex", "size" (got none)"#));
        check("send",          r#"then = "close""#,                Err(r#"give exactly one of "data", "data_hex", "size" (got none)"#));
        check("send",          r#"data = "x", size = 1"#,          Err(r#"(got "data", "size")"#));
        check("send",          r#"data = "x", data_hex = "00", size = 1"#, Err(r#"(got "data", "data_hex", "size")"#));
        check("send",          r#"data_hex = "00fg""#,             Err("data_hex: invalid hex digit 'g' at position 4"));
        check("send",          r#"data_hex = "0""#,                Err("data_hex: odd number of hex digits (1): each byte takes two"));
        check("send",          "data_hex = 0",                     Err("invalid type: integer `0`, expected a string"));
        check("send",          r#"data = "x", then = "later""#,    Err("unknown variant `later`, expected one of `wait`, `close`, `abort`"));
        check("send",          r#"data = "x", then = "Close""#,    Err("unknown variant `Close`"));
        check("send",          r#"data = "x", than = "close""#,    Err("unknown field `than`, expected one of `data`"));
        check("send",          "size = -1",                        Err("invalid value: integer `-1`, expected usize"));
        check("send",          r#"size = "3""#,                    Err(r#"invalid type: string "3", expected usize"#));
        check("accumulate",    "close_after = -1",                 Err("invalid value: integer `-1`, expected u64"));
        check("accumulate",    "close_after = 1.5",                Err("invalid type: floating point `1.5`, expected u64"));
        check("accumulate",    r#"close_after = "3""#,             Err(r#"invalid type: string "3", expected u64"#));
        check("accumulate",    "close = 3",                        Err("unknown field `close`, expected `close_after`"));
        check("abort-on-data", "send = true",                      Err("invalid type: boolean `true`, expected a string"));
    }

    /// The registry's argument names are the serde field names: the unknown-field error lists
    /// the fields serde knows, and they must be exactly the documented ones, in order.
    #[test]
    fn documented_arguments_are_the_accepted_ones() {
        for probe in PROBES {
            let error = parse_toml(probe.name, "unknown_argument = 1").unwrap_err();
            let quoted: Vec<&str> = error.split('`').skip(1).step_by(2).collect();
            let documented: Vec<&str> = probe.arguments.iter().map(|a| a.name).collect();
            assert_eq!(
                quoted.first(),
                Some(&"unknown_argument"),
                "{}: {error}",
                probe.name
            );
            assert_eq!(quoted[1..], documented, "{}: {error}", probe.name);
        }
    }

    #[test]
    fn the_catalogue_is_consistent() {
        let kinds = ["text", "hex", "integer", "wait | close | abort"];
        for (i, probe) in PROBES.iter().enumerate() {
            assert!(
                PROBES[..i].iter().all(|p| p.name != probe.name),
                "{} is listed twice",
                probe.name
            );
            assert_eq!(info(probe.name).map(|p| p.about), Some(probe.about));
            for argument in probe.arguments {
                assert!(
                    kinds.contains(&argument.kind),
                    "{}: {argument:?}",
                    probe.name
                );
            }
        }
        assert!(info("closing_later").is_none());
    }
}
