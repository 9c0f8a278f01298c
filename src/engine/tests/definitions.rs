//! Event definitions: replaced as a whole set, each change kept as a revision (at most
//! MAX_REVISIONS_PER_EVENT), and what survives a restart.

use super::both_engines;
use crate::engine::limits::MAX_REVISIONS_PER_EVENT;
use crate::engine::records::ReplacedEvents;
use crate::events::Event;

fn event(id: &str, name: &str) -> Event {
    Event {
        id: id.into(),
        name: name.into(),
        server: 1234567890123456789,
        enabled: true,
        file: format!("{id}.toml"),
        ..Event::default()
    }
}

fn replaced(added_or_changed: &[&str], removed: &[&str]) -> ReplacedEvents {
    ReplacedEvents {
        added_or_changed: added_or_changed.iter().map(|s| s.to_string()).collect(),
        removed: removed.iter().map(|s| s.to_string()).collect(),
    }
}

both_engines! {
    async fn definitions_are_replaced_as_a_set_with_revisions(subject: Subject) {
        let store = subject.open().await;
        let (a, b) = (event("a", "first"), event("b", "second"));
        assert_eq!(
            store.replace_events(&[a.clone(), b.clone()]).await.unwrap(),
            replaced(&["a", "b"], &[])
        );
        assert_eq!(store.event("a").await.unwrap().as_deref(), Some(&a));
        assert_eq!(store.events().await.unwrap(), [a.clone(), b.clone()]);
        // The same set again changes nothing.
        assert_eq!(
            store.replace_events(&[a.clone(), b.clone()]).await.unwrap(),
            replaced(&[], &[])
        );
        let a2 = event("a", "renamed");
        assert_eq!(
            store.replace_events(&[a2.clone(), b.clone()]).await.unwrap(),
            replaced(&["a"], &[])
        );
        assert_eq!(store.event("a").await.unwrap().as_deref(), Some(&a2));
        let revisions = store.event_revisions("a").await.unwrap();
        assert_eq!(
            revisions.iter().map(|r| (r.revision, r.event.name.as_str())).collect::<Vec<_>>(),
            [(1, "first"), (2, "renamed")]
        );
        assert_eq!(store.event_revisions("b").await.unwrap().len(), 1);

        // An event left out is removed; its revisions stay for `hookbot event show`.
        assert_eq!(
            store.replace_events(std::slice::from_ref(&b)).await.unwrap(),
            replaced(&[], &["a"])
        );
        assert_eq!(store.event("a").await.unwrap(), None);
        assert_eq!(store.events().await.unwrap(), std::slice::from_ref(&b));
        assert_eq!(store.event_revisions("a").await.unwrap().len(), 2);
        store.flush().await.unwrap();
        drop(store);

        let store = subject.open().await;
        assert_eq!(store.event("b").await.unwrap().as_deref(), Some(&b));
        assert_eq!(store.event("a").await.unwrap(), None);
        assert_eq!(store.events().await.unwrap(), [b]);
    }

    async fn only_the_newest_revisions_are_kept(subject: Subject) {
        let store = subject.open().await;
        let changes = MAX_REVISIONS_PER_EVENT + 3;
        for n in 1..=changes {
            store.replace_events(&[event("a", &format!("v{n}"))]).await.unwrap();
        }
        let revisions = store.event_revisions("a").await.unwrap();
        assert_eq!(revisions.len(), MAX_REVISIONS_PER_EVENT);
        assert_eq!(revisions[0].revision, 4);
        assert_eq!(revisions[0].event.name, "v4");
        let last = revisions.last().unwrap();
        assert_eq!(last.revision as usize, changes);
        assert_eq!(last.event.name, format!("v{changes}"));
    }

    async fn a_change_of_definitions_is_announced_on_the_change_feed(subject: Subject) {
        use crate::engine::Change;
        use tokio::sync::broadcast::error::RecvError;
        let store = subject.open().await;
        let mut changes = store.changes();
        // A shared engine hears it through the database, once its listening connection is up:
        // change the definitions until the feed tells (within a deadline).
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        for n in 1.. {
            store.replace_events(&[event("a", &format!("v{n}"))]).await.unwrap();
            let heard = tokio::time::timeout(std::time::Duration::from_millis(500), async {
                loop {
                    match changes.recv().await {
                        Ok(Change::Definitions) => return true,
                        Ok(_) | Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return false,
                    }
                }
            })
            .await;
            match heard {
                Ok(heard) => {
                    assert!(heard, "the change feed is closed");
                    break;
                }
                Err(_) => assert!(
                    tokio::time::Instant::now() < deadline,
                    "no Definitions change was announced"
                ),
            }
        }
    }
}
