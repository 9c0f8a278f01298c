//! A real browser for the console's end-to-end tests: headless Chromium driven through
//! chromedriver's WebDriver API (crate `fantoccini`). Each [`Browser`] starts its own chromedriver
//! on a free loopback port and stops it at the end.
//!
//! Without Chromium or chromedriver (a laptop without them), [`Browser::start`] prints one line
//! saying the test was skipped and why, and the test returns; with `CI` set, that is a failure:
//! `.ci/run` installs Debian's `chromium` and `chromium-driver`.
// Each browser test uses a different part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use crate::common::{eventually, DEADLINE};

/// The window every test sees, so screenshots are alike from run to run.
pub const WINDOW: (u32, u32) = (1280, 900);
/// A phone's width, for the check that pages read on a phone.
pub const PHONE: (u32, u32) = (390, 844);
/// How long a page may take to show what a test waits for: a run's message going through the
/// bot and the stand-in, on a loaded CI machine.
pub const PAGE_DEADLINE: Duration = Duration::from_secs(20);

const BROWSERS: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];
const DRIVERS: [&str; 2] = ["chromedriver", "/usr/lib/chromium/chromedriver"];

/// One browser test at a time in a test binary: each starts a browser and a hookbot, and
/// several at once on a small CI machine could push an interaction past Discord's 3 seconds.
static ONE_AT_A_TIME: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// A chromedriver process with one browser session.
pub struct Browser {
    pub client: Client,
    /// This test's turn, held until the browser is gone.
    _turn: tokio::sync::SemaphorePermit<'static>,
    driver: Child,
    /// The browser's profile, thrown away at the end.
    profile: tempfile::TempDir,
}

/// Whether this is CI, where a missing browser fails instead of skipping.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// The first of `names` that runs (a bare name is looked up on `PATH`).
fn find(names: &[&str]) -> Option<PathBuf> {
    names.iter().find_map(|name| {
        let path = Path::new(name);
        if path.is_absolute() {
            return path.is_file().then(|| path.to_owned());
        }
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        })
    })
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

