//! perform() against the Discord stand-in, with a real serenity client.
