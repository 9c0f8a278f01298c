//! The web console over HTTP, against the real `hookbot::start` on port 0 and the stand-in:
//! signing in with the console key (and not with a wrong one), the cookie's flags, a forged
//! cross-site POST refused, no secret on any page, a test run that reaches the stand-in, and
//! retry. (The sandbox's open console and a real browser: `tests/console_browser.rs`.)

mod common;

use common::*;
use hookbot::admin::client::Backend;
use hookbot::run::{RunId, RunStatus};
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

const CONSOLE_LISTEN: &str = "console_listen = \"127.0.0.1:0\"";
const GITHUB_SECRET: &str = "gh-secret-that-must-never-show";

fn ship_event() -> String {
    format!(
        "id = \"ship\"\nname = \"Ship\"\nserver = \"{SERVER}\"\n[[actions]]\ntype = \"send_message\"\nchannel = \"{DEPLOYS}\"\ncontent = \"{{service}} shipped\"\n"
    )
}

fn locked_event() -> String {
    format!(
        "id = \"locked\"\nname = \"Locked\"\nserver = \"{SERVER}\"\n[[actions]]\ntype = \"send_message\"\nchannel = \"{LOCKED}\"\ncontent = \"nobody sees this\"\n"
    )
}

fn github_event() -> String {
    format!(
        "id = \"gh\"\nname = \"GitHub push\"\nserver = \"{SERVER}\"\n[auth]\nscheme = \"github\"\nsecret_file = \"gh.secret\"\n[[actions]]\ntype = \"send_message\"\nchannel = \"{GENERAL}\"\ncontent = \"pushed\"\n"
    )
}

/// A console visitor: no redirects followed, the session cookie sent by hand.
struct Visitor {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl Visitor {
    fn new(harness: &Harness) -> Visitor {
        let addr = harness
            .running
            .as_ref()
            .and_then(|r| r.console_addr)
            .expect("the console is served");
        Visitor {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: format!("http://{addr}"),
            cookie: None,
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, String, reqwest::header::HeaderMap) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        let response = request.send().await.expect("console answers");
        let (status, headers) = (response.status(), response.headers().clone());
        (status, response.text().await.unwrap(), headers)
    }

    /// POSTs a form, from the console's own origin unless `origin` says otherwise.
    async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> (StatusCode, String, reqwest::header::HeaderMap) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .form(form)
            .header(ORIGIN, origin.unwrap_or(&self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        let response = request.send().await.expect("console answers");
        let (status, headers) = (response.status(), response.headers().clone());
        (status, response.text().await.unwrap(), headers)
    }

    /// Signs in with `key`; the `Set-Cookie` line when it worked.
    async fn sign_in(&mut self, key: &str) -> Option<String> {
        let (status, _, headers) = self
            .post("/login", &[("key", key), ("next", "/events")], None)
            .await;
        let set = headers.get(SET_COOKIE)?.to_str().unwrap().to_owned();
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[LOCATION], "/events");
        self.cookie = Some(set.split(';').next().unwrap().to_owned());
        Some(set)
    }

    /// The CSRF token in a page's forms.
    async fn token(&self, path: &str) -> String {
        let (_, page, _) = self.get(path).await;
        let at = page
            .find("name=\"csrf\" value=\"")
            .expect("a form with a token")
            + 19;
        page[at..at + 64].to_owned()
    }
}

/// A new console key through the admin socket, as `hookbot console key` makes it.
async fn console_key(harness: &Harness) -> String {
    let backend = Backend::connect(&harness.config()).await.unwrap();
    assert!(backend.is_running(), "made by the running hookbot");
    backend.new_console_key().await.unwrap().key
}

#[tokio::test]
async fn only_the_console_key_signs_in_and_its_cookie_is_strict() {
    let harness = Harness::start_with(
        fixture(),
        &[("ship.toml", &ship_event())],
        CONSOLE_LISTEN,
        "",
    )
    .await;
    let mut visitor = Visitor::new(&harness);

    let (status, _, headers) = visitor.get("/runs?status=failed").await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "signed out: to the sign-in page"
    );
    assert_eq!(headers[LOCATION], "/login?next=%2Fruns%3Fstatus%3Dfailed");
    let (status, page, _) = visitor.post("/login", &[("key", "hk_guess")], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no console key made yet");
    assert!(page.contains("hookbot console key"), "{page}");

    let key = console_key(&harness).await;
    let (status, page, headers) = visitor.post("/login", &[("key", "hk_wrong")], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.get(SET_COOKIE).is_none());
    assert!(page.contains("not the console key"), "{page}");
    assert!(!page.contains(&key));

    let cookie = visitor.sign_in(&key).await.expect("the right key signs in");
    assert!(cookie.starts_with("hookbot_console="), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let (status, page, _) = visitor.get("/events").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("href=\"/events/ship\""), "{page}");
    let (status, _, headers) = visitor.get("/login?next=%2Fruns").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "signed in: no form again");
    assert_eq!(headers[LOCATION], "/runs");

