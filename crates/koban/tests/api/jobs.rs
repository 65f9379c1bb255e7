//! The durable job queue: take-over of a dead worker's job, sending once
//! however often a delivery is processed, disjoint concurrent claims,
//! idempotent enqueue, back-off and giving up.

use crate::support::{eventually, fresh_store, job_row, Db, SmtpServer, TestApp};
use koban::jobs::{claim, complete, enqueue, prune_finished, rescue_expired, retry_or_fail};
use koban::store::now_ms;
use serde_json::json;
use std::collections::HashSet;

/// Queues a delivery whose job is taken out of the running worker's reach by
/// `hold` (SQL run on the job in the same transaction); returns its id.
async fn queue_held(t: &TestApp, to: &str, body: &str, live: bool, hold: &str) -> i64 {
    let mut tx = t.app.store.write().begin().await.expect("begin");
    let id = koban::delivery::queue(
        &mut tx,
        &t.app.key,
        live,
        koban::delivery::Outgoing {
            account_id: None,
            purpose: "test".into(),
            channel: koban::delivery::Channel::Email,
            destination: to.into(),
            subject: "A test message".into(),
            body: body.into(),
            mail: None,
        },
    )
    .await
    .expect("queue");
    sqlx::query(&format!("{hold} WHERE idempotency_key = $1"))
        .bind(format!("delivery:{id}"))
        .execute(&mut *tx)
        .await
        .expect("hold the job");
    tx.commit().await.expect("commit");
    id
}

async fn a_dead_workers_job_is_taken_over(t: TestApp) {
    // A worker on another node claimed the job, then its process died.
    let lease_until = now_ms() + 60_000;
    let id = queue_held(
        &t,
        "taken-over@example.com",
        "hello",
        false,
        &format!(
            "UPDATE jobs SET status = 'running', locked_by = 'dead-node', attempts = 1, locked_until = {lease_until}"
        ),
    )
    .await;
    // While its lease runs, nobody touches it.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(t.delivery(id).await.status, "queued");
    let held = t.delivery_job(id).await;
    assert_eq!(held.status, "running");
    assert_eq!(held.locked_by.as_deref(), Some("dead-node"));
    // The lease runs out: the live worker takes the job over and finishes it.
    t.exec(&format!(
        "UPDATE jobs SET locked_until = {} WHERE idempotency_key = 'delivery:{id}'",
        now_ms() - 1
    ))
    .await;
    t.delivery_when(id, "sent", |d| d.status == "sent").await;
    let job = eventually("the job done", || async {
        let job = t.delivery_job(id).await;
        (job.status == "done").then_some(job)
    })
    .await;
    assert_eq!(job.locked_by.as_deref(), Some(t.app.node_id.as_str()));
    assert_eq!(job.attempts, 2);
    // The dead worker, were it to wake up, cannot record anything any more.
    let stale = koban::jobs::Job {
        id: job.id,
        kind: "deliver".into(),
        payload: json!({ "delivery_id": id }),
        attempts: 1,
        max_attempts: 8,
    };
    retry_or_fail(&t.app.store, &stale, "dead-node", "late")
        .await
        .expect("no-op");
    assert_eq!(t.delivery_job(id).await.status, "done");
}
both!(a_dead_workers_job_is_taken_over);

async fn a_delivery_left_sending_by_a_dead_worker_is_sent(t: TestApp) {
    // Died between marking the delivery "sending" and recording the outcome.
    let id = queue_held(
        &t,
        "mid-send@example.com",
        "hello",
        false,
        "UPDATE jobs SET status = 'done'",
    )
    .await;
    t.exec(&format!(
        "UPDATE deliveries SET status = 'sending', attempts = 1, updated_at = {} WHERE id = {id}",
        now_ms()
    ))
    .await;
    // Recently marked: another worker may be sending it right now, so this one holds back.
    let outcome = koban::delivery::process(&t.app, id, false).await;
    assert!(outcome.is_err(), "{outcome:?}");
    assert_eq!(t.delivery(id).await.status, "sending");
    // Marked longer ago than a lease: that worker is gone; take it over.
    t.exec(&format!(
        "UPDATE deliveries SET updated_at = {} WHERE id = {id}",
        now_ms() - t.app.config.job_lease_seconds * 1000 - 1_000
    ))
    .await;
    koban::delivery::process(&t.app, id, false)
        .await
        .expect("taken over");
    let sent = t.delivery(id).await;
    assert_eq!(sent.status, "sent");
    assert_eq!(sent.attempts, 2);
}
both!(a_delivery_left_sending_by_a_dead_worker_is_sent);

