//! The life of one mailbox's task: wait for the lease, connect, select,
//! take what is new, then wait for more (IDLE, or polling), renewing the
//! lease; on any failure, back off and connect again; on shutdown, leave
//! IDLE, sign out and give the lease up.

use super::connect::{self, Session};
use super::lease::{self, Held};
use super::poll::{self, Failure, Pass};
use super::store::{self, Progress};
use super::Imap;
use crate::state::App;
use crate::store::now_ms;
use async_imap::extensions::idle::IdleResponse;
use koban_policy::mail::imap::{backoff_ms, resume};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};

/// RFC 2177 asks clients to leave and renew IDLE within 29 minutes; the
/// mailbox is selected again each time, so a mailbox recreated under an
/// idle session without a word from the server is found within this.
const REIDLE: Duration = Duration::from_secs(5 * 60);

/// How a session ended.
enum End {
    Stopped,
    LeaseLost,
    Failed(String),
}

/// Whether to stop: asked to, or the signal's sender is gone.
fn stopping(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

/// Waits `wait`, or less if the stop signal comes.
async fn pause(stop: &mut watch::Receiver<bool>, wait: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(wait) => {}
        _ = stop.changed() => {}
    }
}

/// Polls `mailbox` until the stop signal.
pub async fn run(app: Arc<App>, mailbox: String, mut stop: watch::Receiver<bool>) {
    let Some(imap) = super::part(&app) else {
        return;
    };
    let key = imap.key(&mailbox);
    let mut failures = 0u32;
    while !stopping(&stop) {
        match lease::take(&app, imap, &key).await {
            Ok(true) => {}
            Ok(false) => {
                imap.update(&mailbox, |s| {
                    s.standing_by = true;
                    s.polling = false;
                });
                pause(&mut stop, lease::renew_every(imap)).await;
                continue;
            }
            Err(error) => {
                tracing::error!(mailbox = %key, %error, "the IMAP lease cannot be read");
                failures += 1;
                back_off(imap, &mailbox, &mut stop, failures).await;
                continue;
            }
        }
        imap.update(&mailbox, |s| s.standing_by = false);
        let held = Held::new(&app, imap, &key);
        let end = session(&app, imap, &mailbox, &key, held, &mut stop, &mut failures).await;
        imap.update(&mailbox, |s| s.polling = false);
        match end {
            End::Stopped => break,
            End::LeaseLost => {
                tracing::info!(mailbox = %key, "another node polls this IMAP mailbox now");
            }
            End::Failed(error) => {
                failures += 1;
                tracing::error!(mailbox = %key, failures, %error, "IMAP polling failed; connecting again after a pause");
                imap.update(&mailbox, |s| {
                    s.failures = failures;
                    s.last_error = Some(error);
                });
                back_off(imap, &mailbox, &mut stop, failures).await;
            }
        }
    }
    let _ = store::release_lease(app.store.write(), &key, &imap.node).await;
}

async fn back_off(imap: &Imap, mailbox: &str, stop: &mut watch::Receiver<bool>, failures: u32) {
    let jitter = rand::thread_rng().gen_range(0..1000);
    let wait = backoff_ms(failures, imap.poll.as_millis() as i64, jitter);
    tracing::debug!(mailbox, wait_ms = wait, "IMAP back-off");
    pause(stop, Duration::from_millis(wait as u64)).await;
}

/// One connection: from signing in to its end.
async fn session(
    app: &App,
    imap: &Imap,
    mailbox: &str,
    key: &str,
    mut held: Held<'_>,
    stop: &mut watch::Receiver<bool>,
    failures: &mut u32,
) -> End {
    let session = match connect::sign_in(imap).await {
        Ok(session) => session,
        Err(error) => return End::Failed(error),
    };
    let (end, session) =
        selected(app, imap, mailbox, key, session, &mut held, stop, failures).await;
    if let (End::Stopped | End::LeaseLost, Some(mut session)) = (&end, session) {
        // IDLE already left: sign out politely.
        let _ = tokio::time::timeout(Duration::from_secs(5), session.logout()).await;
    }
    if let End::Stopped = end {
        held.release().await;
    }
    end
}

