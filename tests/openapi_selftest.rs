//! Tests of the OpenAPI request validator the integration tests rely on: if it
//! accepted everything, their "Discord would accept this" checks would be empty.

#[path = "common/openapi.rs"]
mod openapi;

use openapi::DiscordSpec;
use serde_json::{json, Value};

const MESSAGES: &str = "/api/v10/channels/123/messages";

fn rejected(method: &str, path: &str, body: Value) -> Vec<String> {
    DiscordSpec::get()
        .validate(method, path, Some(&body))
        .expect_err("the body should be rejected")
}

#[test]
fn accepts_a_plain_message() {
    let body = json!({
        "content": "hi",
        "allowed_mentions": {"parse": [], "users": [], "roles": []},
    });
    assert_eq!(
        DiscordSpec::get().validate("POST", MESSAGES, Some(&body)),
        Ok(())
    );
}

#[test]
fn rejects_an_unknown_mention_type_naming_its_path() {
    let errors = rejected(
        "POST",
        MESSAGES,
        json!({"allowed_mentions": {"parse": ["nobody"]}}),
    );
    assert_eq!(
        errors,
        [
            r#"POST /channels/{channel_id}/messages: /allowed_mentions/parse/0: "nobody" is not one of "users", "roles", "everyone""#
        ]
    );
}

#[test]
fn rejects_content_of_the_wrong_type() {
    let errors = rejected("POST", MESSAGES, json!({"content": 5}));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("POST /channels/{channel_id}/messages: /content: 5 is not of type"),
        "{errors:?}"
    );
}

#[test]
fn rejects_an_embed_title_over_256_characters() {
    let ok = json!({"embeds": [{"title": "t".repeat(256)}]});
    assert_eq!(
        DiscordSpec::get().validate("POST", MESSAGES, Some(&ok)),
        Ok(())
    );

    let errors = rejected(
        "POST",
        MESSAGES,
        json!({"embeds": [{"title": "t".repeat(257)}]}),
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains(": /embeds/0/title: ") && errors[0].contains("longer than 256"),
        "{errors:?}"
    );
}

#[test]
fn checks_formats_the_library_knows() {
    let errors = rejected(
        "POST",
        MESSAGES,
        json!({"embeds": [{"timestamp": "yesterday"}]}),
    );
    assert!(errors[0].contains("/embeds/0/timestamp"), "{errors:?}");
}

#[test]
fn prefers_literal_segments_over_parameters() {
    // `/users/@me/channels` (create_dm) takes a body; `/users/{user_id}/...` has no
    // `channels` route at all, so a match on the wrong template would fail here.
    let body = json!({"recipient_id": "123"});
    assert_eq!(
        DiscordSpec::get().validate("POST", "/api/v10/users/@me/channels", Some(&body)),
        Ok(())
    );
    // The prefix is optional, with or without the version.
    assert_eq!(
        DiscordSpec::get().validate("POST", "/api/users/@me/channels", Some(&body)),
        Ok(())
    );
    assert_eq!(
        DiscordSpec::get().validate("POST", "/users/@me/channels", Some(&body)),
        Ok(())
    );

    // The snowflake pattern comes from `/users/@me/channels`' schema.
    let errors = rejected(
        "POST",
        "/api/v10/users/@me/channels",
        json!({"recipient_id": "me"}),
    );
    assert!(
        errors[0].starts_with("POST /users/@me/channels: /recipient_id: "),
        "{errors:?}"
    );

    // `GET /users/@me` exists beside `GET /users/{user_id}`; `PATCH` only on `@me`.
    assert_eq!(
        DiscordSpec::get().validate(
            "PATCH",
            "/api/v10/users/@me",
            Some(&json!({"username": "hookbot"}))
        ),
        Ok(())
    );
    let errors = rejected("PATCH", "/api/v10/users/123", json!({}));
    assert!(
        errors[0].starts_with("PATCH /users/{user_id}: the spec has no such operation"),
        "{errors:?}"
    );
}

#[test]
fn rejects_unknown_routes() {
    let errors = rejected("POST", "/api/v10/channels/123/nonsense", json!({}));
    assert_eq!(
        errors,
        ["POST /api/v10/channels/123/nonsense: no such route in Discord's OpenAPI spec"]
    );
    assert!(DiscordSpec::get()
        .validate("GET", "/api/v10/nowhere", None)
        .is_err());
}

#[test]
fn bodiless_requests() {
    let path = "/api/v10/guilds/1/members/2/roles/3";
    assert_eq!(DiscordSpec::get().validate("PUT", path, None), Ok(()));
    let errors = rejected("PUT", path, json!({}));
    assert_eq!(errors, ["PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id}: the operation takes no JSON body, but one was sent"]);
}

#[test]
fn explains_errors_inside_unions() {
    // Components are a union told apart by `type`; the error should point into
    // the button, not just say the row matches none of the component kinds.
    let body =
        json!({"components": [{"type": 1, "components": [{"type": 2, "style": 9, "label": "x"}]}]});
    assert_eq!(
        rejected("POST", MESSAGES, body),
        ["POST /channels/{channel_id}/messages: /components/0/components/0/style: 9 is not one of 1, 2, 3, 4, 5, 6"]
    );

    let path = "/api/v10/interactions/1/token/callback";
    let errors = rejected("POST", path, json!({"type": 4, "data": {"content": 1}}));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains(": /data/content: 1 is not of types"),
        "{errors:?}"
    );
}

/// Each operation's request schema is compiled once, on first use, and reused after: that is
/// what keeps checking every request of every integration test cheap, however large the spec.
#[test]
fn each_operation_is_compiled_once_and_reused() {
    assert!(
        std::ptr::eq(DiscordSpec::get(), DiscordSpec::get()),
        "one parsed spec per test binary"
    );
    let spec = DiscordSpec::load();
    assert_eq!(spec.compiled_schemas(), 0, "nothing is compiled at load");
    let body = json!({"content": "hi", "embeds": [{"title": "t", "fields": [{"name": "n", "value": "v"}]}]});
    for channel in [9, 9, 10] {
        let path = format!("/api/v10/channels/{channel}/messages");
        assert_eq!(spec.validate("POST", &path, Some(&body)), Ok(()));
    }
    assert_eq!(
        spec.compiled_schemas(),
        1,
        "one operation, one compilation, whatever the ids in the path"
    );
    let edit = json!({"content": "edited"});
    assert_eq!(
        spec.validate("PATCH", "/api/v10/channels/9/messages/1", Some(&edit)),
        Ok(())
    );
    assert_eq!(spec.compiled_schemas(), 2, "another operation, its own");
}
