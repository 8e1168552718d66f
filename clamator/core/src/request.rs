//! What the transport knows about the request a handler is serving: its deadline and how
//! many times it has been delivered. A handler reads it with [`RequestInfo::current`].

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

tokio::task_local! {
    static CURRENT: RequestInfo;
}

/// The transport's view of the request being handled.
///
/// Transports run every handler inside [`RequestInfo::scope`], so a handler (or anything it
/// awaits on the same task) can ask how much time its caller has left:
///
/// ```
/// use clamator_core::RequestInfo;
///
/// async fn long_step() {
///     match RequestInfo::current().and_then(|r| r.remaining()) {
///         Some(left) if left.is_zero() => { /* the caller has given up: stop early */ }
///         Some(_) | None => { /* time left, or no deadline known */ }
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestInfo {
    /// When the caller stops waiting, on this process's clock; `None` when the request
    /// carries no deadline (a notification, or a caller that does not send one, such as
    /// clamator 0.1.9).
    pub deadline: Option<Instant>,
    /// How many times the transport has delivered this request, this delivery included
    /// (1 on the first; more after a server died or stalled with it).
    pub attempt: u32,
}

impl RequestInfo {
    /// Info for a request delivered `attempt` times, with an optional deadline.
    pub fn new(deadline: Option<Instant>, attempt: u32) -> Self {
        Self { deadline, attempt }
    }

    /// The request being handled on this task, if a transport set one.
    pub fn current() -> Option<RequestInfo> {
        CURRENT.try_with(|info| *info).ok()
    }

    /// Time left before the deadline (zero once it has passed); `None` without a deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline.map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Runs `fut` with `self` as the current request (used by transports around dispatch).
    pub fn scope<F: Future>(self, fut: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(self, fut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn current_is_set_inside_the_scope_only() {
        assert_eq!(RequestInfo::current(), None);
        let deadline = Instant::now() + Duration::from_secs(5);
        let seen = RequestInfo::new(Some(deadline), 2).scope(async { RequestInfo::current() }).await.unwrap();
        assert_eq!(seen.attempt, 2);
        let left = seen.remaining().unwrap();
        assert!(left <= Duration::from_secs(5) && left > Duration::from_secs(4));
        assert_eq!(RequestInfo::new(None, 1).remaining(), None);
    }
}