impl Browser {
    /// A headless Chromium at [`WINDOW`]; `None` (after one line on stderr) when this machine
    /// has no Chromium or chromedriver and this is not CI.
    pub async fn start(test: &str) -> Option<Browser> {
        let (browser, driver) = match (find(&BROWSERS), find(&DRIVERS)) {
            (Some(browser), Some(driver)) => (browser, driver),
            (browser, driver) => {
                let missing = [("chromium", browser), ("chromedriver", driver)]
                    .into_iter()
                    .filter(|(_, found)| found.is_none())
                    .map(|(name, _)| name)
                    .collect::<Vec<_>>()
                    .join(" and ");
                let why = format!(
                    "{missing} not found (Debian: apt-get install chromium chromium-driver)"
                );
                assert!(!in_ci(), "{test}: CI must run the browser tests, but {why}");
                eprintln!("skipped: {test}: {why}");
                return None;
            }
        };
        let turn = ONE_AT_A_TIME.acquire().await.expect("never closed");
        let port = free_port();
        let mut driver = Command::new(driver)
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let status_client = reqwest::Client::new();
        let ready = eventually(DEADLINE, "chromedriver to answer /status", || {
            let status = status_client.get(format!("{url}/status")).send();
            async move {
                match status.await {
                    Ok(answer) => {
                        let body: Value = answer.json().await.unwrap_or_default();
                        Ok(body["value"]["ready"] == json!(true))
                    }
                    Err(error) => Err(error.to_string()),
                }
            }
        });
        let exited = driver.try_wait().expect("chromedriver's status");
        assert!(exited.is_none(), "chromedriver exited at once: {exited:?}");
        assert!(ready.await, "chromedriver says it is not ready");

        let profile = tempfile::tempdir().expect("a browser profile folder");
        let mut args = vec![
            "--headless=new".to_owned(),
            format!("--window-size={},{}", WINDOW.0, WINDOW.1),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--no-first-run".into(),
            "--hide-scrollbars".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        // Chromium's own sandbox refuses to start as root (CI runs as root).
        if running_as_root() {
            args.push("--no-sandbox".into());
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": browser, "args": args },
        });
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&url)
            .await;
        let client = match client {
            Ok(client) => client,
            Err(error) => {
                let _ = driver.kill();
                let _ = driver.wait();
                panic!("chromedriver cannot start {}: {error}", browser.display());
            }
        };
        Some(Browser {
            client,
            _turn: turn,
            driver,
            profile,
        })
    }

    /// Opens `url` and waits for its `<main>` to be there.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("the page opens");
        self.element("main").await;
    }

    /// The element `css` finds, once there is one (at most [`PAGE_DEADLINE`]).
    pub async fn element(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(PAGE_DEADLINE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| {
                panic!("waited {PAGE_DEADLINE:?} for {css:?} on the page: {error}")
            })
    }

    /// The page's visible text, once it contains `text` (at most [`PAGE_DEADLINE`]): the pages
    /// update live, so this waits for them to.
    pub async fn text_appears(&self, text: &str) -> String {
        let client = &self.client;
        eventually(
            PAGE_DEADLINE,
            format!("{text:?} on the page"),
            || async move {
                let body = match client.find(Locator::Css("body")).await {
                    Ok(body) => body.text().await.unwrap_or_default(),
                    Err(error) => return Err(error.to_string()),
                };
                if body.contains(text) {
                    Ok(body)
                } else {
                    Err(body.chars().take(2000).collect())
                }
            },
        )
        .await
    }

    /// Fills the field labelled or named `name` inside `form` (a CSS selector) with `value`.
    pub async fn fill(&self, form: &str, name: &str, value: &str) {
        let field = self.element(&format!("{form} [name=\"{name}\"]")).await;
        field.clear().await.expect("the field clears");
        field.send_keys(value).await.expect("typed into the field");
    }

    /// Clicks the element `css` finds.
    pub async fn click(&self, css: &str) {
        self.element(css).await.click().await.expect("clicked");
    }

    /// Presses `key` in the element that has the focus, as a keyboard user would.
    pub async fn press(&self, key: Key) {
        self.focused()
            .await
            .send_keys(&key.to_string())
            .await
            .expect("the key is pressed");
    }

    /// The element that has the keyboard's focus.
    pub async fn focused(&self) -> Element {
        self.client
            .active_element()
            .await
            .expect("an element has the focus")
    }

    /// Clicks the button whose text is `text`.
    pub async fn click_button(&self, text: &str) {
        let xpath = format!("//button[normalize-space()='{text}']");
        self.client
            .wait()
            .at_most(PAGE_DEADLINE)
            .for_element(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|error| {
                panic!("waited {PAGE_DEADLINE:?} for a button {text:?}: {error}")
            })
            .click()
            .await
            .expect("clicked");
    }

    /// The current URL's path (and query).
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("the current URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Resizes the window (CSS pixels of the viewport's outer window).
    pub async fn resize(&self, (width, height): (u32, u32)) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("the window resizes");
    }

    /// Whether the page needs sideways scrolling at the current width (it should not on a
    /// phone).
    pub async fn scrolls_sideways(&self) -> bool {
        let wider = self
            .client
            .execute(
                "return document.documentElement.scrollWidth > document.documentElement.clientWidth",
                vec![],
            )
            .await
            .expect("the script runs");
        wider == json!(true)
    }

    /// A PNG of the window, written to `docs/console/{name}.png` when
    /// `HOOKBOT_UPDATE_SCREENSHOTS=1` (how the README's pictures are made), else into `scratch`
    /// so every run still takes and checks it.
    pub async fn screenshot(&self, name: &str, scratch: &Path) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        assert!(
            png.starts_with(b"\x89PNG"),
            "the screenshot {name} is not a PNG"
        );
        let folder = if std::env::var("HOOKBOT_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/console")
        } else {
            scratch.to_owned()
        };
        std::fs::create_dir_all(&folder).expect("the screenshots' folder");
        let path = folder.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("the screenshot is written");
        path
    }

    /// Ends the browser session and stops chromedriver.
    pub async fn close(mut self) {
        let client = self.client.clone();
        let _ = client.close().await;
        self.stop_driver();
    }

    fn stop_driver(&mut self) {
        if self.driver.try_wait().ok().flatten().is_none() {
            let _ = self.driver.kill();
            let _ = self.driver.wait();
        }
    }
}

/// The processes started with `--user-data-dir=<profile>`: the browser's own, found by its
/// unique profile folder (Linux's /proc; none elsewhere).
fn browser_processes(profile: &Path) -> Vec<u32> {
    let wanted = format!("--user-data-dir={}", profile.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|line| line.split(|b| *b == 0).any(|arg| arg == wanted.as_bytes()))
        })
        .collect()
}

impl Drop for Browser {
    /// A failed test, which never closed its session, still stops the browser chromedriver
    /// started (killing chromedriver alone would leave it running) and chromedriver itself.
    fn drop(&mut self) {
        for browser in browser_processes(self.profile.path()) {
            let _ = Command::new("kill")
                .args(["-KILL", &browser.to_string()])
                .status();
        }
        self.stop_driver();
    }
}
