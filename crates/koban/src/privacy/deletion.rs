//! Deleting an account: asked for with a fresh step-up, then a grace
//! period during which signing in (or cancelling) keeps the account; after
//! it, a job erases the personal data (`store::erase_account`), records
//! the erasure in the platform's audit chain without any of it, and tells
//! the owner at the contact on file just before.

use super::store;
use super::PrivacyError;
use crate::accounts::sessions::Current;
use crate::accounts::store as accounts_store;
use crate::delivery::{self, Channel, Outgoing};
use crate::jobs::Job;
use crate::state::{App, JobFuture, JobKind};
use crate::store::now_ms;
use crate::web::i18n::{t, Lang};
use koban_policy::privacy::{self as rules, DeletionStep};
use std::sync::Arc;

/// The job that cancels requests whose owner signed in and erases the due.
pub const SWEEP: &str = "privacy_deletions";

/// Hourly: an account is erased within the hour after its grace period,
/// and a sign-in's cancellation is mailed within the hour (the pages and
/// the API show it at once).
pub const SWEEP_JOB: JobKind = JobKind {
    kind: SWEEP,
    round: None,
    every_ms: Some(crate::jobs::HOUR_MS),
    run: run_sweep,
};

/// A deletion request as its owner sees it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PrivacyDeletion {
    pub id: i64,
    /// `requested`, `cancelled` or `erased`.
    pub status: String,
    /// Milliseconds since the Unix epoch.
    pub requested_at: i64,
    /// When the account is erased unless its owner signs in first.
    pub erase_after: i64,
    pub cancelled_at: Option<i64>,
    /// `sign_in` (the owner signed in during the grace period) or `owner`.
    pub cancelled_by: Option<String>,
}

impl From<store::DeletionRow> for PrivacyDeletion {
    fn from(row: store::DeletionRow) -> PrivacyDeletion {
        PrivacyDeletion {
            id: row.id,
            status: row.status,
            requested_at: row.requested_at,
            erase_after: row.erase_after,
            cancelled_at: row.cancelled_at,
            cancelled_by: row.cancelled_by,
        }
    }
}

/// Asks for the account's deletion: needs a fresh step-up; refused while
/// one is pending (however close two requests come).
pub async fn request(app: &App, current: &Current) -> Result<PrivacyDeletion, PrivacyError> {
    crate::security::totp::require_step_up(current)?;
    let account_id = current.account.id;
    let now = now_ms();
    let erase_after = rules::erase_after(now, app.config.privacy_deletion_grace_days);
    let mut change = app.store.change().await?;
    let Some(_) = store::insert_deletion(&mut change.tx, account_id, now, erase_after).await?
    else {
        return Err(PrivacyError::AlreadyRequested);
    };
    let date = day_of(erase_after);
    notify(
        app,
        &mut change.tx,
        account_id,
        true,
        "privacy_deletion_scheduled",
        "privacy-mail-scheduled",
        &[("date", date)],
    )
    .await?;
    change.commit().await?;
    store::latest_deletion(app.store.write(), account_id)
        .await?
        .map(PrivacyDeletion::from)
        .ok_or(PrivacyError::NotFound)
}

/// The account's newest deletion request, once a sign-in since it has
/// been taken into account (it cancels a pending one).
pub async fn status(app: &App, account_id: i64) -> Result<Option<PrivacyDeletion>, PrivacyError> {
    if let Some(row) = store::latest_deletion(app.store.read(), account_id).await? {
        if row.status == "requested" {
            judge(app, &row).await?;
        } else {
            return Ok(Some(row.into()));
        }
    }
    Ok(store::latest_deletion(app.store.write(), account_id)
        .await?
        .map(PrivacyDeletion::from))
}

/// Cancels the pending request; a conflict when none is pending.
pub async fn cancel(app: &App, account_id: i64) -> Result<PrivacyDeletion, PrivacyError> {
    let row = store::latest_deletion(app.store.write(), account_id)
        .await?
        .filter(|r| r.status == "requested")
        .ok_or(PrivacyError::NothingPending)?;
    if !cancel_one(app, &row, "owner").await? {
        return Err(PrivacyError::NothingPending);
    }
    store::latest_deletion(app.store.write(), account_id)
        .await?
        .map(PrivacyDeletion::from)
        .ok_or(PrivacyError::NotFound)
}

/// Cancels `row` and tells the owner, in one change; false when it was no
/// longer pending.
async fn cancel_one(app: &App, row: &store::DeletionRow, by: &str) -> Result<bool, PrivacyError> {
    let mut change = app.store.change().await?;
    if !store::cancel_deletion(&mut change.tx, row.id, by, now_ms()).await? {
        return Ok(false);
    }
    let message = if by == "sign_in" {
        "privacy-mail-cancelled-sign-in"
    } else {
        "privacy-mail-cancelled"
    };
    notify(
        app,
        &mut change.tx,
        row.account_id,
        true,
        "privacy_deletion_cancelled",
        message,
        &[],
    )
    .await?;
    change.commit().await?;
    Ok(true)
}

