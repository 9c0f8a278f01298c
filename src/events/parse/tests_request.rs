//! Tests of reading `[auth]`, `[[when]]` and `[variables]`: whole files through [`parse_event`].

use std::path::Path;

use super::parse_event;
use crate::events::condition::Condition;
use crate::events::model::{Event, EventAuth, MappingValue, SecretSource, SignatureEncoding};

fn parse(extra: &str) -> Result<Event, Vec<String>> {
    let text = format!("id = \"e\"\nserver = 1\n{extra}");
    parse_event(Path::new("/events/e.toml"), &text)
        .map_err(|problems| problems.iter().map(|p| p.to_string()).collect())
}

fn problems(extra: &str) -> String {
    parse(extra).unwrap_err().join("\n")
}

#[test]
fn no_auth_table_is_the_bots_key() {
    assert_eq!(parse("").unwrap().auth, EventAuth::ApiKey);
    assert_eq!(
        parse("[auth]\nscheme = \"api_key\"").unwrap().auth,
        EventAuth::ApiKey
    );
}

#[test]
fn signature_schemes_read_their_secret_now() {
    std::env::set_var("HOOKBOT_TEST_PARSE_GH", "s3cret\n");
    let event =
        parse("[auth]\nscheme = \"github\"\nsecret_env = \"HOOKBOT_TEST_PARSE_GH\"").unwrap();
    assert_eq!(
        event.auth,
        EventAuth::Github {
            secret: SecretSource::Env("HOOKBOT_TEST_PARSE_GH".into())
        }
    );
    assert_eq!(event.auth.signing_key().unwrap().unwrap(), b"s3cret");
    let missing =
        problems("[auth]\nscheme = \"stripe\"\nsecret_env = \"HOOKBOT_TEST_PARSE_UNSET\"");
    assert!(
        missing.contains(
            "the environment variable HOOKBOT_TEST_PARSE_UNSET is not set; the event is not loaded"
        ),
        "{missing}"
    );
    let no_file = problems("[auth]\nscheme = \"github\"\nsecret_file = \"nope.txt\"");
    assert!(
        no_file.contains("the secret file /events/nope.txt cannot be read"),
        "{no_file}"
    );
}

#[test]
fn secrets_from_files_relative_to_the_event_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sw.secret"),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("bad.secret"), "whsec_not base64!").unwrap();
    let file = dir.path().join("e.toml");
    let text = "id = \"e\"\nserver = 1\n[auth]\nscheme = \"standard_webhooks\"\nsecret_file = \"sw.secret\"";
    let event = parse_event(&file, text).unwrap();
    assert_eq!(event.auth.signing_key().unwrap().unwrap().len(), 24);
    let bad = parse_event(&file, &text.replace("sw.secret", "bad.secret")).unwrap_err();
    assert!(
        bad[0]
            .to_string()
            .contains("not a Standard Webhooks secret"),
        "{}",
        bad[0]
    );
}

#[test]
fn hmac_and_key_schemes() {
    std::env::set_var("HOOKBOT_TEST_PARSE_KEY", "ev_key");
    let event = parse(
        "[auth]\nscheme = \"hmac\"\nsecret_env = \"HOOKBOT_TEST_PARSE_KEY\"\nheader = \"X-Signature\"\nencoding = \"base64\"",
    )
    .unwrap();
    assert_eq!(
        event.auth,
        EventAuth::Hmac {
            secret: SecretSource::Env("HOOKBOT_TEST_PARSE_KEY".into()),
            header: "X-Signature".into(),
            encoding: SignatureEncoding::Base64
        }
    );
    let event = parse(
        "[auth]\nscheme = \"key\"\nsecret_env = \"HOOKBOT_TEST_PARSE_KEY\"\nallow_bot_key = true",
    )
    .unwrap();
    match event.auth {
        EventAuth::Key {
            key_hash,
            allow_bot_key,
        } => {
            assert_eq!(key_hash.len(), 64);
            assert!(!key_hash.contains("ev_key"));
            assert!(allow_bot_key);
        }
        other => panic!("{other:?}"),
    }
    let stored = serde_json::to_string(
        &parse("[auth]\nscheme = \"key\"\nsecret_env = \"HOOKBOT_TEST_PARSE_KEY\"").unwrap(),
    )
    .unwrap();
    assert!(!stored.contains("ev_key"), "the key itself is never stored");
}

