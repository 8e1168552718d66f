//! The shared transport conformance suite, over the memory bus.

use std::time::Duration;

use clamator::memory::{MemoryBus, MemoryRpcClient, MemoryRpcServer};
use clamator::TransportError;
use clamator_test_support::conformance::TestTransport;

struct Memory {
    bus: MemoryBus,
}

impl TestTransport for Memory {
    type Server = MemoryRpcServer;
    type Client = MemoryRpcClient;

    async fn setup() -> Self {
        Memory { bus: MemoryBus::new() }
    }

    fn server(&self) -> MemoryRpcServer {
        MemoryRpcServer::new(&self.bus)
    }

    fn client(&self, default_timeout: Duration) -> MemoryRpcClient {
        MemoryRpcClient::with_default_timeout(&self.bus, default_timeout)
    }

    async fn start_client(client: &MemoryRpcClient) -> Result<(), TransportError> {
        client.start().await
    }

    async fn stop_client(client: &MemoryRpcClient) {
        client.stop().await;
    }

    fn unknown_service_times_out() -> bool {
        false
    }
}

clamator_test_support::conformance_suite!(Memory);
