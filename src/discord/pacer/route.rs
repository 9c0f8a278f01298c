//! What a call is about as far as Discord's rate limits go: its method, kind of resource and
//! major parameter.

/// What a call is about, as far as Discord's rate limits go: the method, the kind of resource,
/// and the channel or server (its "major parameter").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route {
    pub method: &'static str,
    /// `messages`, `reactions`, `member_roles`, `channels`, …
    pub resource: &'static str,
    /// The channel or server id the call is about.
    pub target: u64,
}

impl Route {
    pub fn new(method: &'static str, resource: &'static str, target: u64) -> Route {
        Route {
            method,
            resource,
            target,
        }
    }

    /// A message send into channel `channel`: paced per channel as well.
    pub fn message_send(channel: u64) -> Route {
        Route::new("POST", "messages", channel)
    }

    pub(super) fn is_message_send(&self) -> bool {
        self.method == "POST" && self.resource == "messages"
    }
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} of {}", self.method, self.resource, self.target)
    }
}
