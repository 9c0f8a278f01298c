//! The channel, thread and invite actions against the stand-in.

use super::*;

#[tokio::test]
async fn channel_thread_and_invite_actions_change_the_stand_in() {
    let bot = Bot::start().await;

    let created = bot
        .run(ActionKind::CreateChannel {
            name: t("{service}-alerts"),
            channel_type: Kind::Text,
            topic: some("alerts for {service}"),
            parent: some("ops"),
            reason: some("new service"),
        })
        .await
        .expect("create_channel");
    let channel_id = id_of(&created, "id");
    assert_eq!(out(&created, "name"), "billing-alerts");
    assert_eq!(out(&created, "mention"), format!("<#{channel_id}>"));
    assert_eq!(
        out(&created, "url"),
        format!("https://discord.com/channels/{GUILD}/{channel_id}")
    );
    let stored = bot.sandbox.channel(channel_id).unwrap();
    assert_eq!(stored["topic"], "alerts for billing");
    assert_eq!(stored["parent_id"], OPS.to_string());
    assert_eq!(
        created.channel,
        Some((channel_id, "billing-alerts".to_owned()))
    );

    let voice = bot
        .run(ActionKind::CreateChannel {
            name: t("war room"),
            channel_type: Kind::Voice,
            topic: some("ignored"),
            parent: None,
            reason: None,
        })
        .await
        .expect("create a voice channel");
    assert_eq!(bot.sandbox.channel(id_of(&voice, "id")).unwrap()["type"], 2);
    assert_eq!(voice.warnings.len(), 1, "{:?}", voice.warnings);

    let not_a_category = bot
        .run(ActionKind::CreateChannel {
            name: t("x"),
            channel_type: Kind::Text,
            topic: None,
            parent: some(&DEPLOYS.to_string()),
            reason: None,
        })
        .await
        .unwrap_err();
    assert!(
        not_a_category.to_string().contains("not a category"),
        "{not_a_category}"
    );

    bot.run(ActionKind::EditChannel {
        channel: Template::new(channel_id.to_string()),
        name: some("billing-pages"),
        topic: some(""),
        parent: some(""),
        reason: some("rename"),
    })
    .await
    .expect("edit_channel");
    let stored = bot.sandbox.channel(channel_id).unwrap();
    assert_eq!(stored["name"], "billing-pages");
    assert!(stored["parent_id"].is_null(), "{stored}");

    // Threads: standalone private, from a message, then edited.
    let private = bot
        .run(ActionKind::CreateThread {
            channel: t("#deploys"),
            name: t("{service} incident"),
            message_id: None,
            private: true,
            auto_archive: some("1h"),
            reason: None,
        })
        .await
        .expect("create a private thread");
    let thread_id = id_of(&private, "id");
    let thread = bot.sandbox.channel(thread_id).unwrap();
    assert_eq!(thread["type"], 12);
    assert_eq!(thread["parent_id"], DEPLOYS.to_string());
    assert_eq!(thread["thread_metadata"]["auto_archive_duration"], 60);

    let starter = bot.sandbox.post_as(DEPLOYS, ALICE, "it broke").unwrap();
    let from_message = bot
        .run(ActionKind::CreateThread {
            channel: t("deploys"),
            name: t("it broke"),
            message_id: Some(Template::new(starter.to_string())),
            private: false,
            auto_archive: some("1w"),
            reason: some("triage"),
        })
        .await
        .expect("create a thread from a message");
    assert_eq!(
        bot.sandbox.channel(id_of(&from_message, "id")).unwrap()["type"],
        11
    );

    bot.run(ActionKind::EditThread {
        thread: t("standup"),
        name: some("standup-done"),
        archived: Some(true),
        locked: Some(true),
        reason: some("over"),
    })
    .await
    .expect("edit_thread");
    let standup = bot.sandbox.channel(STANDUP).unwrap();
    assert_eq!(standup["name"], "standup-done");
    assert_eq!(standup["thread_metadata"]["archived"], true);
    assert_eq!(standup["thread_metadata"]["locked"], true);
    let not_a_thread = bot
        .run(ActionKind::EditThread {
            thread: t("deploys"),
            name: None,
            archived: Some(true),
            locked: None,
            reason: None,
        })
        .await
        .unwrap_err();
    assert!(
        not_a_thread.to_string().contains("not a thread"),
        "{not_a_thread}"
    );

    // A thread of another server is refused like any channel of another server.
    let elsewhere = bot
        .run(ActionKind::CreateThread {
            channel: t(&ELSEWHERE.to_string()),
            name: t("sneaky"),
            message_id: None,
            private: false,
            auto_archive: None,
            reason: None,
        })
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), "not_found", "{elsewhere}");

    // Invites.
    let invite = bot
        .run(ActionKind::CreateInvite {
            channel: t("#deploys"),
            max_age: some("1h"),
            max_uses: some("5"),
            temporary: true,
            unique: true,
            reason: some("onboarding"),
        })
        .await
        .expect("create_invite");
    let code = out(&invite, "code").to_owned();
    assert_eq!(out(&invite, "url"), format!("https://discord.gg/{code}"));
    let invites = bot.sandbox.invites(DEPLOYS);
    assert_eq!(invites.len(), 1);
    assert_eq!(invites[0]["code"], code);
    assert_eq!(invites[0]["max_uses"], 5);
    assert_eq!(invites[0]["max_age"], 3600);
    let before = bot.sandbox.requests().len();
    let too_many = bot
        .run(ActionKind::CreateInvite {
            channel: t("#deploys"),
            max_age: None,
            max_uses: some("500"),
            temporary: false,
            unique: false,
            reason: None,
        })
        .await
        .unwrap_err();
    assert!(
        too_many.to_string().contains("max_uses \"500\""),
        "{too_many}"
    );
    assert_eq!(
        bot.sandbox.requests().len(),
        before,
        "refused before any request"
    );

    let deleted = bot
        .run(ActionKind::DeleteChannel {
            channel: t("billing-pages"),
            reason: some("done"),
        })
        .await
        .expect("delete_channel");
    assert_eq!(out(&deleted, "name"), "billing-pages");
    assert!(bot.sandbox.channel(channel_id).is_none());
    bot.stop().await;
}
