//! The message actions against the stand-in: send, DM, edit, delete, react, pin, unpin,
//! publish.

use super::*;

#[tokio::test]
async fn message_actions_change_the_stand_in() {
    let bot = Bot::start().await;
    let asked = bot
        .sandbox
        .post_as(DEPLOYS, ALICE, "deploy billing please")
        .expect("alice can post");

    // send_message: a reply, read aloud, with an embed, the content cut to 2000.
    let long = format!("{} deployed {}", "x".repeat(2100), "{version}");
    let sent = bot
        .run(ActionKind::SendMessage {
            channel: t("#deploys"),
            message: MessageSpec {
                content: Some(Template::new(long)),
                embeds: vec![EmbedSpec {
                    title: some("{service} {version}"),
                    color: Some(ColorSpec::Template(t("#00ff00"))),
                    fields: vec![EmbedFieldSpec {
                        name: t("by"),
                        value: t("{who}"),
                        inline: true,
                    }],
                    ..EmbedSpec::default()
                }],
                ..MessageSpec::default()
            },
            reply_to: Some(Template::new(asked.to_string())),
            tts: true,
            buttons: vec![],
        })
        .await
        .expect("send_message");
    let message_id = id_of(&sent, "id");
    assert_eq!(out(&sent, "channel_id"), DEPLOYS.to_string());
    assert_eq!(
        out(&sent, "url"),
        format!("https://discord.com/channels/{GUILD}/{DEPLOYS}/{message_id}")
    );
    assert_eq!(
        sent.summary,
        format!("sent message {message_id} to #deploys")
    );
    assert_eq!(
        sent.warnings,
        vec!["content was 2115 characters; cut to 2000"]
    );
    assert_eq!(sent.channel, Some((DEPLOYS, "deploys".to_owned())));
    let stored = bot.sandbox.message(DEPLOYS, message_id).expect("stored");
    assert_eq!(stored["content"].as_str().unwrap().chars().count(), 2000);
    assert_eq!(stored["tts"], true);
    assert_eq!(stored["embeds"][0]["title"], "billing 2.4.1");
    assert_eq!(stored["embeds"][0]["fields"][0]["value"], "alice");
    assert_eq!(stored["allowed_mentions"]["parse"], serde_json::json!([]));
    assert_eq!(stored["message_reference"]["message_id"], asked.to_string());

    // edit_message
    let edited = bot
        .run(ActionKind::EditMessage {
            channel: t(&DEPLOYS.to_string()),
            message_id: Template::new(message_id.to_string()),
            message: text_message("{service} is live"),
        })
        .await
        .expect("edit_message");
    assert_eq!(id_of(&edited, "id"), message_id);
    let stored = bot.sandbox.message(DEPLOYS, message_id).unwrap();
    assert_eq!(stored["content"], "billing is live");

    // react: unicode, <:name:id>, and a custom emoji by name (looked up in the guild).
    for emoji in ["🎉", "<:party:2020>", "party"] {
        let reacted = bot
            .run(ActionKind::React {
                channel: t("deploys"),
                message_id: Template::new(message_id.to_string()),
                emoji: t(emoji),
            })
            .await
            .unwrap_or_else(|e| panic!("react {emoji}: {e}"));
        assert_eq!(id_of(&reacted, "message_id"), message_id);
    }
    let reactions = bot.sandbox.reactions(DEPLOYS, message_id);
    assert!(reactions.contains(&"🎉".to_owned()), "{reactions:?}");
    assert!(
        reactions.contains(&format!("party:{PARTY}")),
        "{reactions:?}"
    );
    let unknown = bot
        .run(ActionKind::React {
            channel: t("deploys"),
            message_id: Template::new(message_id.to_string()),
            emoji: t("shipit"),
        })
        .await
        .unwrap_err();
    // Not in the cache, so Discord's emoji list is asked; the stand-in does not serve
    // `GET /guilds/{id}/emojis` yet and answers 404, where Discord would list them and hookbot
    // would say `no custom emoji named "shipit"` (not_found).
    assert!(
        matches!(
            unknown,
            CallError::NotFound(_) | CallError::Discord { status: 404, .. }
        ),
        "{unknown:?}"
    );
    assert_eq!(bot.sandbox.reactions(DEPLOYS, message_id).len(), 2);

    // pin, unpin
    let pin = |kind: fn(Template, Template, Option<Template>) -> ActionKind| {
        kind(
            t("#deploys"),
            Template::new(message_id.to_string()),
            some("release {version}"),
        )
    };
    bot.run(pin(|channel, message_id, reason| ActionKind::PinMessage {
        channel,
        message_id,
        reason,
    }))
    .await
    .expect("pin_message");
    assert_eq!(bot.sandbox.pinned(DEPLOYS), vec![message_id]);
    bot.run(pin(|channel, message_id, reason| {
        ActionKind::UnpinMessage {
            channel,
            message_id,
            reason,
        }
    }))
    .await
    .expect("unpin_message");
    assert!(bot.sandbox.pinned(DEPLOYS).is_empty());

    // publish_message in an announcement channel
    let news = bot
        .run(ActionKind::SendMessage {
            channel: t("news"),
            message: text_message("{service} {version} is out"),
            reply_to: None,
            tts: false,
            buttons: vec![],
        })
        .await
        .expect("send to #news");
    let published = bot
        .run(ActionKind::PublishMessage {
            channel: t("news"),
            message_id: Template::new(out(&news, "id")),
        })
        .await
        .expect("publish_message");
    assert_eq!(out(&published, "id"), out(&news, "id"));

    // send_dm
    let dm = bot
        .run(ActionKind::SendDm {
            user: t(&BOB.to_string()),
            message: text_message("{service} {version} is out"),
        })
        .await
        .expect("send_dm");
    let dms = bot.sandbox.dms_to(BOB);
    assert_eq!(dms.len(), 1);
    assert_eq!(dms[0]["content"], "billing 2.4.1 is out");
    assert_eq!(dm.channel.as_ref().map(|c| c.1.as_str()), Some("@bob"));
    assert!(out(&dm, "url").starts_with("https://discord.com/channels/@me/"));

    // delete_message, with its reason in the audit log
    let deleted = bot
        .run(ActionKind::DeleteMessage {
            channel: t("#deploys"),
            message_id: Template::new(message_id.to_string()),
            reason: some("cleanup after {service}"),
        })
        .await
        .expect("delete_message");
    assert_eq!(
        deleted.summary,
        format!("deleted message {message_id} in #deploys (reason: \"cleanup after billing\")")
    );
    assert!(bot.sandbox.message(DEPLOYS, message_id).is_none());
    let reasons = bot.sandbox.audit_reasons();
    for (route, reason) in [
        ("PUT", "release 2.4.1"),
        ("DELETE", "release 2.4.1"),
        ("DELETE", "cleanup after billing"),
    ] {
        assert!(
            reasons
                .iter()
                .any(|(r, text)| r.starts_with(route) && text == reason),
            "{route} {reason}: {reasons:?}"
        );
    }

    // An empty message is refused before any request.
    let before = bot.sandbox.requests().len();
    let empty = bot
        .run(ActionKind::SendMessage {
            channel: t("#deploys"),
            message: MessageSpec {
                content: some("   "),
                ..MessageSpec::default()
            },
            reply_to: None,
            tts: false,
            buttons: vec![],
        })
        .await
        .unwrap_err();
    assert!(matches!(empty, CallError::Invalid(_)), "{empty}");
    assert!(empty.to_string().contains("empty"), "{empty}");
    assert_eq!(bot.sandbox.requests().len(), before);
    bot.stop().await;
}
