//! Replies of one completion batch that go to the same reply stream, in one stream entry.
//!
//! A Rust client marks its requests with the field `reply-batch` (value `1`): it accepts a
//! JSON-RPC 2.0 batch response, an array of responses, in the `envelope` field of one reply
//! entry. The completion writer then sends one `XADD` per reply stream and batch instead of
//! one per reply: under load, where a batch holds many replies for few callers, that is most
//! of the reply `XADD`s Redis would otherwise append, index and trim, and most of the entries
//! the caller would read back. A caller that does not mark its requests (every 0.1.9 client)
//! gets one entry per reply, as WIRE.md says.

use std::borrow::Cow;

use super::completion::{Completion, Reply};

/// The largest combined envelope: a group that would grow past it is closed and a new one
/// opened (a single reply larger than this still goes alone, unchanged).
const MAX_COMBINED_BYTES: usize = 1 << 20;

/// One `XADD` to write: the reply, and the entry it answers (the first one, when combined).
#[derive(Debug)]
pub(crate) struct Outgoing<'a> {
    /// The command-stream entry the reply answers, for logs.
    pub(crate) owner: &'a str,
    pub(crate) reply: Cow<'a, Reply>,
}

/// Replies to the same reply stream (and TTL) that may be combined, in the order they
/// finished.
struct Group<'a> {
    owner: &'a str,
    replies: Vec<&'a Reply>,
    bytes: usize,
}

/// The `XADD`s for the replies of `batch`: one per reply, except that the batchable replies to
/// one stream are combined, in their order, into one JSON array (a JSON-RPC batch response).
/// Streams keep the order of their first reply in the batch.
pub(crate) fn combine(batch: &[Completion]) -> Vec<Outgoing<'_>> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    // Groups still taking replies, by position in `groups`: a batch has few reply streams,
    // so a linear search beats hashing.
    let mut open: Vec<usize> = Vec::new();
    for completion in batch {
        let Some(reply) = &completion.reply else { continue };
        let joinable = reply.batchable.then(|| {
            open.iter().copied().find(|&g| {
                let first = groups[g].replies[0];
                first.key == reply.key && first.ttl_ms == reply.ttl_ms
            })
        });
        match joinable.flatten() {
            Some(g) if groups[g].bytes + reply.json.len() < MAX_COMBINED_BYTES => {
                groups[g].bytes += reply.json.len() + 1;
                groups[g].replies.push(reply);
            }
            found => {
                if let Some(full) = found {
                    open.retain(|&g| g != full);
                }
                if reply.batchable {
                    open.push(groups.len());
                }
                groups.push(Group { owner: &completion.entry_id, replies: vec![reply], bytes: reply.json.len() + 2 });
            }
        }
    }
    groups.into_iter().map(Group::into_outgoing).collect()
}

impl<'a> Group<'a> {
    fn into_outgoing(self) -> Outgoing<'a> {
        let first = self.replies[0];
        if self.replies.len() == 1 {
            return Outgoing { owner: self.owner, reply: Cow::Borrowed(first) };
        }
        let mut json = String::with_capacity(self.bytes);
        json.push('[');
        for (i, reply) in self.replies.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            json.push_str(&reply.json);
        }
        json.push(']');
        let reply = Reply { key: first.key.clone(), json, ttl_ms: first.ttl_ms, batchable: true };
        Outgoing { owner: self.owner, reply: Cow::Owned(reply) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(id: &str, key: &str, json: &str, batchable: bool) -> Completion {
        let reply = Reply { key: key.into(), json: json.into(), ttl_ms: Some(600_000), batchable };
        Completion { entry_id: id.into(), reply: Some(reply), ran: true }
    }

    fn shape(out: &[Outgoing<'_>]) -> Vec<(String, String, String)> {
        out.iter().map(|o| (o.owner.to_owned(), o.reply.key.clone(), o.reply.json.clone())).collect()
    }

    #[test]
    fn combines_batchable_replies_per_stream_in_order() {
        let batch = vec![
            done("1-0", "p:replies:a", "{\"id\":1}", true),
            done("2-0", "p:replies:b", "{\"id\":2}", true),
            Completion { entry_id: "3-0".into(), reply: None, ran: true },
            done("4-0", "p:replies:a", "{\"id\":4}", true),
            done("5-0", "p:replies:c", "{\"id\":5}", false),
            done("6-0", "p:replies:c", "{\"id\":6}", false),
            done("7-0", "p:replies:a", "{\"id\":7}", true),
        ];
        let out = combine(&batch);
        let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
        assert_eq!(
            shape(&out),
            vec![
                s("1-0", "p:replies:a", "[{\"id\":1},{\"id\":4},{\"id\":7}]"),
                s("2-0", "p:replies:b", "{\"id\":2}"),
                s("5-0", "p:replies:c", "{\"id\":5}"),
                s("6-0", "p:replies:c", "{\"id\":6}"),
            ]
        );
        assert!(matches!(out[1].reply, Cow::Borrowed(_)), "a lone reply is not copied");
    }

    #[test]
    fn a_different_ttl_is_another_group() {
        let mut other = done("2-0", "p:replies:a", "{\"id\":2}", true);
        other.reply.as_mut().unwrap().ttl_ms = Some(5_000);
        let batch = vec![done("1-0", "p:replies:a", "{\"id\":1}", true), other];
        assert_eq!(combine(&batch).len(), 2);
    }

    #[test]
    fn a_full_group_is_closed() {
        let third = "x".repeat(MAX_COMBINED_BYTES / 3);
        let batch: Vec<_> = (0..5).map(|i| done(&format!("{i}-0"), "p:replies:a", &third, true)).collect();
        let out = combine(&batch);
        let sizes: Vec<usize> = out.iter().map(|o| o.reply.json.matches('x').count() / third.len()).collect();
        assert_eq!(sizes, [2, 2, 1]);
        assert!(out.iter().all(|o| o.reply.json.len() <= MAX_COMBINED_BYTES));
    }
}
