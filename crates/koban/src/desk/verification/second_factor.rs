//! Verification by the account's own second factor. The agent sends the
//! requester a link (through the ticket's channel); on the page it opens,
//! the requester answers with the account's authenticator code or one of
//! its recovery codes. The link only says where to answer: what proves
//! the owner is the factor, checked by the security center with its own
//! counter and lock, so a link that reached the wrong person proves
//! nothing.

use super::{account_of, mark_passed};
use crate::accounts::codes::Purpose;
use crate::accounts::sessions::Current;
use crate::desk::error::DeskError;
use crate::desk::store::{self, NewVerification, TicketRow};
use crate::security::totp;
use crate::state::App;
use crate::store::now_ms;

/// How long the link can be answered.
pub const LINK_TTL_MS: i64 = 30 * 60_000;
const LINK_PURPOSE: &str = "desk-verification-link";

/// A verification link just sent.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct LinkSent {
    pub id: i64,
    /// Where the link went, masked.
    pub sent_to: String,
    pub expires_in_seconds: i64,
}

/// The stored form of a link's token: a keyed hash, so the table alone
/// opens no link.
fn token_hash(app: &App, token: &str) -> String {
    app.key.keyed_hash(LINK_PURPOSE, token.as_bytes())
}

/// Sends the requester a link to answer with the account's second factor.
/// Refused for an account with neither an authenticator nor recovery
/// codes: there is nothing to answer with.
pub async fn start(app: &App, agent: &Current, ticket: &TicketRow) -> Result<LinkSent, DeskError> {
    let (account, _) = account_of(app, ticket).await?;
    let factors = totp::factors(app, account.id).await?;
    if !factors.totp && totp::recovery_codes_left(app, account.id).await? == 0 {
        return Err(DeskError::NoSecondFactor);
    }
    let token = crate::crypto::random_token(32);
    let link = format!("{}/support/verify/{token}", app.config.public_base());
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    let hash = token_hash(app, &token);
    let id = store::insert_verification(
        &mut tx,
        NewVerification {
            ticket_id: ticket.id,
            account_id: account.id,
            agent_id: agent.account.id,
            method: "second_factor",
            destination: "link",
            link_token_hash: Some(&hash),
            expires_at: Some(now + LINK_TTL_MS),
            answers_sealed: None,
            now,
        },
    )
    .await?;
    let sent_to = crate::desk::tickets::notify::verification_link(app, &mut tx, ticket, &link)
        .await?
        .ok_or(DeskError::Unreachable)?;
    store::insert_event(
        &mut tx,
        ticket.id,
        Some(agent.account.id),
        "verification_started",
        &serde_json::json!({ "verification": id, "method": "second_factor", "destination": sent_to }),
        now,
    )
    .await?;
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(LinkSent {
        id,
        sent_to,
        expires_in_seconds: LINK_TTL_MS / 1000,
    })
}

/// The pending verification a link opens, if it is still open.
pub async fn pending(app: &App, token: &str) -> Result<Option<store::VerificationRow>, DeskError> {
    // A token of another shape cannot be one we made: no lookup.
    if token.len() > 128
        || !token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Ok(None);
    }
    let found = store::verification_by_link(app.store.read(), &token_hash(app, token)).await?;
    let now = now_ms();
    Ok(found.filter(|v| v.status == "pending" && v.expires_at.is_some_and(|at| at > now)))
}

/// Checks the requester's answer (`totp` or `recovery_code`) on the link's
/// page; the verification passes only if the factor is right.
pub async fn answer(app: &App, token: &str, method: &str, answer: &str) -> Result<(), DeskError> {
    if !matches!(method, "totp" | "recovery_code") {
        return Err(DeskError::field("method", "invalid_value"));
    }
    let verification = pending(app, token).await?.ok_or(DeskError::NotFound)?;
    // The security center counts wrong answers and locks the second factor
    // as it does at sign-in, so the link gives no extra guesses.
    totp::prove(
        app,
        verification.account_id,
        method,
        answer,
        Purpose::SupportVerification,
        None,
    )
    .await?;
    let ticket = store::ticket_by_id(app.store.read(), verification.ticket_id)
        .await?
        .ok_or(DeskError::NotFound)?;
    let mut tx = app.store.write().begin().await?;
    if !mark_passed(&mut tx, &ticket, &verification, None, None, now_ms()).await? {
        return Err(DeskError::NotFound);
    }
    tx.commit().await?;
    Ok(())
}
