//! The log lines hookbot writes while a test runs, kept so the test can find the one it expects:
//! a 401's cause, for one, is told only to the log.

use std::io;
use std::sync::Mutex;

use tracing_subscriber::fmt::MakeWriter;

use super::{eventually, DEADLINE};

/// Every line written so far by the layer [`super::init_logs`] installs.
static LINES: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// The writer of that layer.
pub struct Capture;

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        Capture
    }
}

impl io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        LINES
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The first captured log line that holds every one of `parts`, once there is one.
pub async fn logged(parts: &[&str]) -> String {
    eventually(DEADLINE, format!("a log line with {parts:?}"), || {
        let text = String::from_utf8_lossy(&LINES.lock().unwrap()).into_owned();
        let found = text
            .lines()
            .find(|line| parts.iter().all(|part| line.contains(part)))
            .map(str::to_owned);
        std::future::ready(found.ok_or_else(|| format!("{} lines captured", text.lines().count())))
    })
    .await
}
