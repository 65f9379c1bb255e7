//! Verification by documented answers, for the owner who lost every
//! factor: the agent records what the requester answered (account details
//! only the owner knows, the documents they showed) and a supervisor other
//! than that agent approves or rejects it. Four eyes, because nothing but
//! judgement stands behind this path.

use super::{account_of, mark_passed};
use crate::accounts::sessions::Current;
use crate::accounts::store as accounts_store;
use crate::desk::error::DeskError;
use crate::desk::store::{self, NewVerification, TicketRow};
use crate::state::App;
use crate::store::now_ms;

/// The most characters of recorded answers.
pub const MAX_ANSWERS_CHARS: usize = 4000;
/// The most characters of a decision's note.
pub const MAX_NOTE_CHARS: usize = 500;
/// The answers are sealed at rest with the server key under this purpose.
pub const ANSWERS_PURPOSE: &str = "desk-documented-answers";

fn checked_text(field: &str, text: &str, max: usize, required: bool) -> Result<String, DeskError> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err(DeskError::field(field, "required"));
    }
    if text.chars().count() > max {
        return Err(DeskError::field(field, "too_long"));
    }
    if let Err(problem) = koban_policy::text::check_visible(text, true) {
        return Err(DeskError::field(field, problem.code()));
    }
    Ok(text.to_string())
}

/// Records the requester's answers for a supervisor to judge. `account`
/// names the account by its email or phone when the ticket's requester
/// cannot be matched to it (they lost the contact too).
pub async fn start(
    app: &App,
    agent: &Current,
    ticket: &TicketRow,
    answers: &str,
    account: Option<&str>,
) -> Result<i64, DeskError> {
    let answers = checked_text("answers", answers, MAX_ANSWERS_CHARS, true)?;
    let account_id = match account.map(str::trim).filter(|a| !a.is_empty()) {
        Some(identifier) => {
            let contact = koban_policy::contact::parse_identifier(identifier, None)
                .map_err(|_| DeskError::field("account", "invalid_value"))?;
            accounts_store::find_with_hash(app.store.read(), &contact)
                .await
                .map_err(|e| DeskError::Store(e.into()))?
                .ok_or(DeskError::NoAccount)?
                .0
                .id
        }
        None => account_of(app, ticket).await?.0.id,
    };
    let now = now_ms();
    let sealed = app.key.seal(ANSWERS_PURPOSE, answers.as_bytes());
    let mut tx = app.store.write().begin().await?;
    let id = store::insert_verification(
        &mut tx,
        NewVerification {
            ticket_id: ticket.id,
            account_id,
            agent_id: agent.account.id,
            method: "documented",
            destination: "documented",
            link_token_hash: None,
            expires_at: None,
            answers_sealed: Some(sealed),
            now,
        },
    )
    .await?;
    store::insert_event(
        &mut tx,
        ticket.id,
        Some(agent.account.id),
        "verification_started",
        &serde_json::json!({ "verification": id, "method": "documented" }),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A supervisor's decision on documented answers. The agent who recorded
/// them cannot decide; a decision is made once.
pub async fn decide(
    app: &App,
    supervisor: &Current,
    ticket: &TicketRow,
    id: i64,
    approve: bool,
    note: &str,
) -> Result<(), DeskError> {
    if !supervisor.account.has_role("supervisor") {
        return Err(DeskError::Forbidden);
    }
    let note = checked_text("note", note, MAX_NOTE_CHARS, false)?;
    let verification = store::verification(app.store.read(), ticket.id, id)
        .await?
        .ok_or(DeskError::NotFound)?;
    if verification.method != "documented" {
        return Err(DeskError::field("id", "invalid_value"));
    }
    if verification.agent_id == supervisor.account.id {
        return Err(DeskError::OwnApproval);
    }
    if verification.status != "pending" {
        return Err(DeskError::Decided);
    }
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    let decided = if approve {
        mark_passed(
            &mut tx,
            ticket,
            &verification,
            Some(supervisor.account.id),
            Some(supervisor.account.id),
            now,
        )
        .await?
    } else {
        let failed = store::fail_verification(&mut tx, id, supervisor.account.id, now).await?;
        if failed {
            store::insert_event(
                &mut tx,
                ticket.id,
                Some(supervisor.account.id),
                "verification_rejected",
                &serde_json::json!({ "verification": id, "note": note }),
                now,
            )
            .await?;
        }
        failed
    };
    if !decided {
        return Err(DeskError::Decided);
    }
    if approve && !note.is_empty() {
        store::insert_event(
            &mut tx,
            ticket.id,
            Some(supervisor.account.id),
            "verification_note",
            &serde_json::json!({ "verification": id, "note": note }),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
