//! SQL for support's account operations.

use crate::store::now_ms;
use sqlx::{Any, Transaction};

/// Records in the audit log what an agent did to an account.
pub async fn audit(
    tx: &mut Transaction<'_, Any>,
    actor_account_id: i64,
    action: &str,
    subject_account_id: i64,
    detail: &str,
    ip: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO audit_log (at, actor_account_id, action, subject_account_id, detail, ip) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(now_ms())
        .bind(actor_account_id)
        .bind(action)
        .bind(subject_account_id)
        .bind(detail)
        .bind(ip)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
