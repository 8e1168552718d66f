//! Headless Chromium through chromedriver (started on a free port, stopped by pid), or a
//! loud skip where no browser is installed (unless `CLAMATOR_BROWSER_TESTS=require`).

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

fn first_existing(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    std::env::var_os(env)
        .map(PathBuf::from)
        .into_iter()
        .chain(candidates.iter().map(PathBuf::from))
        .find(|p| p.is_file())
}

/// chromedriver, running; killed on drop.
pub struct Driver {
    child: Child,
    port: u16,
    chromium: PathBuf,
}

impl Driver {
    /// `None` (after a loud message) where Chromium or chromedriver is missing.
    pub fn start(test: &str) -> Option<Self> {
        let chromium =
            first_existing("CHROMIUM", &["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]);
        let driver = first_existing("CHROMEDRIVER", &["/usr/bin/chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            let message = format!(
                "{test}: SKIPPED: no headless Chromium here (apt-get install chromium chromium-driver; .ci/run does)"
            );
            if std::env::var("CLAMATOR_BROWSER_TESTS").as_deref() == Ok("require") {
                panic!("{message}, but CLAMATOR_BROWSER_TESTS=require");
            }
            eprintln!("\n{}\n!!! {message}\n{}\n", "!".repeat(100), "!".repeat(100));
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Self { child, port, chromium })
    }

    /// A headless Chromium session at `width` x `height`.
    pub async fn session(&self, width: u32, height: u32) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": self.chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--no-first-run", format!("--window-size={width},{height}")],
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a chromedriver session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `script` run in the page (its `return` value).
pub async fn eval(client: &Client, script: &str) -> Value {
    client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// The text of the first element matching `selector` (read afresh: the page redraws).
pub async fn text(client: &Client, selector: &str) -> Option<String> {
    let script = format!("const e = document.querySelector({}); return e ? e.textContent : null;", json!(selector));
    eval(client, &script).await.as_str().map(str::to_owned)
}

/// Polls `check` every 100 ms for up to `within`.
pub async fn until<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A real click on the element matching `selector`, found again if the page redrew it
/// between the find and the click (a live page redraws at every reading).
pub async fn click(client: &Client, selector: &str) {
    let mut last = None;
    for _ in 0..20 {
        match client.find(fantoccini::Locator::Css(selector)).await {
            Ok(e) => match e.click().await {
                Ok(()) => return,
                Err(err) => last = Some(err.to_string()),
            },
            Err(err) => last = Some(err.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("could not click {selector}: {last:?}");
}
