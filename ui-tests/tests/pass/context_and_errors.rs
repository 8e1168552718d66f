//! Handlers that take the request's `&Context`, and handlers that use `?` on any error
//! (`HandlerError`), beside ones written without either; exercised over the memory bus.

use std::time::Duration;

use clamator::memory::{MemoryBus, MemoryRpcClient, MemoryRpcServer};
use clamator::{Context, Error, HandlerError, RpcError};
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct Path {
    pub path: String,
}

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct Info {
    pub caller: Option<String>,
    pub method: String,
    pub has_deadline: bool,
}

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct Size {
    pub bytes: u64,
}

#[clamator::contract(service = "files")]
pub trait Files {
    /// Takes the context.
    async fn who(&self, ctx: &Context, params: Path) -> Result<Info, RpcError>;
    /// `?` on an io::Error.
    async fn size(&self, params: Path) -> Result<Size, HandlerError>;
    /// A notification with a context.
    #[clamator(notification)]
    async fn touch(&self, ctx: &clamator::Context, params: Path);
}

struct Disk;

impl Files for Disk {
    async fn who(&self, ctx: &Context, _: Path) -> Result<Info, RpcError> {
        Ok(Info {
            caller: ctx.metadata().get("caller").cloned(),
            method: ctx.method().to_owned(),
            has_deadline: ctx.deadline().is_some(),
        })
    }

    async fn size(&self, p: Path) -> Result<Size, HandlerError> {
        Ok(Size { bytes: std::fs::metadata(&p.path)?.len() })
    }

    async fn touch(&self, _: &Context, _: Path) {}
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let bus = MemoryBus::new();
    let server = MemoryRpcServer::new(&bus);
    server.register_service(FilesServer::new(Disk)).unwrap();
    server.start().await.unwrap();
    let client = MemoryRpcClient::new(&bus);
    client.start().await.unwrap();
    let files = FilesClient::new(client.clone()).with_timeout(Duration::from_secs(5)).with_metadata("caller", "ui");
    let info = files.who(Path { path: String::new() }).await.unwrap();
    assert_eq!(info.caller.as_deref(), Some("ui"));
    assert_eq!(info.method, "who");
    assert!(info.has_deadline);
    let err = files.size(Path { path: "/no/such/file".into() }).await.unwrap_err();
    match err {
        Error::Rpc(e) => {
            assert_eq!(e.code, -32603);
            assert_eq!(e.data.unwrap()["name"], "std::io::error::Error");
        }
        other => panic!("{other:?}"),
    }
    files.touch(Path { path: String::new() }).await.unwrap();
    client.stop().await;
    server.stop().await;
}
