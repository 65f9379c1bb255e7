//! Rows of the delivery and job tables as the tests read them.

use super::*;

/// A row of `deliveries`, as the tests look at it.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: i64,
    pub status: String,
    pub provider: String,
    pub provider_message_id: Option<String>,
    pub error: Option<String>,
    pub attempts: i64,
    pub has_body: bool,
    pub delivered_at: Option<i64>,
}

/// A row of `jobs`, as the tests look at it.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: i64,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
}

/// Reads one delivery row by id.
pub async fn delivery_row(store: &Store, id: i64) -> Option<DeliveryRow> {
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT id, status, provider, provider_message_id, error, attempts, body_sealed, delivered_at
         FROM deliveries WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(store.read())
    .await
    .expect("read delivery")?;
    let body: Option<Vec<u8>> = row.try_get("body_sealed").expect("body");
    Some(DeliveryRow {
        id: row.try_get("id").expect("id"),
        status: row.try_get("status").expect("status"),
        provider: row.try_get("provider").expect("provider"),
        provider_message_id: row.try_get("provider_message_id").expect("pmid"),
        error: row.try_get("error").expect("error"),
        attempts: row.try_get("attempts").expect("attempts"),
        has_body: body.is_some(),
        delivered_at: row.try_get("delivered_at").expect("delivered_at"),
    })
}

/// Reads one job row by its idempotency key.
pub async fn job_row(store: &Store, key: &str) -> Option<JobRow> {
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT id, status, attempts, max_attempts, run_at, locked_by, last_error
         FROM jobs WHERE idempotency_key = $1",
    )
    .bind(key)
    .fetch_optional(store.read())
    .await
    .expect("read job")?;
    Some(JobRow {
        id: row.try_get("id").expect("id"),
        status: row.try_get("status").expect("status"),
        attempts: row.try_get("attempts").expect("attempts"),
        max_attempts: row.try_get("max_attempts").expect("max_attempts"),
        run_at: row.try_get("run_at").expect("run_at"),
        locked_by: row.try_get("locked_by").expect("locked_by"),
        last_error: row.try_get("last_error").expect("last_error"),
    })
}

impl TestApp {
    /// The newest delivery to `destination`, once there is one.
    pub async fn newest_delivery(&self, destination: &str) -> DeliveryRow {
        use sqlx::Row;
        self.settle().await;
        let id: i64 = eventually("a delivery", || async {
            sqlx::query("SELECT id FROM deliveries WHERE destination = $1 ORDER BY id DESC LIMIT 1")
                .bind(destination)
                .fetch_optional(self.app.store.read())
                .await
                .expect("query")
                .map(|r| r.try_get("id").expect("id"))
        })
        .await;
        self.delivery(id).await
    }

    /// The delivery with `id`.
    pub async fn delivery(&self, id: i64) -> DeliveryRow {
        delivery_row(&self.app.store, id)
            .await
            .expect("delivery exists")
    }

    /// The job that sends delivery `id`.
    pub async fn delivery_job(&self, id: i64) -> JobRow {
        job_row(&self.app.store, &format!("delivery:{id}"))
            .await
            .expect("delivery job exists")
    }

    /// Waits until delivery `id` satisfies `check`, and returns it.
    pub async fn delivery_when(
        &self,
        id: i64,
        what: &str,
        check: impl Fn(&DeliveryRow) -> bool,
    ) -> DeliveryRow {
        eventually(what, || async {
            let row = self.delivery(id).await;
            check(&row).then_some(row)
        })
        .await
    }

    /// Waits until delivery `id`'s job satisfies `check` (the worker records
    /// a job's outcome just after the delivery's), and returns it.
    pub async fn delivery_job_when(
        &self,
        id: i64,
        what: &str,
        check: impl Fn(&JobRow) -> bool,
    ) -> JobRow {
        eventually(what, || async {
            let row = self.delivery_job(id).await;
            check(&row).then_some(row)
        })
        .await
    }

    /// Makes delivery `id`'s job due now (skipping its back-off).
    pub async fn make_due(&self, id: i64) {
        sqlx::query("UPDATE jobs SET run_at = 0 WHERE idempotency_key = $1")
            .bind(format!("delivery:{id}"))
            .execute(self.app.store.write())
            .await
            .expect("make due");
        self.app.jobs_wakeup.notify_one();
    }
}
