//! Addresses whose mail bounces. A bounce (read by the email channel)
//! fails the delivery it returns; a permanent one also marks the address,
//! so the desk warns the agent and holds its automatic notices there
//! instead of mailing a dead mailbox again (which is how a sender's name
//! goes bad with mail providers), until mail from the address shows it
//! works again. What is held is still written to the delivery log.

use super::{store, Outgoing};
use crate::state::App;
use crate::store::{now_ms, StoreError};
use sqlx::Any;

/// What a bounce says, as recorded.
#[derive(Debug, Clone)]
pub struct Bounced<'a> {
    /// The recipient the bounce names, lower-cased, if it names one.
    pub recipient: Option<&'a str>,
    /// The enhanced status code (`5.1.1`).
    pub status: Option<&'a str>,
    /// The remote server's words.
    pub diagnostic: Option<&'a str>,
    /// A 5.x.x status: the address will not take mail.
    pub permanent: bool,
}

/// Records that email delivery `id` bounced (see `store::record_bounce`);
/// a permanent bounce also marks the address it went to as bouncing
/// (see [`MailBounce`]). False when it names no mail Koban sent there.
pub async fn record_bounce(app: &App, id: i64, bounce: &Bounced<'_>) -> Result<bool, StoreError> {
    let error = format!(
        "bounced {}: {}",
        bounce.status.unwrap_or("?"),
        bounce.diagnostic.unwrap_or("")
    );
    let error: String = error.chars().take(1000).collect();
    let now = now_ms();
    let Some(address) = store::record_bounce(
        &app.store,
        id,
        bounce.recipient,
        &error,
        bounce.permanent,
        now,
    )
    .await?
    else {
        return Ok(false);
    };
    if bounce.permanent {
        let reason = bounce
            .diagnostic
            .or(bounce.status)
            .unwrap_or("undeliverable");
        let mark = MailBounce {
            address: address.to_ascii_lowercase(),
            bounced_at: now,
            status: bounce.status.map(str::to_string),
            reason: reason.chars().take(300).collect(),
            delivery_id: Some(id),
        };
        store::mark_bounced(&app.store, &mark).await?;
    }
    Ok(true)
}

/// An address whose mail came back for good (a permanent bounce): the
/// desk shows it to the agent and holds its automatic notices to it
/// (`koban_policy::mail::outbound::held_for_bounce`) until a mail from
/// the address shows it works again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct MailBounce {
    /// Lower-cased.
    pub address: String,
    /// Milliseconds since the Unix epoch.
    pub bounced_at: i64,
    /// The enhanced status code, `5.1.1`.
    pub status: Option<String>,
    /// The remote server's words (or the status when it gave none).
    pub reason: String,
    /// The delivery that bounced.
    pub delivery_id: Option<i64>,
}

/// The bounce mark of `address`, if it has one.
pub async fn bounce_of<'e, E>(executor: E, address: &str) -> Result<Option<MailBounce>, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    Ok(store::bounce_of(executor, &address.trim().to_ascii_lowercase()).await?)
}

/// Clears the bounce mark of `address`, which has just sent mail (so it
/// takes mail again); whether it had one. Read first: nearly every
/// address has none, and a read costs the writer nothing.
pub async fn clear_bounce(app: &App, address: &str) -> Result<bool, StoreError> {
    let address = address.trim().to_ascii_lowercase();
    if store::bounce_of(app.store.read(), &address)
        .await?
        .is_none()
    {
        return Ok(false);
    }
    Ok(store::clear_bounce(&app.store, &address).await?)
}

/// Records `message` in the delivery log as held back, never sent, with
/// `why`; its delivery id.
pub async fn record_held(
    conn: &mut sqlx::AnyConnection,
    message: &Outgoing,
    why: &str,
) -> Result<i64, StoreError> {
    let why: String = why.chars().take(1000).collect();
    Ok(store::insert_held(conn, message, &why, now_ms()).await?)
}
