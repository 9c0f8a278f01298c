//! Variables: every scope apart, the limits, every character, and a restart.

use super::both_engines;
use crate::engine::error::StoreError;
use crate::engine::limits::{MAX_VARIABLE_NAME_CHARS, MAX_VARIABLE_VALUE_BYTES};
use crate::engine::records::VariableScope;

const EVERY_SCOPE: [VariableScope; 6] = [
    VariableScope::Global,
    VariableScope::Server(1),
    VariableScope::Server(2),
    VariableScope::User { server: 1, user: 2 },
    VariableScope::User { server: 2, user: 1 },
    VariableScope::Channel(1),
];

both_engines! {
    async fn variables_set_get_delete_in_every_scope(subject: Subject) {
        let store = subject.open().await;
        for scope in &EVERY_SCOPE {
            assert_eq!(store.variable(scope, "count").await.unwrap(), None);
            store.set_variable(scope, "count", "1").await.unwrap();
            assert_eq!(store.variable(scope, "count").await.unwrap().as_deref(), Some("1"));
            store.set_variable(scope, "count", "2").await.unwrap();
            assert_eq!(store.variable(scope, "count").await.unwrap().as_deref(), Some("2"));
            assert!(store.delete_variable(scope, "count").await.unwrap());
            assert!(!store.delete_variable(scope, "count").await.unwrap());
            assert_eq!(store.variable(scope, "count").await.unwrap(), None);
        }
    }

    async fn scopes_do_not_collide(subject: Subject) {
        let store = subject.open().await;
        for (i, scope) in EVERY_SCOPE.iter().enumerate() {
            store.set_variable(scope, "x", &i.to_string()).await.unwrap();
        }
        // A name that spells another scope's ids must not reach that scope's value.
        let mut spelled = String::from_utf8(vec![0; 7]).unwrap();
        spelled.push('\u{1}');
        spelled.push('x');
        store
            .set_variable(&VariableScope::Global, &spelled, "global\u{0}value")
            .await
            .unwrap();
        for (i, scope) in EVERY_SCOPE.iter().enumerate() {
            assert_eq!(store.variable(scope, "x").await.unwrap(), Some(i.to_string()));
        }
        let all = store.variables().await.unwrap();
        assert_eq!(all.len(), EVERY_SCOPE.len() + 1);
        // Ordered by scope (global, servers, users, channels), then name.
        let order: Vec<VariableScope> = all.iter().map(|(scope, _, _)| *scope).collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted);
        assert_eq!(all[0], (VariableScope::Global, spelled, "global\u{0}value".into()));
        for (i, scope) in EVERY_SCOPE.iter().enumerate() {
            assert!(all.contains(&(*scope, "x".into(), i.to_string())));
        }
    }

    async fn variable_limits(subject: Subject) {
        let store = subject.open().await;
        let scope = VariableScope::Global;
        let longest = "n".repeat(MAX_VARIABLE_NAME_CHARS);
        store.set_variable(&scope, &longest, "ok").await.unwrap();
        let error = store
            .set_variable(&scope, &format!("{longest}n"), "v")
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::VariableNameTooLong { chars: 65, .. }));
        assert!(error.to_string().contains("at most 64"), "{error}");
        assert!(matches!(
            store.set_variable(&scope, "", "v").await,
            Err(StoreError::EmptyVariableName)
        ));
        let biggest = "v".repeat(MAX_VARIABLE_VALUE_BYTES);
        store.set_variable(&scope, "big", &biggest).await.unwrap();
        let error = store
            .set_variable(&scope, "big", &format!("{biggest}v"))
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the value for variable \"big\" is 16385 bytes; at most 16384 are allowed"
        );
        assert_eq!(store.variable(&scope, "big").await.unwrap(), Some(biggest));
    }

    async fn variables_survive_reopen(subject: Subject) {
        let store = subject.open().await;
        for scope in &EVERY_SCOPE {
            store
                .set_variable(scope, "greeting", &format!("hello {scope}"))
                .await
                .unwrap();
        }
        store.delete_variable(&VariableScope::Global, "greeting").await.unwrap();
        store.flush().await.unwrap();
        let before = store.variables().await.unwrap();
        drop(store);

        let store = subject.open().await;
        assert_eq!(store.variables().await.unwrap(), before);
        assert_eq!(store.variable(&VariableScope::Global, "greeting").await.unwrap(), None);
        assert_eq!(
            store
                .variable(&VariableScope::User { server: 1, user: 2 }, "greeting")
                .await
                .unwrap()
                .as_deref(),
            Some("hello user 2 in server 1")
        );
    }
}
