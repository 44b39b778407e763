//! The registry: every probe's name, description, arguments, and how to build it.

use connectable::Protocol;
use serde::Deserialize;
use serde::de::{Deserializer, Error as _};

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
pub const PROBES: &[ProbeInfo] = &[ProbeInfo {
    name: "idle",
    about: "does nothing: a bare ConnectableProtocol that records how the connection ended",
    arguments: &[],
}];

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
    Idle,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoArguments {}

/// Parses the arguments of the probe called `name` (a map of argument name to value, without
/// the name itself). Unknown probes and unknown or ill-typed arguments are errors.
pub fn parse<'de, D: Deserializer<'de>>(name: &str, arguments: D) -> Result<ProbeSpec, D::Error> {
    let kind = match name {
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
        match self.0 {
            Kind::Idle => "idle",
        }
    }

    /// A fresh protocol for one trial.
    pub fn instantiate(&self) -> Box<dyn Protocol> {
        match &self.0 {
            Kind::Idle => Box::new(Idle),
        }
    }
}

struct Idle;

impl Protocol for Idle {
    fn data_received(
        &mut self,
        _: &mut connectable::Transport,
        _: &[u8],
    ) -> connectable::CallbackResult {
        Ok(())
    }
}
