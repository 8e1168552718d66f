//! The Redis keys and names clamator owns (WIRE.md section 3).

/// `P:cmds:<service>`: the stream of requests and notifications for one service.
pub fn command_stream(prefix: &str, service: &str) -> String {
    format!("{prefix}:cmds:{service}")
}

/// `P:replies:<client instance id>`: the stream a client reads its replies from.
pub fn reply_stream(prefix: &str, instance_id: &str) -> String {
    format!("{prefix}:replies:{instance_id}")
}

/// The consumer group of a service: the service name itself.
pub fn consumer_group(service: &str) -> &str {
    service
}

/// `<service>:<server instance id>`: a server's consumer in the service's group.
pub fn consumer_name(service: &str, instance_id: &str) -> String {
    format!("{service}:{instance_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_0_1_9() {
        assert_eq!(command_stream("app/v1", "arith"), "app/v1:cmds:arith");
        assert_eq!(reply_stream("p", "abc"), "p:replies:abc");
        assert_eq!(consumer_group("arith"), "arith");
        assert_eq!(consumer_name("arith", "i1"), "arith:i1");
    }
}
