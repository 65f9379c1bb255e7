//! Verification by a code sent to the account's verified contact, which
//! the requester reads back to the agent.

use super::{account_of, mark_passed};
use crate::accounts::codes::{self, Purpose};
use crate::accounts::sessions::Current;
use crate::desk::error::DeskError;
use crate::desk::store::{self, NewVerification, TicketRow};
use crate::security::signin::verified_contacts;
use crate::state::App;
use crate::store::now_ms;
use crate::web::i18n::Lang;

/// A verification just started.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Started {
    pub id: i64,
    /// Where the code went, masked (`a***@example.com`).
    pub destination: String,
    pub expires_in_seconds: i64,
}

/// The binding of the code sent for verification `id`.
fn binding(id: i64) -> String {
    format!("desk_verification:{id}")
}

/// Starts a verification: a code to the account's verified contact (the
/// ticket's own contact when it is one of them).
pub async fn start(app: &App, agent: &Current, ticket: &TicketRow) -> Result<Started, DeskError> {
    let (account, named) = account_of(app, ticket).await?;
    let contacts = verified_contacts(&account);
    let contact = named
        .as_ref()
        .and_then(|n| contacts.iter().find(|c| *c == n))
        .or(contacts.first())
        .cloned()
        .ok_or(DeskError::NoAccount)?;
    codes::take_allowance(app, koban_policy::throttle::CODE_SENDS, contact.as_str()).await?;
    let lang = account
        .locale
        .as_deref()
        .and_then(Lang::parse)
        .or_else(|| Lang::parse(&ticket.language))
        .unwrap_or(Lang::En);
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    let id = store::insert_verification(
        &mut tx,
        NewVerification {
            ticket_id: ticket.id,
            account_id: account.id,
            agent_id: agent.account.id,
            method: "code",
            destination: contact.as_str(),
            link_token_hash: None,
            expires_at: None,
            answers_sealed: None,
            now,
        },
    )
    .await?;
    let bound = binding(id);
    codes::issue(
        app,
        &mut tx,
        account.id,
        Purpose::SupportVerification,
        Some(&bound),
        &contact,
        lang,
    )
    .await?;
    store::insert_event(
        &mut tx,
        ticket.id,
        Some(agent.account.id),
        "verification_started",
        &serde_json::json!({ "verification": id, "method": "code", "destination": contact.masked() }),
        now,
    )
    .await?;
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(Started {
        id,
        destination: contact.masked(),
        expires_in_seconds: koban_policy::throttle::CODE_TTL_MS / 1000,
    })
}

/// Checks the code the requester read back. Passed only when the code is
/// right; then the ticket carries that account's security context, and a
/// contact that received the code is linked to the account it proved.
pub async fn check(
    app: &App,
    agent: &Current,
    ticket: &TicketRow,
    id: i64,
    code: &str,
) -> Result<(), DeskError> {
    let verification = store::verification(app.store.read(), ticket.id, id)
        .await?
        .ok_or(DeskError::NotFound)?;
    if verification.method != "code" {
        return Err(DeskError::field("code", "invalid_value"));
    }
    if verification.status != "pending" {
        return Err(DeskError::field("code", "ceremony_used"));
    }
    codes::consume(
        app,
        verification.account_id,
        Purpose::SupportVerification,
        Some(&binding(id)),
        code,
    )
    .await?;
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    if !mark_passed(
        &mut tx,
        ticket,
        &verification,
        Some(agent.account.id),
        None,
        now,
    )
    .await?
    {
        return Err(DeskError::field("code", "ceremony_used"));
    }
    // The contact received the code, so it is proved to be the account's.
    if let Some(contact_id) = ticket.requester_contact_id {
        if let Some((email, phone)) = store::contact(&mut *tx, contact_id).await? {
            if email.as_deref() == Some(verification.destination.as_str())
                || phone.as_deref() == Some(verification.destination.as_str())
            {
                store::link_contact(&mut tx, contact_id, verification.account_id).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}
