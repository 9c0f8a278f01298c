//! Settings: the API key's hash, the bot id and the install id survive a restart; the write
//! probe leaves nothing behind; of racing first starts, one makes the key.

use super::both_engines;

both_engines! {
    async fn settings_survive_a_restart(subject: Subject) {
        let store = subject.open().await;
        assert_eq!(store.api_key_hash().await.unwrap(), None);
        assert_eq!(store.bot_id().await.unwrap(), None);
        store.set_api_key_hash([7; 32]).await.unwrap();
        store.set_api_key_hash([8; 32]).await.unwrap();
        store.set_bot_id(1234567890123456789).await.unwrap();
        assert_eq!(store.console_key_hash().await.unwrap(), None);
        store.set_console_key_hash([5; 32]).await.unwrap();
        store.check_writable().await.unwrap();
        let install_id = store.install_id();
        store.flush().await.unwrap();
        drop(store);

        let store = subject.open().await;
        assert_eq!(store.api_key_hash().await.unwrap(), Some([8; 32]));
        assert_eq!(store.bot_id().await.unwrap(), Some(1234567890123456789));
        assert_eq!(store.console_key_hash().await.unwrap(), Some([5; 32]));
        assert_eq!(store.api_key_hash().await.unwrap(), Some([8; 32]), "apart from the API key");
        assert_eq!(store.install_id(), install_id, "the install id is kept");
    }

    async fn only_the_first_key_is_created(subject: Subject) {
        let store = subject.open().await;
        let racing: Vec<bool> = futures::future::join_all(
            (1..=4u8).map(|n| {
                let store = store.clone();
                async move { store.create_api_key_hash([n; 32]).await.unwrap() }
            }),
        )
        .await;
        assert_eq!(racing.iter().filter(|made| **made).count(), 1, "{racing:?}");
        let kept = store.api_key_hash().await.unwrap().expect("a key");
        let winner = racing.iter().position(|made| *made).unwrap() as u8 + 1;
        assert_eq!(kept, [winner; 32], "the hash kept is the winner's");
        store.set_api_key_hash([9; 32]).await.unwrap();
        assert!(!store.create_api_key_hash([10; 32]).await.unwrap());
        assert_eq!(store.api_key_hash().await.unwrap(), Some([9; 32]));
    }

    async fn an_empty_store_adopts_an_install_and_counts_past_its_runs(subject: Subject) {
        let store = subject.open().await;
        let adopted: u128 = 0x1234_5678_9abc_def0_1122_3344_5566_7788;
        assert!(store.adopt_install(adopted, 500).await.unwrap());
        drop(store);

        let store = subject.open().await;
        assert_eq!(store.install_id(), adopted, "from the next open on");
        let next = store.next_run_id().await.unwrap();
        let counter = next.0 & ((1 << 40) - 1);
        assert_eq!(next, crate::engine::run_id(adopted, counter));
        assert!(counter >= 500, "counted past the imported runs: {counter}");
        let run = crate::engine::tests::new_run(&store, 1).await;
        store.accept_run(&run, None).await.unwrap();
        store.flush().await.unwrap();
        assert!(
            !store.adopt_install(7, 1).await.unwrap(),
            "a store that holds runs keeps its own install"
        );
        drop(store);
        assert_eq!(subject.open().await.install_id(), adopted);
    }

    async fn two_stores_have_different_install_ids(subject: Subject) {
        let here = subject.open().await;
        let elsewhere = if subject.is_postgres() {
            crate::engine::tests::Subject::postgres("two_stores_have_different_install_ids::other")
                .await
                .expect("the server named for the first")
        } else {
            crate::engine::tests::Subject::sled()
        };
        let there = elsewhere.open().await;
        assert_ne!(here.install_id(), there.install_id());
        let (a, b) = (here.next_run_id().await.unwrap(), there.next_run_id().await.unwrap());
        assert_ne!(a, b, "two installs never hand out the same run id");
    }
}
