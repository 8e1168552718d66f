//! The reply loop: reads the client's reply stream, hands each reply to its waiting call,
//! and keeps the stream's TTL fresh.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::conn::Conn;
use clamator_core::{Envelope, EnvelopeError, Id, ProtocolError, Response};

use super::{Delivered, Inner};
use crate::connection::{query, sleep_or_stop, Backoff};
use crate::entry::read_reply;

const BLOCK: Duration = Duration::from_millis(1000);

impl Inner {
    /// Reads replies until stop.
    ///
    /// A connection error never fails a pending call: the loop reconnects and resumes
    /// `XREAD` after the last id it saw, so a call whose request is in Redis completes
    /// normally, or times out (when Redis lost the request or the reply: that is what
    /// happened, and a timeout says so).
    pub(super) async fn reply_loop(self: Arc<Self>) {
        let stop = self.core.stop_token().clone();
        let mut backoff = Backoff::new();
        let mut connection: Option<Conn> = None;
        let mut last_id = "0".to_owned();
        // The TTL is set as soon as replies arrive (the stream exists from then on), again
        // after each connection failure (Redis may have lost the key), and renewed every
        // third of the TTL.
        let mut ttl_set = false;
        let mut next_refresh = Instant::now() + self.reply_ttl / 3;
        while !stop.is_cancelled() {
            let conn = match &mut connection {
                Some(conn) => conn,
                None => match self.source.blocking(BLOCK).await {
                    Ok(conn) => connection.insert(conn),
                    Err(e) => {
                        tracing::error!(error = %e, "reply reader cannot connect; retrying");
                        sleep_or_stop(backoff.next_delay(), &stop).await;
                        continue;
                    }
                },
            };
            // Sized once: growing its buffers showed in the client's profile (one read per
            // call at 1 in flight).
            let mut read_cmd = redis::Cmd::with_capacity(8, self.reply_stream.len() + last_id.len() + 64);
            read_cmd
                .arg("XREAD")
                .arg("COUNT")
                .arg(512)
                .arg("BLOCK")
                .arg(BLOCK.as_millis() as u64)
                .arg("STREAMS")
                .arg(&self.reply_stream)
                .arg(&last_id);
            let read = query::<redis::Value>(conn, &read_cmd);
            let result = tokio::select! {
                () = stop.cancelled() => break,
                result = read => result,
            };
            match result {
                Ok(value) => {
                    backoff.reset();
                    let mut received = false;
                    for entry in read_reply(value) {
                        last_id.clone_from(&entry.id);
                        self.deliver(entry.field(crate::keys::field::ENVELOPE));
                        received = true;
                    }
                    if (received && !ttl_set) || Instant::now() >= next_refresh {
                        ttl_set = self.refresh_ttl().await;
                        next_refresh = Instant::now() + self.reply_ttl / 3;
                    }
                }
                Err(failure) => {
                    if failure.is_connection_error() {
                        ttl_set = false;
                        self.probe_commands();
                    }
                    tracing::error!(error = %failure.into_error(), "reply reader failed; retrying");
                    sleep_or_stop(backoff.next_delay(), &stop).await;
                }
            }
        }
    }

    /// `PEXPIRE <reply stream> <ttl>` (a missing key is not an error); `true` when done.
    async fn refresh_ttl(&self) -> bool {
        let Ok(mut conn) = self.commands() else { return false };
        let mut cmd = redis::cmd("PEXPIRE");
        cmd.arg(&self.reply_stream).arg(u64::try_from(self.reply_ttl.as_millis()).unwrap_or(u64::MAX));
        match query::<i64>(&mut conn, &cmd).await {
            Ok(set) => set == 1,
            Err(failure) => {
                tracing::warn!(error = %failure.into_error(), stream = %self.reply_stream, "could not renew the reply stream's TTL");
                false
            }
        }
    }