/// Acts on one pending request as the rule says.
async fn judge(app: &App, row: &store::DeletionRow) -> Result<DeletionStep, PrivacyError> {
    let signed_in = store::last_sign_in(app.store.write(), row.account_id).await?;
    let step = rules::deletion_step(row.requested_at, row.erase_after, signed_in, now_ms());
    match step {
        DeletionStep::Wait => {}
        DeletionStep::CancelBySignIn => {
            cancel_one(app, row, "sign_in").await?;
        }
        DeletionStep::Erase => erase(app, row).await?,
    }
    Ok(step)
}

/// Erases the account of `row`: its exports' archives first (they hold
/// the same data), then every personal row in one change with the audit
/// entry and the last notice, which goes to the contact on file unlinked
/// from the account so the erasure does not blank it before it is sent.
async fn erase(app: &App, row: &store::DeletionRow) -> Result<(), PrivacyError> {
    for (_, blob) in store::archives_of(app.store.write(), row.account_id).await? {
        if let Ok(blob) = crate::blobs::BlobId::parse(&blob) {
            crate::desk::attachments::blobs(app)
                .delete(&blob)
                .await
                .map_err(|e| PrivacyError::Blob(e.to_string()))?;
        }
    }
    let now = now_ms();
    let mut change = app.store.change().await?;
    if !store::mark_erased(&mut change.tx, row.id, now).await? {
        return Ok(());
    }
    notify(
        app,
        &mut change.tx,
        row.account_id,
        false,
        "privacy_account_erased",
        "privacy-mail-erased",
        &[],
    )
    .await?;
    store::expire_exports_of(&mut change.tx, row.account_id).await?;
    let remove_text = rules::message_fate("requester", app.config.privacy_keep_ticket_text)
        == rules::MessageFate::Remove;
    let blobs = store::erase_account(&mut change.tx, row.account_id, remove_text).await?;
    let target = format!("account:{}", row.account_id);
    let details = serde_json::json!({
        "deletion": row.id,
        "requested_at": row.requested_at,
        "ticket_text_kept": !remove_text,
        "files_removed": blobs.len(),
    });
    crate::audit::append_in(
        &app.store,
        &mut change,
        crate::audit::PLATFORM,
        now,
        &[crate::audit::Record {
            actor: "system:privacy",
            action: "privacy.account_erased",
            target: &target,
            details: &details,
        }],
    )
    .await?;
    change.commit().await?;
    super::retention::release(app, &blobs).await
}

fn run_sweep<'a>(app: &'a Arc<App>, _job: &'a Job) -> JobFuture<'a> {
    Box::pin(async move { sweep(app).await.map(drop).map_err(|e| e.to_string()) })
}

/// Judges every pending request; how many accounts were erased.
pub async fn sweep(app: &App) -> Result<usize, PrivacyError> {
    let mut after = 0;
    let mut erased = 0;
    loop {
        let batch = store::pending_deletions(app.store.write(), after, 200).await?;
        let Some(last) = batch.last() else {
            return Ok(erased);
        };
        after = last.id;
        for row in &batch {
            if judge(app, row).await? == DeletionStep::Erase {
                erased += 1;
            }
        }
    }
}

/// `ms` as a UTC date, for mail.
fn day_of(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or_default()
        .strftime("%Y-%m-%d")
        .to_string()
}

/// Queues `<message>-subject`/`-body` to the account's verified email, or
/// else its verified phone, in its language; nothing when it has neither.
/// `linked`: whether the delivery record names the account.
async fn notify(
    app: &App,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account_id: i64,
    linked: bool,
    purpose: &str,
    message: &str,
    args: &[(&str, String)],
) -> Result<(), PrivacyError> {
    let Some(account) = accounts_store::find_by_id(&mut **tx, account_id).await? else {
        return Ok(());
    };
    let lang = account
        .locale
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(Lang::En);
    let (channel, destination) = match (&account.email, account.email_verified, &account.phone) {
        (Some(email), true, _) => (Channel::Email, email.clone()),
        (_, _, Some(phone)) if account.phone_verified => (Channel::Sms, phone.clone()),
        _ => return Ok(()),
    };
    delivery::queue(
        tx,
        &app.key,
        app.config.delivery_mode == "live",
        Outgoing {
            account_id: linked.then_some(account_id),
            purpose: purpose.to_string(),
            channel,
            destination,
            subject: t(lang, &format!("{message}-subject"), args),
            body: t(lang, &format!("{message}-body"), args),
            mail: None,
        },
    )
    .await?;
    Ok(())
}
