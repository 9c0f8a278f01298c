//! What tells one occurrence of a gateway event from the same dispatch delivered again (a
//! replay after a RESUME, a reconnect), for the events whose payload carries no id of its own:
//! a member leaving, a reaction added or removed.
//!
//! serenity hands its event handlers neither the gateway's sequence number nor the session, so
//! the occurrence is counted here instead: each subject (a member of a server, one user's
//! emoji on one message) has a generation that changes whenever the subject flips direction
//! (joined → left, added → removed, and back). The same direction twice in a row is the same
//! occurrence, since Discord cannot add a user's reaction that is already there, nor remove a
//! member who is not in the server; a genuine re-add after a remove is a new generation.
//!
//! The window: generations live in memory, for the [`REMEMBERED`] most recent subjects of this
//! gateway connection's handle. A subject forgotten (pushed out, or a restart) starts a fresh
//! generation, never an old one, so forgetting can at worst let a late duplicate run again; it
//! never swallows a genuine occurrence. A restart cannot replay the old session's events
//! (serenity identifies anew), so the memory does not need to outlive the process.

use std::collections::{HashMap, VecDeque};

/// How many subjects' generations are kept; the oldest subject goes first.
pub const REMEMBERED: usize = 10_000;

/// The generation of each subject seen lately.
pub(super) struct Occurrences {
    /// Tells this handle's generations from an earlier process's in the idempotency keys the
    /// store keeps for 24 h.
    boot: u64,
    next_generation: u64,
    /// Subject → (the last direction seen, its generation).
    seen: HashMap<String, (bool, u64)>,
    /// Subjects in the order they were first seen, for forgetting the oldest.
    order: VecDeque<String>,
}

impl Occurrences {
    pub fn new() -> Occurrences {
        Occurrences {
            boot: rand::random(),
            next_generation: 0,
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The occurrence of `subject` happening in `direction` (true: joined, added): the same
    /// text for the same dispatch delivered again, another one after the subject flipped.
    pub fn occurrence(&mut self, subject: &str, direction: bool) -> String {
        let generation = match self.seen.get_mut(subject) {
            Some((last, generation)) if *last == direction => *generation,
            Some(entry) => {
                self.next_generation += 1;
                *entry = (direction, self.next_generation);
                self.next_generation
            }
            None => {
                self.next_generation += 1;
                self.seen
                    .insert(subject.to_owned(), (direction, self.next_generation));
                self.order.push_back(subject.to_owned());
                if self.order.len() > REMEMBERED {
                    if let Some(oldest) = self.order.pop_front() {
                        self.seen.remove(&oldest);
                    }
                }
                self.next_generation
            }
        };
        format!("{subject}:{:x}.{generation}", self.boot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_is_the_same_occurrence_and_a_flip_a_new_one() {
        let mut seen = Occurrences::new();
        let added = seen.occurrence("m1:u1:👍", true);
        assert_eq!(seen.occurrence("m1:u1:👍", true), added, "delivered again");
        let other = seen.occurrence("m1:u2:👍", true);
        assert_ne!(other, added, "another user's reaction");
        let removed = seen.occurrence("m1:u1:👍", false);
        assert_eq!(seen.occurrence("m1:u1:👍", false), removed);
        let added_again = seen.occurrence("m1:u1:👍", true);
        assert_ne!(added_again, added, "a re-add after a remove is new");
        assert_ne!(added_again, removed);
    }

    #[test]
    fn a_forgotten_subject_never_gets_an_old_occurrence_back() {
        let mut seen = Occurrences::new();
        let first = seen.occurrence("s0", true);
        for n in 1..=REMEMBERED {
            seen.occurrence(&format!("s{n}"), true);
        }
        assert_eq!(seen.seen.len(), REMEMBERED, "bounded");
        assert_ne!(seen.occurrence("s0", true), first);
        let restarted = Occurrences::new().occurrence("s1", true);
        assert_ne!(restarted, seen.occurrence("s1", true));
    }
}