    /// After the reply connection failed, the command connection most likely failed too,
    /// unnoticed while idle: a `PING` lets its manager find out and reconnect now, so that
    /// the next call does not hit a dead connection (and get an uncertain outcome).
    fn probe_commands(&self) {
        let Ok(mut conn) = self.commands() else { return };
        tokio::spawn(async move {
            let _ = query::<()>(&mut conn, &redis::cmd("PING")).await;
        });
    }

    fn deliver(&self, envelope: Option<&[u8]>) {
        let Some(bytes) = envelope else {
            tracing::warn!(stream = %self.reply_stream, "reply without an envelope dropped");
            return;
        };
        if bytes.trim_ascii_start().starts_with(b"[") {
            return self.deliver_batch(bytes);
        }
        self.deliver_one(bytes);
    }

    /// One response: a success as clamator servers write it goes to its call as the
    /// result's text (the call decodes it, in its own task); any other form is parsed here.
    fn deliver_one(&self, bytes: &[u8]) {
        if let Some((id, result)) = Response::read_success(bytes) {
            match self.take_pending_text(id) {
                Some(tx) => {
                    let _ = tx.send(Ok(Delivered::Result(result.to_owned())));
                }
                None => tracing::debug!(%id, "reply for an unknown or expired call dropped"),
            }
            return;
        }
        self.deliver_parsed(Envelope::parse(bytes));
    }

    fn deliver_parsed(&self, parsed: Result<Envelope, EnvelopeError>) {
        match parsed {
            Ok(envelope) => self.deliver_envelope(envelope),
            Err(e) => {
                // A malformed reply whose id can be read (a 0.1.9 server writes `Infinity`
                // for an overflowing float, which is not JSON) fails its call at once,
                // instead of leaving it to time out.
                let waiter = e.id.as_ref().and_then(|id| self.take_pending(id));
                match waiter {
                    Some(tx) => {
                        let _ = tx.send(Err(ProtocolError::InvalidReply(e.to_string()).into()));
                    }
                    None => tracing::warn!(stream = %self.reply_stream, error = %e, "malformed reply dropped"),
                }
            }
        }
    }

    /// A JSON-RPC batch response: the replies a server combined for this client (it asked
    /// for that with `reply-batch`), each handed to its call.
    fn deliver_batch(&self, bytes: &[u8]) {
        match serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(bytes) {
            Ok(replies) => replies.into_iter().for_each(|reply| self.deliver_one(reply.get().as_bytes())),
            Err(e) => {
                tracing::warn!(stream = %self.reply_stream, error = %e, "malformed batch of replies dropped (not a JSON array)");
            }
        }
    }

    fn deliver_envelope(&self, envelope: Envelope) {
        let response = match envelope {
            Envelope::Response(response) => response,
            Envelope::Call(_) => {
                tracing::warn!(stream = %self.reply_stream, "a call on the reply stream dropped");
                return;
            }
        };
        let Some(id) = response.id.as_ref() else {
            tracing::warn!(stream = %self.reply_stream, "reply without an id dropped");
            return;
        };
        match self.take_pending(id) {
            Some(tx) => {
                let _ = tx.send(Ok(Delivered::Parsed(response)));
            }
            None => tracing::debug!(%id, "reply for an unknown or expired call dropped"),
        }
    }

    /// The call waiting for the reply to `id` (our requests' ids are UUIDs: any other id is
    /// no call of ours).
    fn take_pending(&self, id: &Id) -> Option<tokio::sync::oneshot::Sender<Result<Delivered, clamator_core::Error>>> {
        let Id::String(text) = id else { return None };
        self.take_pending_text(text)
    }

    /// [`take_pending`](Self::take_pending) for a string id.
    fn take_pending_text(
        &self,
        text: &str,
    ) -> Option<tokio::sync::oneshot::Sender<Result<Delivered, clamator_core::Error>>> {
        // Exactly the form we send (36 characters, lowercase hex): no other spelling of the
        // same UUID matches.
        if text.len() != 36 || text.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let key = uuid::Uuid::try_parse(text).ok()?.as_u128();
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&key)
    }
}
