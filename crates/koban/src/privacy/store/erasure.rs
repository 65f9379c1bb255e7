//! The erasure of an account's personal data across the domains' tables,
//! in the caller's transaction (docs/privacy.md has the table).

use crate::store::StoreError;
use sqlx::{Any, Row, Transaction};

/// The text an erased requester's messages are replaced with.
pub const ERASED_TEXT: &str = "[removed at the requester's request]";

/// Erases the account's personal data inside `tx` (docs/privacy.md says
/// what goes and what stays). The account row stays, emptied, because
/// tickets, audit entries and organizations refer to it by id.
pub async fn erase_account(
    tx: &mut Transaction<'_, Any>,
    account_id: i64,
    remove_requester_text: bool,
) -> Result<Vec<String>, StoreError> {
    let placeholder = format!("erased-{account_id}@erased.invalid");
    // Sign-in throttles are keyed by the contact itself: read it first.
    let contacts = sqlx::query("SELECT email, phone FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = contacts {
        for column in ["email", "phone"] {
            if let Some(contact) = row.try_get::<Option<String>, _>(column)? {
                sqlx::query("DELETE FROM send_throttle WHERE destination = $1")
                    .bind(contact)
                    .execute(&mut **tx)
                    .await?;
            }
        }
    }
    // accounts (accounts domain): contacts, password hash, second factor.
    sqlx::query(
        "UPDATE accounts SET email = $2, phone = NULL, email_verified_at = NULL,
             phone_verified_at = NULL, password_hash = '!erased', locale = NULL,
             status = 'disabled', totp_secret_sealed = NULL, totp_enabled_at = NULL,
             totp_last_step = NULL
         WHERE id = $1",
    )
    .bind(account_id)
    .bind(&placeholder)
    .execute(&mut **tx)
    .await?;
    // Sessions, codes, devices, history and factors (accounts and
    // security domains): nothing of them is kept.
    for table in [
        "sessions",
        "verification_codes",
        "devices",
        "login_attempts",
        "security_events",
        "recovery_codes",
        "passkeys",
        "webauthn_ceremonies",
        "sign_in_challenges",
        "security_reminders",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE account_id = $1"))
            .bind(account_id)
            .execute(&mut **tx)
            .await?;
    }
    // Delivery records (delivery domain) stay as counts of what was sent,
    // without where to or what.
    sqlx::query(
        "UPDATE deliveries SET destination = 'erased', body_sealed = NULL WHERE account_id = $1",
    )
    .bind(account_id)
    .execute(&mut **tx)
    .await?;
    // The desk's contacts proven to be this account, and its tickets: the
    // requester becomes the emptied account, the form's answers and the
    // security snapshot go.
    sqlx::query(
        "UPDATE desk_contacts SET email = 'erased-contact-' || CAST(id AS TEXT) || '@erased.invalid',
             phone = NULL, name = NULL
         WHERE account_id = $1",
    )
    .bind(account_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE desk_tickets SET fields = '{}', security_snapshot_sealed = NULL
         WHERE requester_account_id = $1",
    )
    .bind(account_id)
    .execute(&mut **tx)
    .await?;
    if remove_requester_text {
        sqlx::query(
            "UPDATE desk_messages SET body = $2, original_sealed = NULL
             WHERE author_kind = 'requester' AND (author_account_id = $1
                 OR ticket_id IN (SELECT id FROM desk_tickets WHERE requester_account_id = $1))",
        )
        .bind(account_id)
        .bind(ERASED_TEXT)
        .execute(&mut **tx)
        .await?;
    }
    erase_memberships(tx, account_id).await?;
    erase_attachments(tx, account_id, remove_requester_text).await
}

/// Organizations (enterprise domain): the person leaves every one, with
/// their onboarding acknowledgements and support subscriptions; the
/// invitations they accepted keep their history without the contact.
/// Access reviews keep their items, which name only the emptied account.
async fn erase_memberships(
    tx: &mut Transaction<'_, Any>,
    account_id: i64,
) -> Result<(), StoreError> {
    for table in [
        "org_onboarding_acks",
        "org_support_subscriptions",
        "org_members",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE account_id = $1"))
            .bind(account_id)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query(
        "UPDATE org_invites SET contact = 'erased-invite-' || CAST(id AS TEXT), display_name = ''
         WHERE account_id = $1",
    )
    .bind(account_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The files the person gave the desk (desk domain): uploads not attached
/// yet and identity documents on their tickets always, their other
/// attachments unless the operator keeps tickets whole. Returns the blobs
/// to release once committed, when no record names them any more.
async fn erase_attachments(
    tx: &mut Transaction<'_, Any>,
    account_id: i64,
    remove_attachments: bool,
) -> Result<Vec<String>, StoreError> {
    // Theirs: uploaded signed in, or on their own ticket with their own
    // message (a signed-out upload names no account).
    let theirs = "(uploader_account_id = $1
         OR (ticket_id IN (SELECT id FROM desk_tickets WHERE requester_account_id = $1)
             AND message_id IN (SELECT id FROM desk_messages WHERE author_kind = 'requester')))";
    let attachments = if remove_attachments {
        theirs.to_string()
    } else {
        format!("kind = 'identity_document' AND {theirs}")
    };
    let mut blobs = vec![];
    for (table, condition) in [
        ("desk_uploads", "uploader_account_id = $1"),
        ("desk_attachments", attachments.as_str()),
    ] {
        let rows = sqlx::query(&format!(
            "SELECT blob_key, thumbnail_key FROM {table} WHERE {condition}"
        ))
        .bind(account_id)
        .fetch_all(&mut **tx)
        .await?;
        for row in &rows {
            blobs.push(row.try_get::<String, _>("blob_key")?);
            blobs.extend(row.try_get::<Option<String>, _>("thumbnail_key")?);
        }
        sqlx::query(&format!("DELETE FROM {table} WHERE {condition}"))
            .bind(account_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(blobs)
}
