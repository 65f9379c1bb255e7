//! SQL for the job queue.

use crate::store::{now_ms, Batch, Earlier, Store, StoreError};
use sqlx::{Any, Executor, Row};

/// A claimed job.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: serde_json::Value,
    pub attempts: i64,
    pub max_attempts: i64,
}

const ENQUEUE: &str =
    "INSERT INTO jobs (kind, payload, idempotency_key, status, run_at, created_at)
     VALUES ($1, $2, $3, 'pending', $4, $5)
     ON CONFLICT (idempotency_key) DO NOTHING";

/// [`enqueue`] as a statement of `batch`, which commits with what caused it.
pub fn enqueue_into(
    batch: &mut Batch,
    kind: &str,
    payload: &serde_json::Value,
    idempotency_key: Option<&str>,
    run_at_ms: i64,
) {
    batch.push(
        ENQUEUE,
        vec![
            kind.into(),
            payload.to_string().into(),
            idempotency_key.into(),
            run_at_ms.into(),
            now_ms().into(),
        ],
    );
}

/// [`enqueue_into`] for a job about a row that `batch` stores before it
/// (`row`): the row's id is the payload's field `field`, beside the
/// fields of the object `rest`, and ends its idempotency key after
/// `key_prefix`. Both are made in SQL as the batch runs, so the row's id
/// need not come back first (a trip).
pub fn enqueue_about_into(
    batch: &mut Batch,
    kind: &str,
    (field, row): (&str, Earlier),
    rest: &serde_json::Value,
    key_prefix: &str,
    run_at_ms: i64,
) {
    let field = serde_json::Value::from(field);
    let rest = rest.to_string();
    let after = match rest.strip_prefix('{') {
        Some("}") | None => "}".to_string(),
        Some(fields) => format!(",{fields}"),
    };
    let id = row.id_as_text();
    batch.push(
        &format!(
            "INSERT INTO jobs (kind, payload, idempotency_key, status, run_at, created_at)
             VALUES ($1, $2 || {id} || $3, $4 || {id}, 'pending', $5, $6)
             ON CONFLICT (idempotency_key) DO NOTHING"
        ),
        vec![
            kind.into(),
            format!("{{{field}:").into(),
            after.into(),
            key_prefix.into(),
            run_at_ms.into(),
            now_ms().into(),
        ],
    );
}

/// Adds a job. With an idempotency key, adding the same key twice adds it once.
pub async fn enqueue<'e, E>(
    executor: E,
    kind: &str,
    payload: &serde_json::Value,
    idempotency_key: Option<&str>,
    run_at_ms: i64,
) -> Result<(), StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(ENQUEUE)
        .bind(kind)
        .bind(payload.to_string())
        .bind(idempotency_key)
        .bind(run_at_ms)
        .bind(now_ms())
        .execute(executor)
        .await?;
    Ok(())
}

/// Claims up to `limit` due jobs for `worker`, the longest due first. A
/// job whose lease ran out is due again once [`rescue_expired`] has
/// found it.
pub async fn claim(
    store: &Store,
    worker: &str,
    limit: i64,
    lease_ms: i64,
) -> Result<Vec<Job>, StoreError> {
    let now = now_ms();
    // Only pending jobs, so that the plan is an ordered scan of
    // `jobs_pending` that stops at the limit (migration 0047).
    let sql = format!(
        "UPDATE jobs SET status = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1
         WHERE id IN (
             SELECT id FROM jobs WHERE status = 'pending' AND run_at <= $3
             ORDER BY run_at, id LIMIT $4{})
         RETURNING id, kind, payload, attempts, max_attempts",
        store.backend().skip_locked()
    );
    let rows = sqlx::query(&sql)
        .bind(worker)
        .bind(now + lease_ms)
        .bind(now)
        .bind(limit)
        .fetch_all(store.write())
        .await?;
    rows.iter()
        .map(|row| {
            let payload: String = row.try_get("payload")?;
            Ok(Job {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
                attempts: row.try_get("attempts")?,
                max_attempts: row.try_get("max_attempts")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Marks a job done, if `worker` still holds it.
pub async fn complete(store: &Store, job: &Job, worker: &str) -> Result<(), StoreError> {
    complete_many(store, &[job.id], worker).await
}

/// Marks the jobs `ids` done, if `worker` still holds them, in one
/// statement: a worker that ran a batch records it with one trip to the
/// writer instead of one per job.
pub async fn complete_many(store: &Store, ids: &[i64], worker: &str) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "UPDATE jobs SET status = 'done', finished_at = $1, locked_until = NULL
         WHERE locked_by = $2 AND id IN ({})",
        list.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(now_ms()).bind(worker);
    for id in ids {
        query = query.bind(*id);
    }
    query.execute(store.write()).await?;
    Ok(())
}

/// Records a failed try: `status` pending again at `run_at`, or failed
/// (`finished_at` set), if `worker` still holds the job.
pub async fn reschedule(
    store: &Store,
    job: &Job,
    worker: &str,
    status: &str,
    run_at: i64,
    error: String,
    finished_at: Option<i64>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET status = $1, run_at = $2, last_error = $3, locked_until = NULL,
                finished_at = $4
         WHERE id = $5 AND locked_by = $6",
    )
    .bind(status)
    .bind(run_at)
    .bind(error)
    .bind(finished_at)
    .bind(job.id)
    .bind(worker)
    .execute(store.write())
    .await?;
    Ok(())
}

/// Makes the jobs whose lease ran out before `now` pending again, for any
/// worker to claim: their worker died, or is too slow to be waited for
/// (it can no longer record an outcome, as it no longer holds them).
/// Returns how many.
pub async fn rescue_expired(store: &Store, now: i64) -> Result<u64, StoreError> {
    let sql = format!(
        "UPDATE jobs SET status = 'pending', locked_by = NULL, locked_until = NULL
         WHERE id IN (
             SELECT id FROM jobs WHERE status = 'running' AND locked_until < $1{})",
        store.backend().skip_locked()
    );
    let done = sqlx::query(&sql).bind(now).execute(store.write()).await?;
    Ok(done.rows_affected())
}

/// Deletes up to `limit` jobs that finished (done or failed) before
/// `before`; returns how many.
pub async fn prune_finished(store: &Store, before: i64, limit: i64) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM jobs WHERE id IN (
             SELECT id FROM jobs WHERE status IN ('done', 'failed') AND finished_at < $1 LIMIT $2)",
    )
    .bind(before)
    .bind(limit)
    .execute(store.write())
    .await?;
    Ok(done.rows_affected())
}

/// Jobs waiting or running, for /metrics: each count read from its
/// partial index.
pub async fn queue_depth(store: &Store) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT 'pending' AS status, COUNT(*) AS n FROM jobs WHERE status = 'pending'
         UNION ALL
         SELECT 'running' AS status, COUNT(*) AS n FROM jobs WHERE status = 'running'",
    )
    .fetch_all(store.read())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}
