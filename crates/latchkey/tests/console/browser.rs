//! A real Chromium driven through WebDriver: Debian's `chromium` and `chromium-driver`
//! (`.ci/run` installs them). Without them the console's tests say so loudly and pass, unless
//! `LATCHKEY_REQUIRE_CHROMIUM=1` (set by `.ci/run`), where they fail.

use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Browsers running at once in this test process: two cores run two Chromiums well, and nine
/// starting together on them made a chromedriver drop its first connection.
static RUNNING: std::sync::LazyLock<std::sync::Arc<tokio::sync::Semaphore>> =
    std::sync::LazyLock::new(|| std::sync::Arc::new(tokio::sync::Semaphore::new(2)));

/// A headless Chromium under its own chromedriver, with a profile of its own.
pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: tempfile::TempDir,
    _turn: tokio::sync::OwnedSemaphorePermit,
}

fn find(names: &[&str]) -> Option<PathBuf> {
    for name in names {
        let path = Path::new(name);
        if path.is_absolute() && path.exists() {
            return Some(path.to_owned());
        }
        if let Ok(out) = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {name}"))
            .output()
        {
            let found = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if out.status.success() && !found.is_empty() {
                return Some(found.into());
            }
        }
    }
    None
}

impl Browser {
    /// Starts one, at a desktop width; `None` (after saying so) when this machine has no
    /// Chromium and the run does not require one.
    pub async fn start() -> Option<Browser> {
        let chromium = find(&["/usr/bin/chromium", "chromium", "chromium-browser"]);
        let driver = find(&["/usr/bin/chromedriver", "chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            assert!(
                std::env::var("LATCHKEY_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
                "LATCHKEY_REQUIRE_CHROMIUM=1 but chromium or chromedriver is missing"
            );
            eprintln!(
                "SKIPPED: the console's browser tests need Debian's chromium and \
                 chromium-driver (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let turn = RUNNING.clone().acquire_owned().await.unwrap();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        // Ready is what the driver says at /status, not an open port.
        let start = Instant::now();
        loop {
            let status = reqwest::get(format!("http://127.0.0.1:{port}/status")).await;
            if let Ok(answer) = status {
                let body: serde_json::Value = answer.json().await.unwrap_or_default();
                if body["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "chromedriver never became ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium.display().to_string(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        // A session that fails to open (a busy machine) is asked for again, a few times.
        let mut attempt = 0;
        let client = loop {
            let opened =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps.clone())
                    .connect(&format!("http://127.0.0.1:{port}"))
                    .await;
            attempt += 1;
            match opened {
                Ok(client) => break client,
                Err(e) if attempt < 3 => eprintln!("opening a Chromium session again: {e}"),
                Err(e) => panic!("a Chromium session: {e}"),
            }
        };
        Some(Browser {
            client,
            driver,
            profile,
            _turn: turn,
        })
    }

    /// Opens `url` and waits for its `<main>`.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap();
        self.wait_for("main").await;
    }

    /// Waits (up to a generous bound) for an element.
    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        let found = self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(element) => element,
            Err(e) => panic!("no {css} on {}: {e}", self.url().await),
        }
    }

    /// The element, now.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("no {css} on {}: {e}", self.url().await),
        }
    }

    /// Whether the page has such an element.
    pub async fn has(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    /// Types into a field (cleared first).
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Clicks, and waits for the new page it leads to: the old one is marked first, and the
    /// wait ends when a document without the mark has loaded.
    pub async fn click(&self, css: &str) {
        self.client
            .execute("window.__latchkeyOldPage = true;", vec![])
            .await
            .unwrap();
        self.find(css).await.click().await.unwrap();
        let start = Instant::now();
        loop {
            let loaded = self
                .client
                .execute(
                    "return window.__latchkeyOldPage === undefined
                        && document.readyState === 'complete';",
                    vec![],
                )
                .await;
            if matches!(loaded, Ok(serde_json::Value::Bool(true))) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "clicking {css} led to no new page"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.wait_for("main").await;
    }

    /// Clicks a link that asks before it acts, says yes, and waits for the page it leads to:
    /// the question asked and the notice that page shows.
    pub async fn confirm(&self, css: &str) -> (String, String) {
        self.find(css).await.click().await.unwrap();
        let question = self.client.get_alert_text().await.unwrap();
        self.client.accept_alert().await.unwrap();
        let notice = self.wait_for(".notice").await.text().await.unwrap();
        (question, notice)
    }

    /// The page's URL, as a string.
    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.find("body").await.text().await.unwrap()
    }

    /// The page's HTML as the browser holds it.
    pub async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    /// Saves a screenshot as `target/console-screenshots/NAME.png`; its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = target_dir().join("console-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, self.client.screenshot().await.unwrap()).unwrap();
        path
    }

    /// Ends the session and the driver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // A Chromium left behind by a failed test dies with its profile's processes.
        let _ = Command::new("pkill")
            .arg("-f")
            .arg(format!("user-data-dir={}", self.profile.path().display()))
            .status();
    }
}

/// The workspace's `target` directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    )
}