#[allow(clippy::too_many_arguments)]
async fn selected(
    app: &App,
    imap: &Imap,
    mailbox: &str,
    key: &str,
    mut session: Session,
    held: &mut Held<'_>,
    stop: &mut watch::Receiver<bool>,
    failures: &mut u32,
) -> (End, Option<Session>) {
    let (idle, validity, after) = match prepare(app, imap, mailbox, key, &mut session).await {
        Ok(ready) => ready,
        Err(end) => return (end, Some(session)),
    };
    let mut pass = Pass {
        app,
        imap,
        mailbox,
        key,
        validity,
    };
    let mut after = after;
    loop {
        match poll::pass(&pass, &mut session, held, after).await {
            Ok(last) => after = last,
            Err(Failure::LeaseLost) => return (End::LeaseLost, Some(session)),
            Err(Failure::Imap(e)) | Err(Failure::Store(e)) => return (End::Failed(e), None),
        }
        if *failures > 0 {
            *failures = 0;
            imap.update(mailbox, |s| {
                s.failures = 0;
                s.last_error = None;
            });
        }
        let woke = if idle {
            idle_wait(session, held, stop).await
        } else {
            poll_wait(imap, &mut session, held, stop)
                .await
                .map(|held| (session, held))
        };
        session = match woke {
            Ok((session, true)) => session,
            Ok((session, false)) => return (End::LeaseLost, Some(session)),
            Err(e) => return (End::Failed(e), None),
        };
        if stopping(stop) {
            return (End::Stopped, Some(session));
        }
        // Selected again after each wait: a mailbox deleted and created
        // anew under this session (a new UIDVALIDITY) is never announced
        // to it, and its new mail would be waited for in the old one.
        match select(app, imap, mailbox, key, &mut session).await {
            Ok((validity, resume_after)) => {
                if validity != pass.validity {
                    after = resume_after;
                }
                pass.validity = validity;
            }
            Err(end) => return (end, Some(session)),
        }
    }
}

/// After signing in: whether the server has IDLE, and the mailbox selected
/// with its UIDVALIDITY and the UID to resume after.
async fn prepare(
    app: &App,
    imap: &Imap,
    mailbox: &str,
    key: &str,
    session: &mut Session,
) -> Result<(bool, u32, u32), End> {
    let idle = match tokio::time::timeout(poll::COMMAND_TIMEOUT, session.capabilities()).await {
        Ok(Ok(caps)) => caps.has_str("IDLE"),
        Ok(Err(e)) => return Err(End::Failed(format!("CAPABILITY failed: {e}"))),
        Err(_) => return Err(End::Failed("CAPABILITY timed out".into())),
    };
    let (validity, after) = select(app, imap, mailbox, key, session).await?;
    imap.update(mailbox, |s| {
        s.polling = true;
        s.idle = idle;
    });
    Ok((idle, validity, after))
}

/// Selects the mailbox; its UIDVALIDITY and the UID to resume after (0
/// when the UIDVALIDITY is not the one recorded, which is recorded now).
async fn select(
    app: &App,
    imap: &Imap,
    mailbox: &str,
    key: &str,
    session: &mut Session,
) -> Result<(u32, u32), End> {
    // The name as the configuration has it (`サポート`), as the wire wants it.
    let wire = koban_policy::mail::imap::mailbox_name_utf7(mailbox);
    let selected = match tokio::time::timeout(poll::COMMAND_TIMEOUT, session.select(&wire)).await {
        Ok(Ok(selected)) => selected,
        Ok(Err(e)) => {
            return Err(End::Failed(format!(
            "email_imap_mailboxes: the server has no mailbox `{mailbox}` that `{}` may read ({e})",
            imap.user
        )))
        }
        Err(_) => return Err(End::Failed("SELECT timed out".into())),
    };
    let validity = selected.uid_validity.unwrap_or(0);
    let stored = store::progress(app.store.read(), key)
        .await
        .map_err(|e| End::Failed(format!("the IMAP progress cannot be read: {e}")))?;
    let start = resume(
        stored.map(|p| (p.uid_validity, p.last_uid)),
        validity,
        imap.first_poll,
        selected.uid_next,
    );
    if start.validity_changed {
        tracing::warn!(
            mailbox = %key,
            before = stored.map(|p| p.uid_validity).unwrap_or(0),
            now = validity,
            "the IMAP mailbox's UIDVALIDITY changed: it is read again whole; mails taken before are recognised by their Message-ID"
        );
    }
    if stored.map(|p| p.uid_validity) != Some(validity) {
        let progress = Progress {
            uid_validity: validity,
            last_uid: start.after_uid,
        };
        match store::record(app.store.write(), key, &imap.node, progress, now_ms()).await {
            Ok(true) => {}
            Ok(false) => return Err(End::LeaseLost),
            Err(e) => {
                return Err(End::Failed(format!(
                    "the IMAP progress cannot be written: {e}"
                )))
            }
        }
    }
    Ok((validity, start.after_uid))
}