async fn a_delivery_processed_twice_is_sent_once(db: Db) {
    let smtp = SmtpServer::start().await;
    let t = TestApp::start(db, |c| smtp.configure(c)).await;
    let (status, body) = t
        .post(
            "/api/v1/accounts",
            json!({ "email": "once@example.com", "password": "plum blossom 2026" }),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
    smtp.wait_for_messages(1).await;
    let id = t.newest_delivery("once@example.com").await.id;
    t.delivery_when(id, "sent", |d| d.status == "sent").await;

    // Run again directly, and through a second job for the same delivery.
    koban::delivery::process(&t.app, id, false)
        .await
        .expect("second run is a no-op");
    enqueue(
        t.app.store.write(),
        koban::delivery::DELIVER,
        &json!({ "delivery_id": id }),
        Some("deliver-again"),
        0,
    )
    .await
    .expect("enqueue");
    t.app.jobs_wakeup.notify_one();
    eventually("the second job done", || async {
        let job = job_row(&t.app.store, "deliver-again").await?;
        (job.status == "done").then_some(())
    })
    .await;
    assert_eq!(smtp.messages().len(), 1, "sent once");

    // Several workers reaching one queued delivery at the same moment: one sends.
    let body = ".leading dot\n..two dots\n.\nend";
    let id = queue_held(
        &t,
        "race@example.com",
        body,
        true,
        "UPDATE jobs SET status = 'done'",
    )
    .await;
    let runs =
        futures_util::future::join_all((0..4).map(|_| koban::delivery::process(&t.app, id, false)))
            .await;
    assert!(runs.iter().any(Result::is_ok), "{runs:?}");
    let messages = smtp.wait_for_messages(2).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        smtp.messages().len(),
        2,
        "one more message, not four: {runs:?}"
    );
    assert_eq!(t.delivery(id).await.status, "sent");
    // Lines starting with a dot survive SMTP's dot-stuffing both ways.
    let text = messages[1].text().replace("\r\n", "\n");
    assert!(text.contains(body), "{text:?}");
}
both_db!(a_delivery_processed_twice_is_sent_once);

async fn concurrent_claims_never_share_a_job(db: Db) {
    let Some((store, _dir)) = fresh_store(db).await else {
        return;
    };
    let now = now_ms();
    for n in 0..60 {
        enqueue(store.write(), "noop", &json!({ "n": n }), None, now)
            .await
            .expect("enqueue");
    }
    let workers = (0..6).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let jobs = claim(&store, &format!("worker-{w}"), 4, 60_000)
                    .await
                    .expect("claim");
                if jobs.is_empty() {
                    return mine;
                }
                mine.extend(jobs.into_iter().map(|j| j.id));
                tokio::task::yield_now().await;
            }
        })
    });
    let mut all: Vec<i64> = Vec::new();
    let mut busy = 0;
    for handle in workers.collect::<Vec<_>>() {
        let ids = handle.await.expect("worker");
        busy += usize::from(!ids.is_empty());
        all.extend(ids);
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 60, "every job claimed once: {all:?}");
    assert_eq!(distinct.len(), 60, "no job claimed twice");
    assert!(busy >= 1);
    // Held under live leases, none can be claimed again.
    assert!(claim(&store, "late", 100, 60_000)
        .await
        .expect("claim")
        .is_empty());
    store.close().await;
}
both_db!(concurrent_claims_never_share_a_job);

