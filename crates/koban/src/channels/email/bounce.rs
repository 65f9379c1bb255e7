//! A bounce of a mail Koban sent: the delivery it returns is marked (a
//! permanent failure fails it and marks the address as bouncing), and the
//! ticket the mail was about shows the agent that the requester did not
//! get it. A bounce that names no
//! mail of Koban's, or another address than the one it was sent to (a
//! forgery), changes nothing.

use super::store::Stored;
use super::EmailError;
use crate::state::App;
use crate::store::now_ms;

/// How much of a bounce is read: the report and the returned headers come
/// first; a returned copy of a large mail need not be read whole.
const READ_BYTES: usize = 256 * 1024;

/// Records what bounce `stored` says; the ticket it concerns, if any.
pub async fn record(app: &App, stored: &Stored) -> Result<Option<i64>, EmailError> {
    let Ok(raw) = super::ingest::raw_of(app, stored).await? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&raw[..raw.len().min(READ_BYTES)]);
    let bounce = koban_policy::mail::bounce::read(&text);
    let (Some(delivery), Some(message_id)) = (bounce.delivery_id, bounce.message_id.clone()) else {
        return Ok(None);
    };
    let recorded = crate::delivery::record_bounce(
        app,
        delivery,
        &crate::delivery::Bounced {
            recipient: bounce.recipient.as_deref(),
            status: bounce.status.as_deref(),
            diagnostic: bounce.diagnostic.as_deref(),
            permanent: bounce.permanent(),
        },
    )
    .await?;
    if !recorded {
        return Ok(None);
    }
    let tickets = crate::desk::store::channel_messages::tickets_of(
        app.store.read(),
        "email",
        std::slice::from_ref(&message_id),
    )
    .await?;
    let Some(&(_, ticket)) = tickets.first() else {
        return Ok(None);
    };
    let mut tx = app.store.write().begin().await?;
    crate::desk::store::insert_event(
        &mut tx,
        ticket,
        None,
        "email_bounced",
        &serde_json::json!({
            "recipient": bounce.recipient,
            "status": bounce.status,
            "diagnostic": bounce.diagnostic,
            "permanent": bounce.permanent(),
        }),
        now_ms(),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(ticket))
}
