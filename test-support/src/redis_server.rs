//! A private `redis-server` for tests: started on a free loopback port (never assuming 6379
//! is free or empty), or taken from `REDIS_URL` when that is set. It can be killed and
//! restarted on the same port, empty (or, with [`RedisOptions::aof`], with its data), to
//! test recovery. Only the process this harness started is ever killed, by its pid.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How a private server runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedisOptions {
    /// Append-only file with `appendfsync always`: every acknowledged write survives a
    /// SIGKILL and is loaded again by [`RedisServer::start_again`].
    pub aof: bool,
    /// `requirepass`: clients must authenticate. [`RedisServer::url`] then carries it.
    pub password: Option<String>,
    /// TLS on a second port, with a certificate from a CA made for this server at start
    /// ([`RedisServer::tls_url`], [`RedisServer::ca_pem`]); the plain port stays open for
    /// the harness and for admin commands.
    pub tls: bool,
    /// More `redis-server` arguments (`--replicaof`, `--cluster-enabled`, ...).
    pub args: Vec<String>,
}

impl RedisOptions {
    /// Persistence with `appendonly yes`, `appendfsync always`.
    pub fn aof() -> Self {
        Self { aof: true, ..Self::default() }
    }

    /// A server that requires `password`.
    pub fn password(password: &str) -> Self {
        Self { password: Some(password.to_owned()), ..Self::default() }
    }

    /// A server that also listens with TLS.
    pub fn tls() -> Self {
        Self { tls: true, ..Self::default() }
    }
}

/// A running Redis for tests.
pub struct RedisServer {
    url: String,
    port: u16,
    /// The TLS port (0: none).
    tls_port: u16,
    dir: PathBuf,
    options: RedisOptions,
    child: Mutex<Option<Child>>,
}

impl RedisServer {
    /// Starts a private `redis-server` on a free loopback port, or uses `REDIS_URL` if set.
    ///
    /// # Panics
    /// When `redis-server` cannot be started; the message says how to install it.
    pub fn start() -> Self {
        if let Ok(url) = std::env::var("REDIS_URL") {
            return Self {
                url,
                port: 0,
                tls_port: 0,
                dir: PathBuf::new(),
                options: RedisOptions::default(),
                child: Mutex::new(None),
            };
        }
        Self::start_private()
    }

    /// Always starts a private server, ignoring `REDIS_URL` (for tests that kill it).
    pub fn start_private() -> Self {
        Self::start_with(RedisOptions::default())
    }

    /// Starts a private server with `options`, ignoring `REDIS_URL`.
    pub fn start_with(options: RedisOptions) -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("clamator-redis-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create redis dir");
        let url = match &options.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{port}"),
            None => format!("redis://127.0.0.1:{port}"),
        };
        let tls_port = if options.tls { free_port() } else { 0 };
        if options.tls {
            crate::tls_certs::generate(&dir);
        }
        let server = Self { url, port, tls_port, dir, options, child: Mutex::new(None) };
        server.spawn();
        server
    }

    /// `redis://127.0.0.1:PORT` (with the password, when there is one).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `redis://127.0.0.1:PORT`, without any password.
    pub fn url_without_password(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// `rediss://127.0.0.1:TLS_PORT` (servers started with [`RedisOptions::tls`]).
    pub fn tls_url(&self) -> String {
        assert!(self.tls_port != 0, "not a TLS server");
        format!("rediss://127.0.0.1:{}", self.tls_port)
    }

    /// The PEM of the CA that signed this server's certificate.
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.dir.join(crate::tls_certs::CA_FILE)).expect("CA certificate")
    }

    /// The pid of the running process, if any.
    pub fn pid(&self) -> Option<u32> {
        self.child.lock().unwrap().as_ref().map(Child::id)
    }

    /// The port (0 when `REDIS_URL` was used).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `true` when this harness owns the process (and so can kill and restart it).
    pub fn is_private(&self) -> bool {
        self.port != 0
    }

    fn spawn(&self) -> Instant {
        let port = self.port.to_string();
        let mut command = Command::new(redis_server_binary());
        command.args(["--port", &port, "--bind", "127.0.0.1", "--save", ""]);
        if self.options.aof {
            command.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            command.args(["--appendonly", "no"]);
        }
        if let Some(password) = &self.options.password {
            command.args(["--requirepass", password]);
        }
        if self.tls_port != 0 {
            let file = |name: &str| self.dir.join(name).to_string_lossy().into_owned();
            command.args(["--tls-port", &self.tls_port.to_string()]);
            command.args(["--tls-cert-file", &file(crate::tls_certs::CERT_FILE)]);
            command.args(["--tls-key-file", &file(crate::tls_certs::KEY_FILE)]);
            command.args(["--tls-ca-cert-file", &file(crate::tls_certs::CA_FILE)]);
            command.args(["--tls-auth-clients", "no"]);
        }
        command.args(&self.options.args);
        let child = command
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): install it (Debian: apt-get install redis-server) or set REDIS_URL")
            });
        *self.child.lock().unwrap() = Some(child);
        wait_until_ready(self.port, Duration::from_secs(10))
    }

    /// Kills the server (SIGKILL to the process this harness started: no save, no goodbye).
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

    /// Starts a killed server again on the same port and directory (so with its data, when
    /// it runs with [`RedisOptions::aof`]). Returns when it answers commands; the instant
    /// returned is when its port first accepted a connection.
    pub fn start_again(&self) -> Instant {
        assert!(self.child.lock().unwrap().is_none(), "start_again after kill only");
        self.spawn()
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

pub(crate) fn raw_command(port: u16, command: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to redis");
    stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    stream.write_all(format!("{command}\r\n").as_bytes()).unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Waits until the server answers a command (`PONG`, or `NOAUTH` when it wants a password);
/// returns when the port first accepted a connection.
pub(crate) fn wait_until_ready(port: u16, limit: Duration) -> Instant {
    let deadline = Instant::now() + limit;
    let mut accepted = None;
    while Instant::now() < deadline {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let accepted = *accepted.get_or_insert_with(Instant::now);
            let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
            if stream.write_all(b"PING\r\n").is_ok() {
                let mut buf = [0u8; 16];
                if matches!(stream.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG") || buf[..n].starts_with(b"-NOAUTH"))
                {
                    return accepted;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("redis-server on port {port} did not answer PING within {limit:?}");
}