async fn enqueue_dedupes_on_its_idempotency_key(db: Db) {
    let Some((store, _dir)) = fresh_store(db).await else {
        return;
    };
    for _ in 0..3 {
        enqueue(store.write(), "noop", &json!({}), Some("once"), now_ms())
            .await
            .expect("enqueue");
    }
    enqueue(store.write(), "noop", &json!({}), None, now_ms())
        .await
        .expect("enqueue");
    enqueue(store.write(), "noop", &json!({}), None, now_ms())
        .await
        .expect("enqueue");
    let jobs = claim(&store, "w", 100, 60_000).await.expect("claim");
    assert_eq!(jobs.len(), 3, "one keyed job and two unkeyed");
    // Even once the keyed job is done, the key is not reused.
    for job in &jobs {
        complete(&store, job, "w").await.expect("complete");
    }
    enqueue(store.write(), "noop", &json!({}), Some("once"), now_ms())
        .await
        .expect("enqueue");
    assert!(claim(&store, "w", 100, 60_000)
        .await
        .expect("claim")
        .is_empty());
    assert_eq!(job_row(&store, "once").await.expect("job").status, "done");
    store.close().await;
}
both_db!(enqueue_dedupes_on_its_idempotency_key);

async fn failures_back_off_then_give_up(db: Db) {
    let Some((store, _dir)) = fresh_store(db).await else {
        return;
    };
    enqueue(store.write(), "noop", &json!({}), Some("flaky"), now_ms())
        .await
        .expect("enqueue");
    sqlx::query("UPDATE jobs SET max_attempts = 3")
        .execute(store.write())
        .await
        .expect("max attempts");
    let mut waits = Vec::new();
    for attempt in 1..=3 {
        let jobs = claim(&store, "w", 10, 60_000).await.expect("claim");
        assert_eq!(jobs.len(), 1, "attempt {attempt}");
        assert_eq!(jobs[0].attempts, attempt);
        let before = now_ms();
        retry_or_fail(&store, &jobs[0], "w", &format!("failure {attempt}"))
            .await
            .expect("retry");
        let job = job_row(&store, "flaky").await.expect("job");
        assert_eq!(
            job.last_error.as_deref(),
            Some(format!("failure {attempt}").as_str())
        );
        if attempt < 3 {
            assert_eq!(job.status, "pending");
            waits.push(job.run_at - before);
            // Not due yet: nothing to claim until the back-off has passed.
            assert!(claim(&store, "w", 10, 60_000)
                .await
                .expect("claim")
                .is_empty());
            sqlx::query("UPDATE jobs SET run_at = 0")
                .execute(store.write())
                .await
                .expect("due");
        } else {
            assert_eq!(job.status, "failed", "gives up after max_attempts");
        }
    }
    assert!(
        waits[0] >= 1_900 && waits[1] >= 2 * waits[0] - 200,
        "doubling back-off: {waits:?}"
    );
    assert!(claim(&store, "w", 10, 60_000)
        .await
        .expect("claim")
        .is_empty());

    // A worker whose lease ran out cannot complete a job someone else took over.
    enqueue(store.write(), "noop", &json!({}), Some("slow"), now_ms())
        .await
        .expect("enqueue");
    let first = claim(&store, "slow-worker", 10, 1).await.expect("claim");
    assert_eq!(first.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // The claim reads pending jobs only; the rescue makes the expired one
    // pending again, and only the expired one.
    enqueue(store.write(), "noop", &json!({}), Some("held"), now_ms())
        .await
        .expect("enqueue");
    let held = claim(&store, "live-worker", 10, 60_000)
        .await
        .expect("claim");
    assert_eq!(held.len(), 1);
    assert!(claim(&store, "fast-worker", 10, 60_000)
        .await
        .expect("claim")
        .is_empty());
    assert_eq!(rescue_expired(&store, now_ms()).await.expect("rescue"), 1);
    assert_eq!(
        job_row(&store, "held").await.expect("job").status,
        "running"
    );
    let rescued = job_row(&store, "slow").await.expect("job");
    assert_eq!(rescued.status, "pending");
    assert_eq!(rescued.locked_by, None);
    let second = claim(&store, "fast-worker", 10, 60_000)
        .await
        .expect("claim");
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].id, first[0].id);
    assert_eq!(second[0].attempts, 2);
    complete(&store, &first[0], "slow-worker")
        .await
        .expect("no-op");
    assert_eq!(
        job_row(&store, "slow").await.expect("job").status,
        "running"
    );
    complete(&store, &second[0], "fast-worker")
        .await
        .expect("complete");
    assert_eq!(job_row(&store, "slow").await.expect("job").status, "done");
    store.close().await;
}
both_db!(failures_back_off_then_give_up);

