//! The idle → started → stopped state machine that servers and clients of every transport
//! follow.

use std::sync::atomic::{AtomicU8, Ordering};

const IDLE: u8 = 0;
const STARTED: u8 = 1;
const STOPPED: u8 = 2;

/// Where a server or client is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Created, not started: services may be registered, calls fail.
    Idle,
    /// Running.
    Started,
    /// Stopped for good: cannot be started again.
    Stopped,
}

/// A lock-free lifecycle flag. `start` and `stop` are idempotent; start after stop fails.
#[derive(Debug, Default)]
pub struct Lifecycle(AtomicU8);

impl Lifecycle {
    /// A new, idle lifecycle.
    pub const fn new() -> Self {
        Self(AtomicU8::new(IDLE))
    }

    /// The current state.
    pub fn state(&self) -> State {
        match self.0.load(Ordering::Acquire) {
            IDLE => State::Idle,
            STARTED => State::Started,
            _ => State::Stopped,
        }
    }

    /// Moves idle → started. `Ok(true)` when this call started it, `Ok(false)` when it was
    /// already started, `Err(())` when it was stopped.
    #[allow(clippy::result_unit_err)]
    pub fn start(&self) -> Result<bool, ()> {
        match self.0.compare_exchange(IDLE, STARTED, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => Ok(true),
            Err(STARTED) => Ok(false),
            Err(_) => Err(()),
        }
    }

    /// Moves to stopped; returns the state it was in.
    pub fn stop(&self) -> State {
        match self.0.swap(STOPPED, Ordering::AcqRel) {
            IDLE => State::Idle,
            STARTED => State::Started,
            _ => State::Stopped,
        }
    }

    /// `true` while started.
    pub fn is_started(&self) -> bool {
        self.0.load(Ordering::Acquire) == STARTED
    }
}