/// Waits for news without IDLE: `email_imap_poll_seconds`, renewing the
/// lease meanwhile, then a NOOP so the server looks at the mailbox again.
async fn poll_wait(
    imap: &Imap,
    session: &mut Session,
    held: &mut Held<'_>,
    stop: &mut watch::Receiver<bool>,
) -> Result<bool, String> {
    let deadline = Instant::now() + imap.poll;
    loop {
        tokio::select! {
            _ = sleep_until(deadline) => break,
            _ = stop.changed() => return Ok(true),
            _ = sleep_until(held.renew_at()) => {
                if !held.renew_if_due().await.map_err(|e| e.to_string())? {
                    return Ok(false);
                }
            }
        }
    }
    match tokio::time::timeout(poll::COMMAND_TIMEOUT, session.noop()).await {
        Ok(Ok(())) => Ok(true),
        Ok(Err(e)) => Err(format!("NOOP failed: {e}")),
        Err(_) => Err("NOOP timed out".into()),
    }
}

/// Waits in IDLE until the server says something changed, [`REIDLE`]
/// passes or the stop signal comes, renewing the lease meanwhile; false
/// when the lease was lost.
async fn idle_wait(
    session: Session,
    held: &mut Held<'_>,
    stop: &mut watch::Receiver<bool>,
) -> Result<(Session, bool), String> {
    // The session moves into IDLE and comes back with DONE.
    let mut handle = session.idle();
    match tokio::time::timeout(poll::COMMAND_TIMEOUT, handle.init()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("IDLE failed: {e}")),
        Err(_) => return Err("IDLE timed out".into()),
    }
    let deadline = Instant::now() + REIDLE;
    let mut held_still = true;
    let outcome = {
        let (wait, interrupt) = handle.wait_with_timeout(REIDLE);
        tokio::pin!(wait);
        let mut interrupt = Some(interrupt);
        loop {
            tokio::select! {
                done = &mut wait => break done,
                _ = sleep_until(deadline), if interrupt.is_some() => { interrupt = None; }
                _ = stop.changed(), if interrupt.is_some() => { interrupt = None; }
                _ = sleep_until(held.renew_at()), if interrupt.is_some() => {
                    match held.renew_if_due().await {
                        Ok(true) => {}
                        Ok(false) => { held_still = false; interrupt = None; }
                        Err(e) => {
                            tracing::warn!(error = %e, "the IMAP lease could not be renewed; leaving IDLE");
                            interrupt = None;
                        }
                    }
                }
            }
        }
    };
    match outcome {
        Ok(IdleResponse::NewData(_) | IdleResponse::Timeout | IdleResponse::ManualInterrupt) => {}
        Err(e) => return Err(format!("IDLE failed: {e}")),
    }
    match tokio::time::timeout(poll::COMMAND_TIMEOUT, handle.done()).await {
        Ok(Ok(back)) => Ok((back, held_still)),
        Ok(Err(e)) => Err(format!("leaving IDLE failed: {e}")),
        Err(_) => Err("leaving IDLE timed out".into()),
    }
}
