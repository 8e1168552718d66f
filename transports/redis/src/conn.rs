//! [`Conn`]: the one connection type the server and client use, whatever Redis runs as: a
//! single node, a master found through Sentinel, or a cluster.
//!
//! Every command clamator sends names at most one key, and every Lua script one key
//! (`KEYS[1]`), so each goes to the node owning that key's slot as it is. The pipelines that
//! touch two keys (a reply `XADD` on the caller's reply stream, then `XACK`/`XDEL` on the
//! command stream) are split per slot on a cluster, see [`cluster_pipeline`]: never one
//! cross-slot request.

use std::collections::HashMap;

use futures_util::future::try_join_all;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::Slot;
use redis::{Arg, Cmd, Pipeline, RedisFuture, Value};

use crate::sentinel::MasterConn;

/// A connection for ordinary commands or for one blocking reader. Cloning is cheap and
/// shares the underlying connection(s).
#[derive(Clone)]
pub(crate) enum Conn {
    /// One node (a URL, a client, or a connection given by the user).
    Node(ConnectionManager),
    /// The master a set of sentinels names, followed across failovers.
    Sentinel(MasterConn),
    /// A Redis Cluster: each command goes to the node owning its key's slot (following
    /// `MOVED`/`ASK`).
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Node(c) => c.req_packed_command(cmd),
            Conn::Sentinel(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Node(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Sentinel(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => {
                if pipeline.is_transaction() {
                    c.req_packed_commands(pipeline, offset, count)
                } else {
                    Box::pin(cluster_pipeline(c.clone(), pipeline))
                }
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Node(c) => c.get_db(),
            Conn::Sentinel(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// The slot of a pipelined command's key: its first argument, as in every command clamator
/// pipelines (`XADD`, `PEXPIRE`, `XACK`, `XDEL`); `None` for a command without arguments.
fn slot_of(cmd: &Cmd) -> Option<Slot> {
    match cmd.args_iter().nth(1) {
        Some(Arg::Simple(key)) => Some(Slot::for_key(key)),
        _ => None,
    }
}

/// Runs a (non-transactional) pipeline on a cluster as one sub-pipeline per slot, and gives
/// the answers back in the pipeline's order.
///
/// Order: the sub-pipeline holding the pipeline's **last** command runs after all the
/// others have answered; the others run concurrently; within a sub-pipeline the commands
/// keep their order. clamator's pipelines end with the command that must come last (the
/// `XACK`/`XDEL` of a batch, after its replies), so a crash between the two can leave a
/// reply without its acknowledgement (the entry runs again: at-least-once), never an
/// acknowledgement without its reply.
pub(crate) async fn cluster_pipeline(conn: ClusterConnection, pipeline: &Pipeline) -> redis::RedisResult<Vec<Value>> {
    let mut groups: Vec<(Option<Slot>, Vec<usize>)> = Vec::new();
    let mut index_of: HashMap<Option<Slot>, usize> = HashMap::new();
    for (i, cmd) in pipeline.cmd_iter().enumerate() {
        let slot = slot_of(cmd);
        let g = *index_of.entry(slot).or_insert_with(|| {
            groups.push((slot, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(i);
    }
    let commands: Vec<&Cmd> = pipeline.cmd_iter().collect();
    let run = |members: &[usize]| {
        let mut sub = redis::pipe();
        for &i in members {
            sub.add_command(commands[i].clone());
        }
        let mut conn = conn.clone();
        async move {
            let len = sub.len();
            conn.req_packed_commands(&sub, 0, len).await
        }
    };
    let last_group = commands.len().checked_sub(1).and_then(|last| index_of.get(&slot_of(commands[last]))).copied();
    let mut answers: Vec<Option<Value>> = vec![None; commands.len()];
    let early: Vec<&(Option<Slot>, Vec<usize>)> =
        groups.iter().enumerate().filter(|(g, _)| Some(*g) != last_group).map(|(_, group)| group).collect();
    let early_answers = try_join_all(early.iter().map(|(_, members)| run(members))).await?;
    for ((_, members), values) in early.iter().zip(early_answers) {
        for (&i, value) in members.iter().zip(values) {
            answers[i] = Some(value);
        }
    }
    if let Some(g) = last_group {
        let members = &groups[g].1;
        let values = run(members).await?;
        for (&i, value) in members.iter().zip(values) {
            answers[i] = Some(value);
        }
    }
    Ok(answers.into_iter().map(|v| v.unwrap_or(Value::Nil)).collect())
}