    // A new key ends the sessions of the old one.
    let newer = console_key(&harness).await;
    let (status, _, _) = visitor.get("/events").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        visitor.sign_in(&key).await.is_none(),
        "the old key no longer signs in"
    );
    visitor.sign_in(&newer).await.expect("the new one does");
    let token = visitor.token("/logout").await;
    let (status, _, headers) = visitor.post("/logout", &[("csrf", &token)], None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    let (status, _, _) = visitor.get("/events").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "signed out");
    harness.stop().await;
}

#[tokio::test]
async fn the_cookie_is_secure_over_https_and_guessing_is_throttled() {
    let harness = Harness::start_with(
        fixture(),
        &[("ship.toml", &ship_event())],
        &format!("{CONSOLE_LISTEN}\npublic_url = \"https://bot.example\""),
        "",
    )
    .await;
    let key = console_key(&harness).await;
    let mut visitor = Visitor::new(&harness);
    let cookie = visitor.sign_in(&key).await.expect("signs in");
    assert!(cookie.ends_with("; Secure"), "{cookie}");

    // Wrong keys spend the address's allowance; then even the right one waits.
    visitor.cookie = None;
    let mut refused = 0;
    let throttled = loop {
        let (status, _, headers) = visitor.post("/login", &[("key", "hk_guess")], None).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            break headers;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        refused += 1;
        assert!(refused < 100, "the guesses were never throttled");
    };
    assert!(throttled.contains_key("retry-after"));
    let (status, _, _) = visitor.post("/login", &[("key", &key)], None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    harness.stop().await;
}

#[tokio::test]
async fn a_forged_cross_site_post_is_refused() {
    let harness = Harness::start_with(
        fixture(),
        &[("locked.toml", &locked_event())],
        CONSOLE_LISTEN,
        "",
    )
    .await;
    let failed = harness.trigger("locked", &[]).await;
    assert_eq!(failed.status, RunStatus::Failed);
    let run = failed.id.to_text();
    let key = console_key(&harness).await;
    let mut visitor = Visitor::new(&harness);
    visitor.sign_in(&key).await.unwrap();
    let token = visitor.token(&format!("/runs/{run}")).await;
    let retry = format!("/runs/{run}/retry");

    let (status, page, _) = visitor
        .post(&retry, &[("csrf", &token)], Some("https://evil.example"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another site's page: {page}");
    assert!(page.contains("another site"), "{page}");
    let (status, _, _) = visitor.post(&retry, &[], None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no token");
    let (status, _, _) = visitor
        .post(&retry, &[("csrf", "0".repeat(64).as_str())], None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a wrong token");
    let signed_out = Visitor {
        cookie: None,
        ..Visitor::new(&harness)
    };
    let (status, _, _) = signed_out.post(&retry, &[("csrf", &token)], None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no session");
    let stored = harness
        .running
        .as_ref()
        .unwrap()
        .store
        .run(failed.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.requeued_at_ms, None, "none of them retried the run");

    // The console's own form does.
    let (status, _, headers) = visitor.post(&retry, &[("csrf", &token)], None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[LOCATION], format!("/runs/{run}").as_str());
    let store = &harness.running.as_ref().unwrap().store;
    let retried = eventually(DEADLINE, "the retried run to end again", || async {
        store
            .run(failed.id)
            .await
            .unwrap()
            .filter(|r| r.requeued_at_ms.is_some() && r.status != RunStatus::Pending)
    })
    .await;
    assert_eq!(
        retried.status,
        RunStatus::Failed,
        "the channel is still locked"
    );
    let locked_sends = harness
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with(&format!("/channels/{LOCKED}/messages")))
        .count();
    assert_eq!(locked_sends, 2, "the retry asked Discord again");
    harness.stop().await;
}

#[tokio::test]
async fn a_test_run_reaches_the_stand_in_and_no_page_shows_a_secret() {
    let harness = Harness::start_with(
        fixture(),
        &[
            ("ship.toml", &ship_event()),
            ("gh.secret", GITHUB_SECRET),
            ("gh.toml", &github_event()),
        ],
        CONSOLE_LISTEN,
        "",
    )
    .await;
    let key = console_key(&harness).await;
    let mut visitor = Visitor::new(&harness);
    visitor.sign_in(&key).await.unwrap();
    let token = visitor.token("/events/ship").await;
    let sends = || {
        harness
            .sandbox
            .messages_in(DEPLOYS)
            .iter()
            .filter(|m| m["content"] == "billing shipped")
            .count()
    };

    let (status, page, _) = visitor
        .post(
            "/events/ship/test",
            &[
                ("csrf", &token),
                ("var.service", "billing"),
                ("mode", "dry"),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Would succeed"), "{page}");
    assert!(page.contains("would send"), "{page}");
    assert_eq!(sends(), 0, "a dry run sends nothing");

    let (status, _, headers) = visitor
        .post(
            "/events/ship/test",
            &[
                ("csrf", &token),
                ("var.service", "billing"),
                ("mode", "live"),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers[LOCATION].to_str().unwrap().to_owned();
    let run = location.strip_prefix("/runs/").expect("to the run's page");
    let finished = harness.wait_run(run).await;
    assert_eq!(
        finished.status,
        RunStatus::Succeeded,
        "{:?}",
        finished.error
    );
    assert_eq!(sends(), 1, "the message reached the stand-in once");
    let (_, page, _) = visitor.get(&location).await;
    assert!(
        page.contains("succeeded") && page.contains("billing"),
        "{page}"
    );
    let (_, page, _) = visitor.get("/runs?event=ship&status=succeeded").await;
    assert!(page.contains(run), "{page}");
    let (_, page, _) = visitor.get("/runs?status=failed").await;
    assert!(!page.contains(run), "{page}");

    let mut pages = vec![
        "/events".to_owned(),
        "/events/ship".to_owned(),
        "/events/gh".to_owned(),
        "/runs".to_owned(),
        location.clone(),
        "/logout".to_owned(),
    ];
    pages.push(format!("/runs/{}", RunId::parse(run).unwrap().to_text()));
    for path in &pages {
        let (status, page, _) = visitor.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        for secret in [harness.key.as_str(), key.as_str(), TOKEN, GITHUB_SECRET] {
            assert!(!page.contains(secret), "{path} shows a secret");
        }
    }
    let (_, page, _) = visitor.get("/events/gh").await;
    assert!(
        page.contains("X-Hub-Signature-256"),
        "how to sign is described: {page}"
    );
    harness.stop().await;
}

#[tokio::test]
async fn the_sandbox_console_is_open_on_loopback_and_still_checks_forms() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("events")).unwrap();
    std::fs::write(dir.path().join("events/ship.toml"), ship_event()).unwrap();
    write_config(dir.path(), "", CONSOLE_LISTEN, "");
    let config = hookbot::config::Config::load(&dir.path().join("config.toml"), true).unwrap();
    let running = hookbot::start(config).await.expect("the sandbox starts");
    let addr = running.console_addr.expect("a console");
    let banner = running.banner.clone().expect("a banner");
    assert!(
        banner.contains(&format!("console   http://{addr}/")),
        "{banner}"
    );
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{addr}");

    let page = http.get(format!("{base}/events")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "no key in the sandbox");
    let page = page.text().await.unwrap();
    assert!(page.contains("href=\"/sandbox\""), "{page}");
    assert!(!page.contains("Sign out"), "{page}");
    let login = http.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(
        login.status(),
        StatusCode::SEE_OTHER,
        "nothing to sign in to"
    );

    let rebound = http
        .get(format!("{base}/events"))
        .header("Host", format!("evil.example:{}", addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        rebound.status(),
        StatusCode::FORBIDDEN,
        "a non-loopback Host"
    );
    let forged = http
        .post(format!("{base}/events/ship/test"))
        .form(&[("mode", "live"), ("var.service", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        StatusCode::FORBIDDEN,
        "no token, even in the sandbox"
    );
    running.stop().await;
}

#[tokio::test]
async fn console_key_works_with_hookbot_stopped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("events")).unwrap();
    write_config(dir.path(), "http://127.0.0.1:9", "", "");
    let made = common::process::hookbot(dir.path())
        .args(["console", "key"])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let key = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    assert!(key.starts_with("hk_") && key.len() == 67, "{key}");
    let note = String::from_utf8_lossy(&made.stderr);
    assert!(note.contains("http.console_listen is not set"), "{note}");
    let store = hookbot::engine::Store::open(&dir.path().join("db")).unwrap();
    let hash = store
        .console_key_hash()
        .await
        .unwrap()
        .expect("a hash kept");
    assert!(hookbot::keys::key_matches(&key, &hash));
    assert_eq!(
        store.api_key_hash().await.unwrap(),
        None,
        "the API key is apart"
    );
}
