//! Failures: one clear line on stderr and a distinct exit code.

use std::process::ExitCode;

use clamator_core::{Error, TransportError};

/// Something went wrong; `code` is the process's exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

/// The server answered with an error; drift; a failed operation.
pub const FAILED: u8 = 1;
/// Bad usage or input; params rejected by the published schema.
pub const USAGE: u8 = 2;
/// No reply in time.
pub const TIMEOUT: u8 = 3;
/// Redis unreachable, or another transport failure.
pub const CONNECTION: u8 = 4;

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    pub fn other(message: impl Into<String>) -> Self {
        Self::new(FAILED, message)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }

    /// Prints `clamator: <message>` and gives the exit code.
    pub fn report(self) -> ExitCode {
        anstream::eprintln!(
            "{}clamator:{} {}",
            crate::format::ERROR.render(),
            crate::format::ERROR.render_reset(),
            self.message
        );
        ExitCode::from(self.code)
    }
}

impl From<TransportError> for Failure {
    fn from(e: TransportError) -> Self {
        let code = if matches!(e, TransportError::Timeout) { TIMEOUT } else { CONNECTION };
        Failure::new(code, one_line(&e))
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        match e {
            Error::Transport(t) => t.into(),
            Error::Rpc(rpc) => Failure::other(format!("error {}: {}", rpc.code, rpc.message)),
            other => Failure::other(one_line(&other)),
        }
    }
}

/// An error and its sources on one line.
pub fn one_line(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out.replace('\n', " ")
}
