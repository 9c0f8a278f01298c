//! Waiting in tests: [`eventually`], the one way a test waits for something to happen. It waits
//! on a condition with a deadline, never a bare sleep, and never bounds how fast the thing
//! happened: a loaded CI machine makes a test slower, not red.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How often a condition is checked again: often enough that a test does not idle long after
/// the condition came to hold, seldom enough not to load the machine it waits on.
const POLL: Duration = Duration::from_millis(20);

/// What a condition answers each time it is checked.
pub trait Check {
    /// What [`eventually`] returns once the condition holds.
    type Value;
    /// `Ok` once it holds; otherwise what was seen instead, if the condition can say.
    fn check(self) -> Result<Self::Value, Option<String>>;
}

impl Check for bool {
    type Value = ();
    fn check(self) -> Result<(), Option<String>> {
        if self {
            Ok(())
        } else {
            Err(None)
        }
    }
}

/// `Some(value)` once it holds, for conditions that find something (a run, an address).
impl<T> Check for Option<T> {
    type Value = T;
    fn check(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

/// `Err(seen)` says what was there instead, so the failure message shows the last state.
impl<T> Check for Result<T, String> {
    type Value = T;
    fn check(self) -> Result<T, Option<String>> {
        self.map_err(Some)
    }
}

/// Checks `condition` until it holds and returns its value; once `deadline` has passed without
/// it holding, fails the test saying what was `awaited` and, when the condition said, what was
/// seen the last time. The condition is checked once more at the deadline itself.
///
/// ```ignore
/// let run = eventually(DEADLINE, format!("run {id} to finish"), || async move {
///     store.run(id).await.unwrap().filter(|run| run.status != RunStatus::Pending)
/// })
/// .await;
/// ```
pub async fn eventually<C, F>(
    deadline: Duration,
    awaited: impl Display,
    mut condition: impl FnMut() -> F,
) -> C::Value
where
    F: Future<Output = C>,
    C: Check,
{
    let until = Instant::now() + deadline;
    loop {
        let seen = match condition().await.check() {
            Ok(value) => return value,
            Err(seen) => seen,
        };
        let now = Instant::now();
        if now >= until {
            match seen {
                Some(seen) => panic!("waited {deadline:?} for {awaited}; last seen: {seen}"),
                None => panic!("waited {deadline:?} for {awaited}"),
            }
        }
        tokio::time::sleep((until - now).min(POLL)).await;
    }
}
