//! Verified account actions. The identity check is a record, not a text:
//! an agent starts one on a ticket, the server sends a code to the
//! account's verified contact, and only the code read back marks it passed.
//! Support's account actions (unlock, reset 2FA, remove a device, end
//! sessions) then need a passed verification of that account, on that
//! ticket, not older than [`VALID_MS`].

use super::error::DeskError;
use super::store::{self, TicketRow};
use crate::accounts::codes::{self, Purpose};
use crate::accounts::sessions::Current;
use crate::accounts::{store as accounts_store, Account};
use crate::security::recovery::{self, SupportAction};
use crate::security::signin::verified_contacts;
use crate::state::App;
use crate::store::now_ms;
use crate::web::i18n::Lang;
use koban_policy::contact::{parse_email, parse_phone, Contact};

/// How long a passed verification allows account actions.
pub const VALID_MS: i64 = 30 * 60_000;

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

/// The account the ticket is about: the requester's own, or the one whose
/// verified contact is the ticket's contact (only a candidate until the
/// code proves it).
async fn account_of(
    app: &App,
    ticket: &TicketRow,
) -> Result<(Account, Option<Contact>), DeskError> {
    if let Some(id) = ticket.requester_account_id {
        let account = accounts_store::find_by_id(app.store.read(), id)
            .await
            .map_err(|e| DeskError::Store(e.into()))?
            .ok_or(DeskError::NoAccount)?;
        return Ok((account, None));
    }
    let contact_id = ticket.requester_contact_id.ok_or(DeskError::NoAccount)?;
    let (email, phone) = store::contact(app.store.read(), contact_id)
        .await?
        .ok_or(DeskError::NoAccount)?;
    let contact = match (email, phone) {
        (Some(email), _) => parse_email(&email).ok(),
        (None, Some(phone)) => parse_phone(&phone, None).ok(),
        _ => None,
    }
    .ok_or(DeskError::NoAccount)?;
    let (account, _) = accounts_store::find_with_hash(app.store.read(), &contact)
        .await
        .map_err(|e| DeskError::Store(e.into()))?
        .ok_or(DeskError::NoAccount)?;
    Ok((account, Some(contact)))
}

/// The account the ticket is about, if one is known or matches its contact.
pub async fn candidate(app: &App, ticket: &TicketRow) -> Result<Option<i64>, DeskError> {
    match account_of(app, ticket).await {
        Ok((account, _)) => Ok(Some(account.id)),
        Err(DeskError::NoAccount) => Ok(None),
        Err(other) => Err(other),
    }
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
        ticket.id,
        account.id,
        agent.account.id,
        contact.as_str(),
        now,
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
    if !store::pass_verification(&mut tx, id, now).await? {
        return Err(DeskError::field("code", "ceremony_used"));
    }
    store::set_security_account(&mut tx, ticket.id, verification.account_id).await?;
    if let Some(contact_id) = ticket.requester_contact_id {
        if let Some((email, phone)) = store::contact(&mut *tx, contact_id).await? {
            if email.as_deref() == Some(verification.destination.as_str())
                || phone.as_deref() == Some(verification.destination.as_str())
            {
                store::link_contact(&mut tx, contact_id, verification.account_id).await?;
            }
        }
    }
    store::insert_event(
        &mut tx,
        ticket.id,
        Some(agent.account.id),
        "verification_passed",
        &serde_json::json!({ "verification": id }),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Performs a support action on the account the ticket's passed
/// verification proved, and records it on the ticket.
pub async fn act(
    app: &App,
    agent: &Current,
    ticket: &TicketRow,
    action: SupportAction,
    reason: &str,
    ip: &str,
) -> Result<(), DeskError> {
    let (security_account, _) = store::security_of(app.store.read(), ticket.id).await?;
    let account_id = security_account.ok_or(DeskError::VerificationRequired)?;
    let now = now_ms();
    let verification =
        store::passed_verification(app.store.read(), ticket.id, account_id, now - VALID_MS)
            .await?
            .ok_or(DeskError::VerificationRequired)?;
    let reference = format!(
        "ticket {} verification {} (code to {})",
        ticket.reference,
        verification.id,
        koban_policy::contact::parse_identifier(&verification.destination, None)
            .map(|c| c.masked())
            .unwrap_or_default()
    );
    recovery::perform(
        app,
        agent,
        account_id,
        action.clone(),
        &reference,
        reason,
        ip,
    )
    .await?;
    let mut tx = app.store.write().begin().await?;
    store::insert_event(
        &mut tx,
        ticket.id,
        Some(agent.account.id),
        "account_action",
        &serde_json::json!({
            "action": action.name(),
            "account": account_id,
            "verification": verification.id,
            "reason": reason,
        }),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
