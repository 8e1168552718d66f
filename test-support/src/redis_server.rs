//! A private `redis-server` for tests: started on a free loopback port (never assuming 6379
//! is free or empty), or taken from `REDIS_URL` when that is set. It can be killed and
//! restarted on the same port, empty, to test recovery.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A running Redis for tests.
pub struct RedisServer {
    url: String,
    port: u16,
    dir: PathBuf,
    child: Mutex<Option<Child>>,
}

impl RedisServer {
    /// Starts a private `redis-server` on a free loopback port, or uses `REDIS_URL` if set.
    ///
    /// # Panics
    /// When `redis-server` cannot be started; the message says how to install it.
    pub fn start() -> Self {
        if let Ok(url) = std::env::var("REDIS_URL") {
            return Self { url, port: 0, dir: PathBuf::new(), child: Mutex::new(None) };
        }
        Self::start_private()
    }

    /// Always starts a private server, ignoring `REDIS_URL` (for tests that kill it).
    pub fn start_private() -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("clamator-redis-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create redis dir");
        let server = Self { url: format!("redis://127.0.0.1:{port}"), port, dir, child: Mutex::new(None) };
        server.spawn();
        server
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port (0 when `REDIS_URL` was used).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `true` when this harness owns the process (and so can kill and restart it).
    pub fn is_private(&self) -> bool {
        self.port != 0
    }

    fn spawn(&self) {
        let child = Command::new(redis_server_binary())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): install it (Debian: apt-get install redis-server) or set REDIS_URL")
            });
        *self.child.lock().unwrap() = Some(child);
        wait_for_pong(self.port, Duration::from_secs(10));
    }

    /// Kills the server (SIGKILL: no save, no goodbye).
    pub fn kill(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty.
    pub fn restart(&self) {
        self.kill();
        self.spawn();
    }

    /// Sends one command in the Redis inline protocol and returns the raw reply (for simple
    /// checks without a client library).
    pub fn raw_command(&self, command: &str) -> String {
        raw_command(self.port, command)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        if self.is_private() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn redis_server_binary() -> String {
    std::env::var("REDIS_SERVER_BIN").unwrap_or_else(|_| "redis-server".to_owned())
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn raw_command(port: u16, command: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to redis");
    stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    stream.write_all(format!("{command}\r\n").as_bytes()).unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn wait_for_pong(port: u16, limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
            if stream.write_all(b"PING\r\n").is_ok() {
                let mut buf = [0u8; 16];
                if matches!(stream.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG")) {
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("redis-server on port {port} did not answer PING within {limit:?}");
}
