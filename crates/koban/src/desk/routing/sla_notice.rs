//! Telling supervisors that a ticket's SLA is at risk or was breached: one
//! email each, in their own language, queued in the escalation's
//! transaction so it goes out exactly when the escalation commits.

use crate::delivery::{self, Channel, Outgoing};
use crate::desk::store::{self, TicketRow};
use crate::state::App;
use crate::store::StoreError;
use crate::web::i18n::{t, Lang};
use sqlx::{Any, Transaction};

/// The most supervisors one escalation emails.
const MAX_RECIPIENTS: i64 = 20;

/// Queues the notice; how many it went to.
pub async fn notify_supervisors(
    app: &App,
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
    metric: &str,
    breached: bool,
) -> Result<usize, StoreError> {
    let recipients = store::sla::supervisors(tx, MAX_RECIPIENTS).await?;
    let reference = crate::desk::tickets::api::formatted(&ticket.reference);
    let (subject_key, body_key) = if breached {
        ("desk-sla-breached-subject", "desk-sla-breached-body")
    } else {
        ("desk-sla-warning-subject", "desk-sla-warning-body")
    };
    for (account_id, email, locale) in &recipients {
        let lang = locale.as_deref().and_then(Lang::parse).unwrap_or(Lang::En);
        let metric_name = t(lang, &format!("desk-sla-metric-{metric}"), &[]);
        let args = [
            ("reference", reference.clone()),
            ("metric", metric_name),
            ("subject", ticket.subject.clone()),
        ];
        let message = Outgoing {
            account_id: Some(*account_id),
            purpose: "desk_sla".to_string(),
            channel: Channel::Email,
            destination: email.clone(),
            subject: t(lang, subject_key, &args),
            body: t(lang, body_key, &args),
            mail: None,
        };
        delivery::queue(tx, &app.key, app.config.delivery_mode == "live", message).await?;
    }
    if !recipients.is_empty() {
        app.jobs_wakeup.notify_one();
    }
    Ok(recipients.len())
}
