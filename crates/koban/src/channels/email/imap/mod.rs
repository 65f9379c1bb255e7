//! IMAP polling (`email_imap_host`): the desk's mail read from an existing
//! mailbox, as an alternative to the SMTP listener. One task per mailbox
//! ([`mailbox`]) holds the mailbox's lease ([`lease`]), connects
//! ([`connect`]), takes every message above the last UID it recorded
//! ([`poll`]) through [`super::inbound::accept`], and waits for more with
//! IDLE where the server has it, else by polling. Messages are read with
//! `BODY.PEEK[]` and left where they are: the mailbox stays the user's.

mod connect;
mod lease;
mod mailbox;
mod poll;
pub mod store;

use crate::config::Config;
use crate::domain::Drain;
use crate::state::App;
use koban_policy::mail::imap::FirstPoll;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How security is set up on the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    Tls,
    StartTls,
    /// Plain text, password included: tests and a server on the same machine.
    None,
}

/// IMAP polling's settings and what each mailbox's task last did: a part
/// of the application.
pub struct Imap {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: String,
    password: String,
    pub mailboxes: Vec<String>,
    pub poll: Duration,
    pub lease: Duration,
    /// What a mailbox's first poll takes (`email_imap_start`).
    pub first_poll: FirstPoll,
    tls: Option<tokio_rustls::TlsConnector>,
    /// This process's name in the leases it holds.
    pub node: String,
    status: Mutex<HashMap<String, MailboxStatus>>,
}

/// What a mailbox's task is doing, for `/metrics` and the tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxStatus {
    /// Holds the lease and is connected.
    pub polling: bool,
    /// Another node holds the lease.
    pub standing_by: bool,
    /// Failures in a row (connecting, signing in, selecting, reading).
    pub failures: u32,
    /// The last failure, worded for an administrator.
    pub last_error: Option<String>,
    /// Mails stored, duplicates and oversized ones since start.
    pub stored: u64,
    pub duplicates: u64,
    pub too_large: u64,
    /// Whether the server offered IDLE on the last connection.
    pub idle: bool,
}

impl Imap {
    /// Reads the settings and the CA file; `None` when IMAP polling is off.
    pub fn from_config(config: &Config) -> Result<Option<Imap>, String> {
        let host = config.email_imap_host.trim();
        if host.is_empty() {
            return Ok(None);
        }
        let security = match config.email_imap_security.as_str() {
            "tls" => Security::Tls,
            "starttls" => Security::StartTls,
            "none" => Security::None,
            _ => return Err("email_imap_security: must be tls, starttls or none".into()),
        };
        let port = match (config.email_imap_port, security) {
            (0, Security::Tls) => 993,
            (0, _) => 143,
            (port, _) => port,
        };
        let tls = match security {
            Security::None => None,
            _ => Some(connect::tls_connector(&config.email_imap_tls_ca)?),
        };
        Ok(Some(Imap {
            host: host.to_string(),
            port,
            security,
            user: config.email_imap_user.trim().to_string(),
            password: config.email_imap_password.clone(),
            mailboxes: config.imap_mailboxes(),
            poll: Duration::from_secs(config.email_imap_poll_seconds.max(1)),
            lease: Duration::from_secs(config.email_imap_lease_seconds.max(3)),
            first_poll: match config.email_imap_start.as_str() {
                "new" => FirstPoll::New,
                _ => FirstPoll::All,
            },
            tls,
            node: format!(
                "{}-{}-{}",
                hostname(),
                std::process::id(),
                crate::crypto::random_token(6)
            ),
            status: Mutex::new(HashMap::new()),
        }))
    }

    /// The key of `mailbox` in the database: another account or server
    /// starts afresh rather than trusting UIDs that are not its own.
    pub fn key(&self, mailbox: &str) -> String {
        format!("{}@{}/{}", self.user, self.host, mailbox)
    }

    /// What the task of `mailbox` last reported.
    pub fn status(&self, mailbox: &str) -> MailboxStatus {
        self.status
            .lock()
            .map(|s| s.get(mailbox).cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    fn update(&self, mailbox: &str, change: impl FnOnce(&mut MailboxStatus)) {
        if let Ok(mut all) = self.status.lock() {
            change(all.entry(mailbox.to_string()).or_default());
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into())
}

/// Checks what [`Imap::from_config`] reads, before anything starts.
pub fn check(config: &Config) -> Result<(), String> {
    Imap::from_config(config).map(drop)
}

/// The part, when IMAP polling is on.
pub fn part(app: &App) -> Option<&Imap> {
    app.part::<Option<Imap>>().as_ref()
}

/// The background task: one task per mailbox until `stop`.
pub fn serve(app: Arc<App>, stop: watch::Receiver<bool>) -> Drain<'static> {
    Box::pin(async move {
        let Some(imap) = part(&app) else { return };
        tracing::info!(
            host = %imap.host, port = imap.port, mailboxes = ?imap.mailboxes,
            "IMAP polling is on"
        );
        let tasks: Vec<_> = imap
            .mailboxes
            .iter()
            .map(|m| tokio::spawn(mailbox::run(app.clone(), m.clone(), stop.clone())))
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    })
}

/// `/metrics` lines: per mailbox, whether it is polled here and its counts.
pub fn gauges(app: &App, out: &mut String) {
    let Some(imap) = part(app) else { return };
    out.push_str("# TYPE koban_email_imap_polling gauge\n");
    out.push_str("# TYPE koban_email_imap_failures gauge\n");
    out.push_str("# TYPE koban_email_imap_stored_total counter\n");
    for mailbox in &imap.mailboxes {
        let s = imap.status(mailbox);
        let label = mailbox.replace('\\', "\\\\").replace('"', "\\\"");
        out.push_str(&format!(
            "koban_email_imap_polling{{mailbox=\"{label}\"}} {}\n\
             koban_email_imap_failures{{mailbox=\"{label}\"}} {}\n\
             koban_email_imap_stored_total{{mailbox=\"{label}\"}} {}\n",
            u8::from(s.polling),
            s.failures,
            s.stored
        ));
    }
}
