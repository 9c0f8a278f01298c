//! The stand-in's own tests: routes called directly on a socket-less world, the shapes it
//! answers parsed by serenity's own types, and the real serenity client end to end.

pub(crate) mod bench;
mod control_view;
mod over_http;
mod routes;
mod serenity_end_to_end;
mod serenity_intents;
mod serenity_shapes;
mod triggers;
