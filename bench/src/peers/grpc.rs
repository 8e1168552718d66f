//! The gRPC peer: tonic unary calls of `/arith.Arith/Add`, whose request and response are a
//! protobuf message `{ bytes json = 1; }` carrying the same JSON-RPC envelopes as the NATS
//! peers. The message codec and the service are written by hand (what tonic-build would
//! generate for that one method), so building the bench needs no `protoc`. Not durable: a
//! call lives in the client's and the server's memory only.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::{Buf, BufMut};
use tonic::body::Body;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::{http, Body as HttpBody, BoxFuture, Context, Poll, Service, StdError};
use tonic::server::NamedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status};

use super::jsonrpc;
use crate::measure::Caller;

const ADD_PATH: &str = "/arith.Arith/Add";

/// The `{ bytes json = 1; }` message codec: field 1, wire type 2 (tag byte 0x0a), then a
/// varint length and the bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBytesCodec;

impl Codec for JsonBytesCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = JsonBytesCodec;
    type Decoder = JsonBytesCodec;

    fn encoder(&mut self) -> Self::Encoder {
        JsonBytesCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        JsonBytesCodec
    }
}

impl Encoder for JsonBytesCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_u8(0x0a);
        let mut len = item.len() as u64;
        while len >= 0x80 {
            dst.put_u8((len as u8 & 0x7f) | 0x80);
            len >>= 7;
        }
        dst.put_u8(len as u8);
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for JsonBytesCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut json = Vec::new();
        // Fields other than 1 are not expected; a message without field 1 is empty JSON.
        while src.has_remaining() {
            let tag = read_varint(src)?;
            if tag != 0x0a {
                return Err(Status::invalid_argument(format!("unexpected protobuf tag {tag:#x}")));
            }
            let len = usize::try_from(read_varint(src)?).map_err(|_| Status::invalid_argument("length"))?;
            if src.remaining() < len {
                return Err(Status::invalid_argument("truncated bytes field"));
            }
            json.resize(len, 0);
            src.copy_to_slice(&mut json);
        }
        Ok(Some(json))
    }
}

fn read_varint(src: &mut DecodeBuf<'_>) -> Result<u64, Status> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        if !src.has_remaining() {
            return Err(Status::invalid_argument("truncated varint"));
        }
        let byte = src.get_u8();
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err(Status::invalid_argument("varint too long"))
}

/// The `arith.Arith` service with its one method.
#[derive(Debug, Clone, Copy, Default)]
pub struct ArithGrpc;

impl NamedService for ArithGrpc {
    const NAME: &'static str = "arith.Arith";
}

/// The `Add` method: the JSON-RPC answer to the request envelope.
struct AddMethod;

impl Service<Request<Vec<u8>>> for AddMethod {
    type Response = Response<Vec<u8>>;
    type Error = Status;
    type Future = std::future::Ready<Result<Response<Vec<u8>>, Status>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Vec<u8>>) -> Self::Future {
        std::future::ready(Ok(Response::new(jsonrpc::answer(request.get_ref()))))
    }
}

impl<B> Service<http::Request<B>> for ArithGrpc
where
    B: HttpBody + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() == ADD_PATH {
            Box::pin(async move { Ok(tonic::server::Grpc::new(JsonBytesCodec).unary(AddMethod, request).await) })
        } else {
            Box::pin(async move { Ok(Status::unimplemented("no such method").into_http()) })
        }
    }
}

/// Serves `arith.Arith` on a free loopback port; returns its address.
pub async fn serve() -> Result<SocketAddr, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tokio::spawn(async move {
        let router = tonic::transport::Server::builder().add_service(ArithGrpc);
        if let Err(e) = router.serve_with_incoming(incoming).await {
            eprintln!("gRPC server stopped: {e}");
        }
    });
    Ok(addr)
}

/// One caller: a handle on the shared HTTP/2 channel.
pub struct GrpcCaller(tonic::client::Grpc<Channel>);

impl Caller for GrpcCaller {
    async fn call(&mut self, seq: u64) -> Result<(), String> {
        let a = (seq % 1024) as f64;
        let (request, id) = jsonrpc::request(a);
        self.0.ready().await.map_err(|e| format!("channel: {e}"))?;
        let path = http::uri::PathAndQuery::from_static(ADD_PATH);
        let reply = self.0.unary(Request::new(request), path, JsonBytesCodec).await.map_err(|e| e.to_string())?;
        jsonrpc::check_reply(reply.get_ref(), id, a)
    }
}

/// `concurrency` callers on one channel (one HTTP/2 connection) to `addr`.
pub async fn callers(addr: &str, concurrency: usize) -> Result<Vec<GrpcCaller>, String> {
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| e.to_string())?
        .tcp_nodelay(true)
        .connect()
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    Ok((0..concurrency).map(|_| GrpcCaller(tonic::client::Grpc::new(channel.clone()))).collect())
}
