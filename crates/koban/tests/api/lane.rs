//! The lane: PostgreSQL connections for the statements of every sign-in,
//! handed back without a round trip. Reuse is what saves the round trip;
//! what must never happen is reusing a connection a statement left half way,
//! waiting for the lane when it is full, or opening more connections than
//! configured.

use crate::support::{fresh_postgres_database, postgres_url};
use koban::store::Store;
use sqlx::{AnyConnection, Connection};
use std::time::Duration;

/// A store on a fresh PostgreSQL database: `max` connections, a quarter of
/// them the lane. None where PostgreSQL is not configured.
async fn postgres_store(max: u32) -> Option<(Store, String)> {
    let url = fresh_postgres_database(&postgres_url()?).await;
    let store = Store::connect(&url, max).await.expect("connect");
    Some((store, url))
}

async fn backend_pid(store: &Store) -> i32 {
    store
        .run_on_lane(async |conn| {
            sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()")
                .fetch_one(conn)
                .await
        })
        .await
        .expect("backend pid")
}

/// Connections of other sessions to the store's database.
async fn connections_to(url: &str, admin: &mut AnyConnection) -> i64 {
    let name = url.rsplit('/').next().unwrap_or_default();
    sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(name)
    .fetch_one(admin)
    .await
    .expect("count connections")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_that_ended_leaves_its_connection_for_the_next() {
    let Some((store, _)) = postgres_store(8).await else {
        return;
    };
    let first = backend_pid(&store).await;
    assert_eq!(backend_pid(&store).await, first);
    // The session lookup of every authenticated request shares the lane.
    let read_on: i32 = store
        .read_on_lane(async |conn| {
            sqlx::query_scalar("SELECT pg_backend_pid()")
                .fetch_one(conn)
                .await
        })
        .await
        .expect("read on the lane");
    assert_eq!(read_on, first);
    // A database error leaves the protocol in step: the connection stays,
    // and the next statement reads its own answer, not the error's rest.
    let failed = store
        .run_on_lane(async |conn| {
            sqlx::query_scalar::<_, i32>("SELECT 1 / 0")
                .fetch_one(conn)
                .await
        })
        .await;
    assert!(failed.is_err(), "division by zero must fail: {failed:?}");
    assert_eq!(backend_pid(&store).await, first);
    let answer = store
        .run_on_lane(async |conn| {
            sqlx::query_scalar::<_, i32>("SELECT 41 + 1")
                .fetch_one(conn)
                .await
        })
        .await
        .expect("statement after an error");
    assert_eq!(answer, 42);
    let (open, idle) = store.pool_usage();
    assert!(
        open >= 1 && idle >= 1,
        "lane connection counted: {open} open, {idle} idle"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_dropped_half_way_takes_its_connection_with_it() {
    let Some((store, url)) = postgres_store(8).await else {
        return;
    };
    let first = backend_pid(&store).await;
    let dropped = tokio::time::timeout(
        Duration::from_millis(200),
        store.run_on_lane(async |conn| {
            sqlx::query("SELECT pg_sleep(30)")
                .execute(conn)
                .await
                .map(|_| ())
        }),
    )
    .await;
    assert!(dropped.is_err(), "the sleep must have been cut off");
    // The cut-off connection is gone, not handed to the next statement
    // (which would read the sleep's answer as its own), and its place in
    // the lane is free again.
    let next = backend_pid(&store).await;
    assert_ne!(next, first);
    assert_eq!(backend_pid(&store).await, next);
    let mut admin = AnyConnection::connect(&url).await.expect("admin");
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(first)
        .execute(&mut admin)
        .await
        .expect("end the abandoned sleep");
    let (open, _) = store.pool_usage();
    assert!(open <= 8, "{open} connections open");
    store.close().await;
    let _ = admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_server_dropped_while_idle_is_replaced() {
    let Some((store, url)) = postgres_store(8).await else {
        return;
    };
    let first = backend_pid(&store).await;
    let mut admin = AnyConnection::connect(&url).await.expect("admin");
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(first)
        .fetch_one(&mut admin)
        .await
        .expect("terminate");
    assert!(ended);
    // Idle past the ping threshold, the dead connection is found out
    // before a statement is lost on it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let next = backend_pid(&store).await;
    assert_ne!(next, first);
    let _ = admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_lane_sends_statements_to_the_pool_and_never_exceeds_the_limit() {
    // 8 connections: 2 in the lane, 6 in the pool.
    let Some((store, url)) = postgres_store(8).await else {
        return;
    };
    let mut admin = AnyConnection::connect(&url).await.expect("admin");
    let sleepers: Vec<_> = (0..2)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .run_on_lane(async |conn| {
                        sqlx::query("SELECT pg_sleep(30)")
                            .execute(conn)
                            .await
                            .map(|_| ())
                    })
                    .await
            })
        })
        .collect();
    // Both lane connections busy...
    let mut waited = 0;
    while sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'",
    )
    .fetch_one(&mut admin)
    .await
    .expect("watch sleepers")
        < 2
    {
        waited += 1;
        assert!(waited < 200, "the sleepers never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // ...the next statements run on the pool at once, while the sleepers
    // still hold the lane.
    let many: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { backend_pid(&store).await })
        })
        .collect();
    for statement in many {
        statement.await.expect("statement task");
    }
    assert!(sleepers.iter().all(|s| !s.is_finished()));
    assert_eq!(store.lane_overflows(), 20, "each statement counted once");
    let open = connections_to(&url, &mut admin).await;
    assert!(open <= 8, "{open} connections to the database, limit 8");
    let (counted, _) = store.pool_usage();
    assert_eq!(counted as i64, open, "metrics count what is open");
    for sleeper in sleepers {
        sleeper.abort();
    }
    // The aborted sleepers' connections were closed: the lane opens new
    // ones and statements on it work.
    backend_pid(&store).await;
    let _ = admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_the_lane_is_the_writer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("lane.db").display());
    let store = Store::connect(&url, 8).await.expect("connect");
    let answer = store
        .run_on_lane(async |conn| {
            sqlx::query("CREATE TABLE t (v INTEGER NOT NULL)")
                .execute(&mut *conn)
                .await?;
            sqlx::query("INSERT INTO t (v) VALUES (42)")
                .execute(&mut *conn)
                .await?;
            sqlx::query_scalar::<_, i64>("SELECT v FROM t")
                .fetch_one(conn)
                .await
        })
        .await
        .expect("statements on the writer");
    assert_eq!(answer, 42);
    let failed = store
        .run_on_lane(async |conn| {
            sqlx::query("INSERT INTO t (v) VALUES (NULL)")
                .execute(conn)
                .await
                .map(|_| ())
        })
        .await;
    assert!(failed.is_err());
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
        .fetch_one(store.read())
        .await
        .expect("count");
    assert_eq!(count, 1, "the refused insert wrote nothing");
    let read: i64 = store
        .read_on_lane(async |conn| sqlx::query_scalar("SELECT v FROM t").fetch_one(conn).await)
        .await
        .expect("a read on a reader");
    assert_eq!(read, 42, "readers see what the writer committed");
}

