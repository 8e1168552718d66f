//! The Redis keys, names and stream fields clamator owns (WIRE.md section 3, plus the
//! extensions listed in `docs/redis-wire-extensions.md`).

/// `parts` joined, in one allocation (`format!` showed in a client's profile: a key is
/// made per call).
fn concat(parts: &[&str]) -> String {
    let mut key = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        key.push_str(part);
    }
    key
}

/// `P:cmds:<service>`: the stream of requests and notifications for one service.
pub fn command_stream(prefix: &str, service: &str) -> String {
    concat(&[prefix, ":cmds:", service])
}

/// `P:replies:<client instance id>`: the stream a client reads its replies from.
pub fn reply_stream(prefix: &str, instance_id: &str) -> String {
    concat(&[prefix, ":replies:", instance_id])
}

/// `P:dead:<service>`: the dead-letter stream of one service (a clamator-rs extension).
pub fn dead_letter_stream(prefix: &str, service: &str) -> String {
    concat(&[prefix, ":dead:", service])
}

/// The consumer group of a service: the service name itself.
pub fn consumer_group(service: &str) -> &str {
    service
}

/// `<service>:<server instance id>`: a server's consumer in the service's group.
pub fn consumer_name(service: &str, instance_id: &str) -> String {
    concat(&[service, ":", instance_id])
}

/// Stream field names. The first three are 0.1.9's; the others are clamator-rs extensions
/// that 0.1.9 peers ignore.
pub(crate) mod field {
    /// `type`: always `rpc`.
    pub(crate) const TYPE: &str = "type";
    /// `envelope`: the JSON-RPC envelope.
    pub(crate) const ENVELOPE: &str = "envelope";
    /// `reply-to`: the caller's reply stream (requests only).
    pub(crate) const REPLY_TO: &str = "reply-to";
    /// `call-options`: the caller's timeout, reply-stream TTL and whether it reads batched
    /// replies, in one field (see [`crate::call_options`]).
    pub(crate) const CALL_OPTIONS: &str = "call-options";
    /// `metadata`: the caller's metadata, a JSON object of strings (Rust clients, when any).
    pub(crate) const METADATA: &str = "metadata";
    /// Dead letters: why the entry was set aside (`max-deliveries`).
    pub(crate) const DEAD_REASON: &str = "dead-reason";
    /// Dead letters: how many times the entry had been delivered.
    pub(crate) const DEAD_DELIVERIES: &str = "dead-deliveries";
    /// Dead letters: the consumer that held it last.
    pub(crate) const DEAD_CONSUMER: &str = "dead-consumer";
    /// Dead letters: when it was set aside (Redis Unix time, ms).
    pub(crate) const DEAD_AT_MS: &str = "dead-at-ms";
    /// Dead letters: the entry's id on the command stream.
    pub(crate) const DEAD_ENTRY: &str = "dead-entry";
    /// The prefix of every dead-letter field.
    pub(crate) const DEAD_PREFIX: &str = "dead-";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_0_1_9() {
        assert_eq!(command_stream("app/v1", "arith"), "app/v1:cmds:arith");
        assert_eq!(reply_stream("p", "abc"), "p:replies:abc");
        assert_eq!(dead_letter_stream("p", "arith"), "p:dead:arith");
        assert_eq!(consumer_group("arith"), "arith");
        assert_eq!(consumer_name("arith", "i1"), "arith:i1");
    }
}