#[test]
fn auth_mistakes_are_named() {
    std::env::set_var("HOOKBOT_TEST_PARSE_M", "x");
    let cases = [
        ("[auth]\nscheme = \"gitlab\"", "unknown auth.scheme \"gitlab\"; expected one of: api_key, key, github, stripe, standard_webhooks, hmac"),
        ("[auth]\nscheme = \"github\"", "scheme \"github\" needs a secret"),
        ("[auth]\nscheme = \"github\"\nsecret = \"abc\"", "never write the secret itself in the event file"),
        ("[auth]\nscheme = \"github\"\nsecret_env = \"HOOKBOT_TEST_PARSE_M\"\nheader = \"X\"", "auth.header is not used by scheme \"github\""),
        ("[auth]\nscheme = \"hmac\"\nsecret_env = \"HOOKBOT_TEST_PARSE_M\"", "scheme \"hmac\" needs auth.header"),
        ("[auth]\nscheme = \"hmac\"\nsecret_env = \"HOOKBOT_TEST_PARSE_M\"\nheader = \"X\"\nencoding = \"b32\"", "auth.encoding must be \"hex\" or \"base64\""),
        ("[auth]\nscheme = \"github\"\nsecret_env = \"HOOKBOT_TEST_PARSE_M\"\nsecret_file = \"f\"", "one of secret_env and secret_file, not both"),
        ("[auth]\nscheme = \"api_key\"\nsecret_env = \"HOOKBOT_TEST_PARSE_M\"", "auth.secret_env is not used by scheme \"api_key\""),
        ("[auth]\nscheme = \"stripe\"\nsecret_env = \"HOOKBOT_TEST_PARSE_M\"\nallow_bot_key = true", "auth.allow_bot_key is not used"),
    ];
    for (text, expected) in cases {
        let found = problems(text);
        assert!(found.contains(expected), "{text}\n→ {found}");
    }
}

#[test]
fn when_tables_are_conditions_without_roles() {
    let event = parse(
        "[[when]]\nleft = \"{header.x-github-event}\"\nop = \"equals\"\nright = \"push\"\n\
         [[when]]\nany = [{ left = \"{body.ref}\", op = \"ends_with\", right = \"/main\" }, \
         { left = \"{query.force}\", op = \"equals\", right = \"1\" }]",
    )
    .unwrap();
    assert_eq!(event.when.len(), 2);
    assert!(matches!(event.when[1], Condition::Any(_)));
    let found = problems("[[when]]\nop = \"has_role\"\nuser = \"{body.user}\"\nrole = \"Admin\"");
    assert!(
        found.contains("has_role cannot filter a request"),
        "{found}"
    );
    let found = problems("[[when]]\nleft = \"{body.a}\"\nop = \"equal\"\nright = \"x\"");
    assert!(found.contains("unknown op \"equal\""), "{found}");
}

#[test]
fn variables_are_templates_or_joins() {
    let event = parse(
        "[variables]\nuser = \"{body.sender.login}\"\n\
         commits = { each = \"{body.commits}\", item = \"- {item.message}\", separator = \" | \", limit = 5 }",
    )
    .unwrap();
    let names: Vec<&str> = event.variables.iter().map(|m| m.name.as_str()).collect();
    assert!(names.contains(&"user") && names.contains(&"commits"));
    let commits = event
        .variables
        .iter()
        .find(|m| m.name == "commits")
        .unwrap();
    assert_eq!(
        commits.value,
        MappingValue::Join {
            each: "body.commits".into(),
            item: crate::lang::templates::Template::new("- {item.message}"),
            separator: " | ".into(),
            limit: 5
        }
    );
    let cases = [
        (
            "[variables]\nserver_id = \"{body.x}\"",
            "is a built-in name",
        ),
        (
            "[variables]\nbody = \"{body.x}\"",
            "is a reserved namespace",
        ),
        (
            "[variables]\n\"a b\" = \"{body.x}\"",
            "must be 1-64 of A-Z a-z 0-9 _ -",
        ),
        ("[variables]\nn = 5", "variables.n must be a template"),
        (
            "[variables]\nc = { each = \"body.commits\", item = \"x\" }",
            "must name one array of the body",
        ),
        (
            "[variables]\nc = { each = \"{body.c}\", item = \"x\", limit = 0 }",
            "limit must be a whole number from 1 to 100",
        ),
        (
            "[variables]\nc = { each = \"{body.c}\" }",
            "missing required key \"item\"",
        ),
        (
            "[variables]\nc = { each = \"{body.c}\", item = \"x\", sep = \",\" }",
            "unknown key \"sep\"",
        ),
    ];
    for (text, expected) in cases {
        let found = problems(text);
        assert!(found.contains(expected), "{text}\n→ {found}");
    }
}
