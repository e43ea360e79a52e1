//! A fresh PostgreSQL database per test, on the server `.ci/run` starts.
//!
//! `KFLOW_TEST_POSTGRES` is an admin URL of that server
//! (`postgres://kflow:kflow@127.0.0.1:5432/postgres`). Each call creates a
//! database of its own and drops it when the guard goes. Without the
//! variable the tests that need PostgreSQL say so and pass over it, except
//! under CI (`CI` set), where a missing server is a failure: nothing is
//! skipped there.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A database that is dropped with this guard.
pub(crate) struct TestDatabase {
    admin: String,
    name: String,
    /// Its URL, for `[server] database`.
    pub(crate) url: String,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A new, empty database; `None` (with a note) when no server is given
/// outside CI.
pub(crate) async fn fresh_database() -> Option<TestDatabase> {
    let Ok(admin) = std::env::var("KFLOW_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must provide PostgreSQL: set KFLOW_TEST_POSTGRES (see .ci/run)"
        );
        eprintln!("KFLOW_TEST_POSTGRES is not set: this test's PostgreSQL half is not run");
        return None;
    };
    let name = format!(
        "kflow_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    execute(&admin, &format!("CREATE DATABASE {name}")).await;
    let url = match admin.rfind('/') {
        Some(i) => format!("{}/{name}", &admin[..i]),
        None => panic!("KFLOW_TEST_POSTGRES has no database part: {admin}"),
    };
    Some(TestDatabase { admin, name, url })
}

async fn execute(url: &str, sql: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
    let driver = tokio::spawn(connection);
    client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    drop(client);
    let _ = driver.await;
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop runs outside any runtime the test may still be using.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(execute(&admin, &sql));
            }
        })
        .join();
    }
}
