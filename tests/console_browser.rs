//! The console in a real browser (headless Chromium through WebDriver).

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::Browser;

#[tokio::test]
async fn the_harness_opens_a_page() {
    let Some(browser) = Browser::start("the_harness_opens_a_page").await else {
        return;
    };
    browser
        .open("data:text/html,<main><h1>hi</h1></main>")
        .await;
    browser.text_appears("hi").await;
    let dir = tempfile::tempdir().unwrap();
    browser.screenshot("x", dir.path()).await;
    browser.close().await;
}
