//! TLS to the test server as `sslmode` asks. What each mode must do depends on whether the
//! server offers TLS (`SHOW ssl`), which the test asks first; either answer is a full test.

use super::database::TestDatabase;
use crate::engine::postgres::PostgresEngine;

/// Whether this engine's connections to the server are encrypted.
async fn encrypted(engine: &PostgresEngine) -> bool {
    let client = engine.client().await.unwrap();
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    row.get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sslmode_does_what_libpq_says_against_the_test_server() {
    let Some(database) = TestDatabase::create("engine::tests::tls").await else {
        return;
    };
    let url = |query: &str| match database.url.contains('?') {
        true => format!("{}&{query}", database.url),
        false => format!("{}?{query}", database.url),
    };
    let plain = PostgresEngine::connect(&url("sslmode=disable"))
        .await
        .unwrap();
    assert!(!encrypted(&plain).await, "disable speaks plain TCP");
    let client = plain.client().await.unwrap();
    let offers_tls = client
        .query_one("SHOW ssl", &[])
        .await
        .unwrap()
        .get::<_, String>(0)
        == "on";
    drop(client);

    let preferred = PostgresEngine::connect(&url("sslmode=prefer"))
        .await
        .unwrap();
    assert_eq!(
        encrypted(&preferred).await,
        offers_tls,
        "prefer: TLS when offered"
    );
    let required = PostgresEngine::connect(&url("sslmode=require")).await;
    // The test server's certificate is its own (Debian's snakeoil, or none): not one the
    // Mozilla roots vouch for.
    let verified = PostgresEngine::connect(&url("sslmode=verify-full")).await;
    match offers_tls {
        true => {
            assert!(
                encrypted(&required.unwrap()).await,
                "require: TLS, unverified"
            );
            let error = verified
                .err()
                .expect("an unknown issuer is refused")
                .to_string();
            assert!(error.contains("certificate"), "{error}");
        }
        false => {
            let error = required.err().expect("require needs TLS").to_string();
            assert!(error.contains("server does not support TLS"), "{error}");
            let error = verified.err().expect("verify-full needs TLS").to_string();
            assert!(error.contains("server does not support TLS"), "{error}");
        }
    }
}
