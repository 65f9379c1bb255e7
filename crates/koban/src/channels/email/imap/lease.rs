//! The lease a node holds on a mailbox while it polls it: taken and
//! renewed by one conditional statement (the rule is
//! `koban_policy::mail::imap::may_hold`), renewed three times per lease,
//! given up at shutdown. A node that lost it stops polling that mailbox;
//! should two ever overlap, every mail is still stored once (by its
//! Message-ID) and the UID is recorded only by the holder.

use super::store;
use super::Imap;
use crate::state::App;
use crate::store::{now_ms, StoreError};
use koban_policy::mail::imap::renew_every_ms;
use std::time::Duration;
use tokio::time::Instant;

/// A lease this node holds, and when to renew it.
pub struct Held<'a> {
    app: &'a App,
    imap: &'a Imap,
    key: &'a str,
    renew_at: Instant,
}

/// Takes or renews the lease of mailbox `key`; whether this node holds it.
pub async fn take(app: &App, imap: &Imap, key: &str) -> Result<bool, StoreError> {
    let now = now_ms();
    let until = now + imap.lease.as_millis() as i64;
    store::take_lease(app.store.write(), key, &imap.node, now, until).await
}

/// How often a lease is renewed.
pub fn renew_every(imap: &Imap) -> Duration {
    Duration::from_millis(renew_every_ms(imap.lease.as_millis() as i64) as u64)
}

impl<'a> Held<'a> {
    /// The lease just taken.
    pub fn new(app: &'a App, imap: &'a Imap, key: &'a str) -> Held<'a> {
        Held {
            app,
            imap,
            key,
            renew_at: Instant::now() + renew_every(imap),
        }
    }

    /// When the next renewal is due.
    pub fn renew_at(&self) -> Instant {
        self.renew_at
    }

    /// Renews the lease if due; false when another node holds it now.
    pub async fn renew_if_due(&mut self) -> Result<bool, StoreError> {
        if Instant::now() < self.renew_at {
            return Ok(true);
        }
        let held = take(self.app, self.imap, self.key).await?;
        self.renew_at = Instant::now() + renew_every(self.imap);
        Ok(held)
    }

    /// Gives the lease up, so another node need not wait for it to expire.
    pub async fn release(self) {
        if let Err(error) =
            store::release_lease(self.app.store.write(), self.key, &self.imap.node).await
        {
            tracing::warn!(mailbox = self.key, %error, "the IMAP lease could not be given up; it expires by itself");
        }
    }
}
