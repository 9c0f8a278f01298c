//! The role and member actions against the stand-in: roles given, taken, made, edited and
//! deleted; nickname, timeout, kick, ban and unban.

use super::*;

#[tokio::test]
async fn role_and_member_actions_change_the_stand_in() {
    let bot = Bot::start().await;

    let added = bot
        .run(ActionKind::AddRole {
            user: t("@{who}"),
            role: t("Deployer"),
            reason: some("on call"),
        })
        .await
        .expect("add_role");
    assert_eq!(out(&added, "user_id"), ALICE.to_string());
    assert_eq!(out(&added, "role_id"), DEPLOYER.to_string());
    bot.run(ActionKind::RemoveRole {
        user: t(&format!("<@{ALICE}>")),
        role: t(&format!("<@&{DEPLOYER}>")),
        reason: None,
    })
    .await
    .expect("remove_role");
    assert_eq!(bot.sandbox.member_roles(GUILD, ALICE), Some(vec![]));

    // A role above the bot: Discord's refusal keeps its status and code.
    let refused = bot
        .run(ActionKind::AddRole {
            user: t("alice"),
            role: t("Admin"),
            reason: None,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(refused, CallError::Discord { status: 403, .. }),
        "{refused:?}"
    );
    assert_eq!(refused.code(), "50013");

    let created = bot
        .run(ActionKind::CreateRole {
            settings: RoleSettings {
                name: some("{service} owners"),
                color: Some(ColorSpec::Fixed(0x3366ff)),
                hoist: Some(true),
                mentionable: Some(true),
                permissions: Some(1 << 11),
            },
            reason: some("new team"),
        })
        .await
        .expect("create_role");
    let role_id = id_of(&created, "id");
    assert_eq!(out(&created, "name"), "billing owners");
    assert_eq!(out(&created, "mention"), format!("<@&{role_id}>"));
    let role = bot.sandbox.role_named(GUILD, "billing owners").unwrap();
    assert_eq!(role["color"], 0x3366ff);
    assert_eq!(role["hoist"], true);
    assert_eq!(role["permissions"], "2048");

    let edited = bot
        .run(ActionKind::EditRole {
            role: Template::new(role_id.to_string()),
            settings: RoleSettings {
                name: some("billing leads"),
                ..RoleSettings::default()
            },
            reason: None,
        })
        .await
        .expect("edit_role");
    assert_eq!(out(&edited, "name"), "billing leads");
    let deleted = bot
        .run(ActionKind::DeleteRole {
            role: t("billing leads"),
            reason: some("team gone"),
        })
        .await
        .expect("delete_role");
    assert_eq!(id_of(&deleted, "id"), role_id);
    assert!(bot.sandbox.role_named(GUILD, "billing leads").is_none());

    // Nicknames: set, remove, and the bot's own through @me.
    bot.run(ActionKind::SetNickname {
        user: t("alice"),
        nickname: t("{service} captain"),
        reason: None,
    })
    .await
    .expect("set_nickname");
    assert_eq!(
        bot.sandbox.member(GUILD, ALICE).unwrap()["nick"],
        "billing captain"
    );
    let removed = bot
        .run(ActionKind::SetNickname {
            user: t(&ALICE.to_string()),
            nickname: t(""),
            reason: None,
        })
        .await
        .expect("set_nickname empty");
    assert!(
        removed.summary.starts_with("removed the nickname of"),
        "{}",
        removed.summary
    );
    assert!(bot.sandbox.member(GUILD, ALICE).unwrap()["nick"].is_null());
    bot.run(ActionKind::SetNickname {
        user: t(&BOT.to_string()),
        nickname: t("deploy bot"),
        reason: None,
    })
    .await
    .expect("the bot's own nickname");
    assert_eq!(
        bot.sandbox.member(GUILD, BOT).unwrap()["nick"],
        "deploy bot"
    );
    assert!(bot
        .writes()
        .contains(&format!("PATCH /api/v10/guilds/{GUILD}/members/@me")));

    // Timeouts.
    let timed = bot
        .run(ActionKind::TimeoutMember {
            user: t("mallory"),
            duration: t("1h30m"),
            reason: some("spam"),
        })
        .await
        .expect("timeout_member");
    let until = out(&timed, "until").to_owned();
    assert!(serenity::all::Timestamp::parse(&until).is_ok(), "{until}");
    let member = bot.sandbox.member(GUILD, MALLORY).unwrap();
    assert!(
        member["communication_disabled_until"].is_string(),
        "{member}"
    );
    let too_long = bot
        .run(ActionKind::TimeoutMember {
            user: t("mallory"),
            duration: t("29d"),
            reason: None,
        })
        .await
        .unwrap_err();
    assert_eq!(too_long.code(), "invalid");
    assert!(too_long.to_string().contains("28 days"), "{too_long}");
    bot.run(ActionKind::RemoveTimeout {
        user: t("mallory"),
        reason: None,
    })
    .await
    .expect("remove_timeout");
    let member = bot.sandbox.member(GUILD, MALLORY).unwrap();
    assert!(member["communication_disabled_until"].is_null(), "{member}");

    // Kick, ban with a window of messages deleted, unban.
    let kicked = bot
        .run(ActionKind::KickMember {
            user: t("owner"),
            reason: some("test"),
        })
        .await;
    // The owner cannot be kicked: Discord's refusal comes back as it is.
    assert!(
        matches!(kicked, Err(CallError::Discord { .. })),
        "{kicked:?}"
    );
    bot.run(ActionKind::KickMember {
        user: t("mallory"),
        reason: some("bye"),
    })
    .await
    .expect("kick_member");
    assert!(bot.sandbox.member(GUILD, MALLORY).is_none());
    let banned = bot
        .run(ActionKind::BanMember {
            user: t(&ALICE.to_string()),
            delete_messages: some("1h"),
            reason: some("raid"),
        })
        .await
        .expect("ban_member");
    assert_eq!(out(&banned, "user_id"), ALICE.to_string());
    let ban = bot.sandbox.ban(GUILD, ALICE).expect("banned");
    assert_eq!(ban["reason"], "raid");
    let ban_request = bot
        .sandbox
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT" && r.path.contains("/bans/"))
        .unwrap();
    assert_eq!(
        ban_request.body,
        Some(serde_json::json!({ "delete_message_seconds": 3600 }))
    );
    bot.run(ActionKind::UnbanMember {
        user: t(&ALICE.to_string()),
        reason: some("appeal"),
    })
    .await
    .expect("unban_member");
    assert!(bot.sandbox.ban(GUILD, ALICE).is_none());

    let reasons: Vec<String> = bot
        .sandbox
        .audit_reasons()
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    for reason in [
        "on call",
        "new team",
        "team gone",
        "spam",
        "bye",
        "raid",
        "appeal",
    ] {
        assert!(
            reasons.contains(&reason.to_owned()),
            "{reason}: {reasons:?}"
        );
    }
    bot.stop().await;
}

/// Issue 14 point 15: a role the gateway has not reported yet (made a moment earlier) is named
/// by its name, asked of Discord, not by its id.
#[tokio::test]
async fn delete_role_names_a_role_the_cache_does_not_know_yet() {
    let bot = Bot::start().await;
    const FRESH: u64 = 900_000_000_000_000_042;
    bot.sandbox.add_role_unannounced(GUILD, FRESH, "just made");
    let deleted = bot
        .run(ActionKind::DeleteRole {
            role: t(&FRESH.to_string()),
            reason: None,
        })
        .await
        .expect("delete_role");
    assert_eq!(out(&deleted, "name"), "just made");
    assert!(deleted.summary.contains("just made"), "{}", deleted.summary);
    assert!(bot.sandbox.role_named(GUILD, "just made").is_none());
    bot.stop().await;
}
