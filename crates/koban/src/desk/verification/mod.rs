//! Verified account actions. The identity check is a record, not a text:
//! an agent starts one on a ticket, and only a check the server itself
//! made marks it passed, by one of three methods:
//! - a code sent to the account's verified contact, read back ([`code`]);
//! - the account's authenticator or recovery code, entered by the
//!   requester on a page a link sent to them leads to ([`second_factor`]);
//! - for the owner who lost everything, answers the agent records and a
//!   supervisor other than that agent approves ([`documented`]).
//!
//! Support's account actions (unlock, reset 2FA, remove a device, end
//! sessions) then need a passed verification of that account, on that
//! ticket, not older than [`VALID_MS`].

pub mod account_api;
pub mod api;
pub mod code;
pub mod documented;
pub mod pages;
pub mod second_factor;

pub use code::{check, start, Started};

use crate::accounts::sessions::Current;
use crate::accounts::{store as accounts_store, Account};
use crate::desk::error::DeskError;
use crate::desk::store::{self, TicketRow, VerificationRow};
use crate::security::recovery::{self, SupportAction};
use crate::state::App;
use crate::store::{now_ms, StoreError};
use koban_policy::contact::{parse_email, parse_phone, Contact};
use sqlx::{Any, Transaction};

/// How long a passed verification allows account actions.
pub const VALID_MS: i64 = 30 * 60_000;

/// The account the ticket is about: the requester's own, or the one whose
/// verified contact is the ticket's contact (only a candidate until the
/// code proves it).
pub(super) async fn account_of(
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

/// Marks `verification` passed: the ticket then carries that account's
/// security context, and the event says who saw it pass (`actor`) and, for
/// documented answers, who approved them. False when it was no longer
/// pending (checked twice at once: only one passes it).
pub(super) async fn mark_passed(
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
    verification: &VerificationRow,
    actor: Option<i64>,
    approved_by: Option<i64>,
    now: i64,
) -> Result<bool, StoreError> {
    if !store::pass_verification(tx, verification.id, approved_by, now).await? {
        return Ok(false);
    }
    store::set_security_account(tx, ticket.id, verification.account_id).await?;
    store::insert_event(
        tx,
        ticket.id,
        actor,
        "verification_passed",
        &serde_json::json!({ "verification": verification.id, "method": verification.method }),
        now,
    )
    .await?;
    Ok(true)
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
    let how = match verification.method.as_str() {
        "code" => format!(
            "code to {}",
            koban_policy::contact::parse_identifier(&verification.destination, None)
                .map(|c| c.masked())
                .unwrap_or_default()
        ),
        "documented" => format!(
            "documented answers approved by account {}",
            verification.decided_by.unwrap_or_default()
        ),
        other => other.replace('_', " "),
    };
    let reference = format!(
        "ticket {} verification {} ({how})",
        ticket.reference, verification.id,
    );
    // The account action, its audit record and the ticket's event commit
    // together: the ticket never shows an action that did not happen.
    let mut change = app.store.change().await?;
    recovery::perform_in(
        app,
        &mut change,
        agent,
        account_id,
        &action,
        &reference,
        reason,
        ip,
    )
    .await?;
    store::insert_event(
        &mut change.tx,
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
    // The same action in the platform's tamper-evident chain, in the same
    // change: no entry without the action, no action without the entry.
    let target = format!("account:{account_id}");
    let actor = format!("account:{}", agent.account.id);
    let details = serde_json::json!({
        "ticket": ticket.reference,
        "verification": verification.id,
        "reason": reason,
        "ip": ip,
        "device_id": match action { SupportAction::RemoveDevice(id) => Some(id), _ => None },
    });
    crate::audit::append_in(
        &app.store,
        &mut change,
        crate::audit::PLATFORM,
        now,
        &[crate::audit::Record {
            actor: &actor,
            action: action.name(),
            target: &target,
            details: &details,
        }],
    )
    .await
    .map_err(|e| match e {
        crate::audit::AuditError::Store(e) => DeskError::from(e),
        crate::audit::AuditError::BadScope(s) => {
            DeskError::from(crate::store::StoreError::Unavailable(s))
        }
    })?;
    change.commit().await?;
    recovery::after_commit(app, &action);
    Ok(())
}