async fn finished_jobs_are_pruned_after_two_weeks(t: TestApp) {
    let keep = koban::jobs::KEEP_FINISHED_MS;
    let now = now_ms();
    // (key, status, finished how long ago): only the first two are old
    // enough and finished.
    let rows = [
        ("old-done", "done", Some(keep + 60_000)),
        ("old-failed", "failed", Some(keep + 60_000)),
        ("recent-done", "done", Some(keep - 60_000)),
        ("recent-failed", "failed", Some(60_000)),
        ("old-pending", "pending", None),
        ("old-running", "running", None),
    ];
    for (key, status, ago) in rows {
        t.exec(&format!(
            "INSERT INTO jobs (kind, payload, idempotency_key, status, run_at, created_at, finished_at, locked_until)
             VALUES ('noop', '{{}}', '{key}', '{status}', {future}, {old}, {finished}, {lease})",
            future = now + 3_600_000,
            old = now - 2 * keep,
            finished = ago.map_or("NULL".to_string(), |ago| (now - ago).to_string()),
            lease = now + 3_600_000,
        ))
        .await;
    }
    t.run_job_now(koban::jobs::PRUNE_FINISHED).await;
    let left = || async {
        let rows = sqlx::query(
            "SELECT idempotency_key FROM jobs WHERE kind = 'noop' ORDER BY idempotency_key",
        )
        .fetch_all(t.app.store.read())
        .await
        .expect("jobs");
        rows.iter()
            .map(|r| sqlx::Row::try_get::<String, _>(r, "idempotency_key").expect("key"))
            .collect::<Vec<_>>()
    };
    let kept = eventually("the old finished jobs are pruned", || async {
        let kept = left().await;
        (kept.len() == 4).then_some(kept)
    })
    .await;
    assert_eq!(
        kept,
        ["old-pending", "old-running", "recent-done", "recent-failed"]
    );
    // The pruning job's own row is recent, so it stays; a second pruning
    // in chunks finds nothing more.
    assert_eq!(
        prune_finished(&t.app.store, now_ms() - keep, 1)
            .await
            .expect("prune"),
        0
    );
    assert_eq!(left().await.len(), 4);
}
both!(finished_jobs_are_pruned_after_two_weeks);

async fn the_pruning_deletes_in_chunks(db: Db) {
    let Some((store, _dir)) = fresh_store(db).await else {
        return;
    };
    let long_ago = now_ms() - koban::jobs::KEEP_FINISHED_MS - 1;
    for i in 0..5 {
        sqlx::query(
            "INSERT INTO jobs (kind, payload, idempotency_key, status, run_at, created_at, finished_at)
             VALUES ('noop', '{}', $1, 'done', 0, 0, $2)",
        )
        .bind(format!("chunk-{i}"))
        .bind(long_ago)
        .execute(store.write())
        .await
        .expect("insert");
    }
    let before = now_ms() - koban::jobs::KEEP_FINISHED_MS;
    let chunks: Vec<u64> = vec![
        prune_finished(&store, before, 2).await.expect("prune"),
        prune_finished(&store, before, 2).await.expect("prune"),
        prune_finished(&store, before, 2).await.expect("prune"),
        prune_finished(&store, before, 2).await.expect("prune"),
    ];
    assert_eq!(chunks, [2, 2, 1, 0]);
    store.close().await;
}
both_db!(the_pruning_deletes_in_chunks);
