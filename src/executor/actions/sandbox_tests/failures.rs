//! What writes nothing: the dry run (it resolves and checks all the same), and Discord's
//! errors kept with their status, code and message.

use super::*;

#[tokio::test]
async fn a_dry_run_resolves_and_checks_but_writes_nothing() {
    let bot = Bot::start().await;
    let sent = bot
        .dry(ActionKind::SendMessage {
            channel: t("#deploys"),
            message: MessageSpec {
                content: some("{service} {version} deployed"),
                embeds: vec![EmbedSpec {
                    title: some("Release {version}"),
                    ..EmbedSpec::default()
                }],
                ..MessageSpec::default()
            },
            reply_to: None,
            tts: false,
            buttons: vec![],
        })
        .await
        .expect("dry send_message");
    assert_eq!(
        sent.summary,
        format!(
            "would send to #deploys ({DEPLOYS}): \"billing 2.4.1 deployed\" + 1 embed \"Release 2.4.1\""
        )
    );
    assert_eq!(sent.output["id"], DRY_RUN_VALUE);
    assert_eq!(sent.output.len(), 3);

    let role = bot
        .dry(ActionKind::AddRole {
            user: t("alice"),
            role: t("Deployer"),
            reason: None,
        })
        .await
        .expect("dry add_role");
    assert_eq!(
        role.summary,
        format!("would add role @Deployer ({DEPLOYER}) to @alice ({ALICE})")
    );
    let by_id = bot
        .dry(ActionKind::KickMember {
            user: t(&MALLORY.to_string()),
            reason: some("spam"),
        })
        .await
        .expect("dry kick");
    assert_eq!(
        by_id.summary,
        format!("would kick @mallory ({MALLORY}) (reason: \"spam\")")
    );

    let kinds = vec![
        ActionKind::SendDm {
            user: t(&BOB.to_string()),
            message: text_message("hi"),
        },
        ActionKind::React {
            channel: t("deploys"),
            message_id: t("123"),
            emoji: t("party"),
        },
        ActionKind::DeleteMessage {
            channel: t("deploys"),
            message_id: t("123"),
            reason: None,
        },
        ActionKind::CreateRole {
            settings: RoleSettings {
                name: some("x"),
                ..RoleSettings::default()
            },
            reason: None,
        },
        ActionKind::TimeoutMember {
            user: t("alice"),
            duration: t("10m"),
            reason: None,
        },
        ActionKind::BanMember {
            user: t("alice"),
            delete_messages: some("7d"),
            reason: None,
        },
        ActionKind::CreateChannel {
            name: t("new"),
            channel_type: Kind::Text,
            topic: None,
            parent: some("Ops"),
            reason: None,
        },
        ActionKind::CreateThread {
            channel: t("deploys"),
            name: t("t"),
            message_id: None,
            private: false,
            auto_archive: some("3d"),
            reason: None,
        },
        ActionKind::CreateInvite {
            channel: t("deploys"),
            max_age: some("0"),
            max_uses: None,
            temporary: false,
            unique: false,
            reason: None,
        },
        ActionKind::DeleteChannel {
            channel: t("deploys"),
            reason: None,
        },
    ];
    for kind in kinds {
        let name = kind.name();
        let performed = bot
            .dry(kind)
            .await
            .unwrap_or_else(|e| panic!("dry {name}: {e}"));
        assert!(
            performed.summary.starts_with("would "),
            "{}",
            performed.summary
        );
        assert!(performed.output.values().all(|v| v == DRY_RUN_VALUE));
    }

    // Checks still run: a bad duration fails the dry run too.
    let bad = bot
        .dry(ActionKind::TimeoutMember {
            user: t("alice"),
            duration: t("soon"),
            reason: None,
        })
        .await
        .unwrap_err();
    assert!(
        bad.to_string().contains("\"soon\" is not a duration"),
        "{bad}"
    );

    assert_eq!(
        bot.writes(),
        Vec::<String>::new(),
        "a dry run writes nothing"
    );
    bot.stop().await;
}

#[tokio::test]
async fn discord_errors_keep_status_code_and_message() {
    let bot = Bot::start().await;
    bot.sandbox
        .inject(Failure::new(format!("/channels/{DEPLOYS}/messages"), 500).method("POST"));
    let error = bot
        .run(ActionKind::SendMessage {
            channel: t("deploys"),
            message: text_message("hi"),
            reply_to: None,
            tts: false,
            buttons: vec![],
        })
        .await
        .unwrap_err();
    match &error {
        CallError::Discord { status, .. } => assert_eq!(*status, 500),
        other => panic!("expected Discord's error, got {other:?}"),
    }
    assert!(!error.code().is_empty());

    let not_ours = bot
        .run(ActionKind::SendMessage {
            channel: t(&ELSEWHERE.to_string()),
            message: text_message("hi"),
            reply_to: None,
            tts: false,
            buttons: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(not_ours.code(), "not_found");
    assert!(bot.sandbox.messages_in(ELSEWHERE).is_empty());

    let interpreter_kind = bot.run(ActionKind::Stop).await.unwrap_err();
    assert_eq!(interpreter_kind.code(), "invalid");
    let value: Value = serde_json::json!(error.message());
    assert!(value.is_string());
    bot.stop().await;
}
