//! The email channel. A mail arrives (the SMTP listener, or IMAP polling),
//! is stored raw before anything else happens ([`inbound`]), and a job
//! parses it ([`parse`]) and puts it on the ticket it belongs to or opens
//! one ([`ingest`], whose threading rules are in `koban_policy::mail`).
//! What the desk sends by mail carries the headers that bring replies back
//! to the same ticket.

pub mod api;
pub mod bounce;
mod error;
pub mod imap;
pub mod inbound;
pub mod ingest;
pub mod listener;
pub mod pages;
pub mod parse;
pub mod review;
pub mod store;

pub use error::EmailError;

use crate::config::Config;
use crate::domain::Domain;
use crate::state::App;
use crate::store::Migration;
use koban_policy::mail::threading::{split_recipient, StrangerPolicy};

/// One of the desk's inbound addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskAddress {
    /// Lower-cased.
    pub address: String,
    /// The team its mail goes to; `None`: routed as any ticket is.
    pub team: Option<String>,
}

/// The channel's settings, read once from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub addresses: Vec<DeskAddress>,
    pub unknown_sender: StrangerPolicy,
    /// Lower-cased authserv-ids whose `Authentication-Results` are believed.
    pub trusted_authserv_ids: Vec<String>,
}

/// A recipient the desk accepts mail for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub address: DeskAddress,
    /// The reply token of a ticket's own address (`support+<token>@…`).
    pub token: Option<String>,
}

impl Settings {
    /// Reads `email_*` settings; a malformed address list fails here, at start.
    pub fn from_config(config: &Config) -> Result<Settings, String> {
        let mut addresses = Vec::new();
        for entry in config.email_addresses.split(',').map(str::trim) {
            if entry.is_empty() {
                continue;
            }
            let (address, team) = match entry.split_once('=') {
                Some((a, t)) => (a.trim(), Some(t.trim().to_string())),
                None => (entry, None),
            };
            match split_recipient(address) {
                Some((base, None)) if koban_policy::contact::parse_email(&base).is_ok() => {
                    addresses.push(DeskAddress {
                        address: base,
                        team: team.filter(|t| !t.is_empty()),
                    })
                }
                _ => {
                    return Err(format!(
                        "email_addresses: `{address}` is not a plain address (no `+`)"
                    ))
                }
            }
        }
        Ok(Settings {
            addresses,
            unknown_sender: StrangerPolicy::parse(&config.email_unknown_sender)
                .ok_or("email_unknown_sender: must be new_ticket or review")?,
            trusted_authserv_ids: config
                .email_trusted_authserv_ids
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
        })
    }

    /// Whether the desk takes mail at all.
    pub fn enabled(&self) -> bool {
        !self.addresses.is_empty()
    }

    /// The desk's address `recipient` was sent to, with its reply token;
    /// `None` for an address that is not the desk's (refused at RCPT).
    pub fn recipient(&self, recipient: &str) -> Option<Recipient> {
        let (base, token) = split_recipient(recipient)?;
        let address = self.addresses.iter().find(|a| a.address == base)?;
        Some(Recipient {
            address: address.clone(),
            token,
        })
    }

    /// The address the desk's mail comes from and replies go to: the first.
    pub fn desk_address(&self) -> Option<&str> {
        self.addresses.first().map(|a| a.address.as_str())
    }
}

/// The channel's settings.
pub fn settings(app: &App) -> &Settings {
    app.part::<Settings>()
}

pub use crate::desk::tickets::mail_identity::{reference_of_token, reply_token};

/// The email channel as the application composes it.
pub fn domain() -> Domain {
    Domain {
        check: |config| {
            Settings::from_config(config)?;
            listener::check(config)?;
            imap::check(config)
        },
        build: |config, _, parts| {
            let settings = Settings::from_config(config)?;
            parts.insert(listener::Listener::from_config(
                config,
                settings.desk_address(),
            )?);
            parts.insert(settings);
            parts.insert(imap::Imap::from_config(config)?);
            Ok(())
        },
        migrations: &[
            Migration {
                version: 17,
                name: "email_inbound",
                sql: include_str!("../../../migrations/0017_email_inbound.sql"),
            },
            Migration {
                version: 20,
                name: "email_imap",
                sql: include_str!("../../../migrations/0020_email_imap.sql"),
            },
            Migration {
                version: 25,
                name: "email_raw_chunks",
                sql: include_str!("../../../migrations/0025_email_raw_chunks.sql"),
            },
            Migration {
                version: 46,
                name: "email_receiving_chunks",
                sql: include_str!("../../../migrations/0046_email_receiving_chunks.sql"),
            },
        ],
        jobs: &[ingest::JOB, inbound::PRUNE_JOB],
        pages: pages::router,
        templates: &[(
            "desk_mail.html",
            include_str!("../../../templates/desk_mail.html"),
        )],
        api: || {
            utoipa_axum::router::OpenApiRouter::new()
                .routes(utoipa_axum::routes!(api::list))
                .routes(utoipa_axum::routes!(api::place))
        },
        background: &[listener::serve, imap::serve],
        bind: Some(listener::bind),
        gauges: Some(imap::gauges),
        ..Domain::named("email")
    }
}
