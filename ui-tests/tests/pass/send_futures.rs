//! Handler futures and client futures are `Send`: calls can be spawned on a multi-thread
//! runtime, and generic code over `T: Contract` can rely on it.

use std::future::Future;

use clamator::memory::{MemoryBus, MemoryRpcClient, MemoryRpcServer};
use clamator::RpcError;
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct Wait {
    pub ms: u64,
}

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct Waited {
    pub ms: u64,
}

#[clamator::contract(service = "sleeper")]
pub trait Sleeper {
    async fn sleep(&self, params: Wait) -> Result<Waited, RpcError>;
    #[clamator(notification)]
    async fn nap(&self, params: Wait);
}

struct Bed {
    naps: tokio::sync::Mutex<u64>,
}

impl Sleeper for Bed {
    async fn sleep(&self, p: Wait) -> Result<Waited, RpcError> {
        // A guard held across an await: fine, tokio's guard is Send.
        let guard = self.naps.lock().await;
        tokio::time::sleep(std::time::Duration::from_millis(p.ms)).await;
        drop(guard);
        Ok(Waited { ms: p.ms })
    }

    async fn nap(&self, p: Wait) {
        *self.naps.lock().await += p.ms;
    }
}

fn assert_send<F: Future + Send>(f: F) -> F {
    f
}

/// Generic code sees `Send` futures from any implementation.
async fn through_the_trait<T: Sleeper>(t: &T) -> u64 {
    assert_send(t.nap(Wait { ms: 1 })).await;
    assert_send(t.sleep(Wait { ms: 1 })).await.unwrap().ms
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let bed = Bed { naps: tokio::sync::Mutex::new(0) };
    assert_eq!(tokio::spawn(async move { through_the_trait(&bed).await }).await.unwrap(), 1);

    let bus = MemoryBus::new();
    let server = MemoryRpcServer::new(&bus);
    server.register_service(SleeperServer::new(Bed { naps: tokio::sync::Mutex::new(0) })).unwrap();
    server.start().await.unwrap();
    let client = MemoryRpcClient::new(&bus);
    client.start().await.unwrap();

    let sleeper = SleeperClient::new(client.clone());
    let tasks: Vec<_> = (0..4u64)
        .map(|ms| {
            let sleeper = sleeper.clone();
            tokio::spawn(async move { sleeper.sleep(Wait { ms }).await.unwrap().ms })
        })
        .collect();
    for (ms, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap(), ms as u64);
    }
    let notifier = sleeper.clone();
    tokio::spawn(async move { notifier.nap(Wait { ms: 3 }).await.unwrap() }).await.unwrap();

    client.stop().await;
    server.stop().await;
}