/// A sign-in's write commits lazily through a clause that sets
/// `synchronous_commit` for its own transaction only: the connection goes
/// back to the lane committing as PostgreSQL is configured to, so nothing
/// else that runs on it later loses its durability.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lazy_commit_ends_with_its_own_statement() {
    let Some((store, _)) = postgres_store(8).await else {
        return;
    };
    let clause = store
        .backend()
        .lazy_commit_clause()
        .expect("PostgreSQL has the clause");
    let sql = format!("WITH {clause} SELECT mode, pg_backend_pid() FROM lazy_commit");
    let setting = async |store: &Store| -> (String, i32) {
        store
            .run_on_lane(async |conn| {
                sqlx::query_as("SELECT current_setting('synchronous_commit'), pg_backend_pid()")
                    .fetch_one(conn)
                    .await
            })
            .await
            .expect("setting")
    };
    let (before, pid) = setting(&store).await;
    assert_eq!(before, "on");
    let (inside, same_pid): (String, i32) = store
        .run_on_lane(async |conn| sqlx::query_as(&sql).fetch_one(conn).await)
        .await
        .expect("lazy statement");
    assert_eq!((inside.as_str(), same_pid), ("off", pid));
    assert_eq!(setting(&store).await, ("on".to_string(), pid));
}
