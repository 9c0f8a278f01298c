//! What triggers keep: schedule due times and long button values survive a restart; a due time
//! is replaced and removed; a button value written twice is kept once.

use super::both_engines;

both_engines! {
    async fn every_button_value_is_listed(subject: Subject) {
        let store = subject.open().await;
        store.keep_button_value("b", "two").await.unwrap();
        store.keep_button_value("a", "one").await.unwrap();
        let mut listed = store.button_values().await.unwrap();
        listed.sort();
        assert_eq!(
            listed,
            [("a".to_owned(), "one".to_owned()), ("b".to_owned(), "two".to_owned())]
        );
    }

    async fn schedule_dues_and_button_values_survive_a_restart(subject: Subject) {
        use crate::engine::ScheduleDue;
        let store = subject.open().await;
        assert_eq!(store.schedule_dues().await.unwrap(), []);
        let first = ScheduleDue { fingerprint: "every 60s".into(), next_due_ms: 120_000 };
        let later = ScheduleDue { fingerprint: "every 60s".into(), next_due_ms: 180_000 };
        store.set_schedule_due("daily", Some(&first)).await.unwrap();
        store.set_schedule_due("daily", Some(&later)).await.unwrap();
        store.set_schedule_due("gone", Some(&first)).await.unwrap();
        store.set_schedule_due("gone", None).await.unwrap();
        assert_eq!(store.button_value("k").await.unwrap(), None);
        store.keep_button_value("k", "a long value ü").await.unwrap();
        store.keep_button_value("k", "a long value ü").await.unwrap();
        drop(store);

        let store = subject.open().await;
        assert_eq!(store.schedule_dues().await.unwrap(), [("daily".to_owned(), later)]);
        assert_eq!(store.button_value("k").await.unwrap().as_deref(), Some("a long value ü"));
    }
}
