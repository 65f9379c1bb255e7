//! Users' data rights (issue 15 §5, docs/privacy.md): an export of
//! everything Koban holds about a person, prepared by a job and
//! downloadable by its owner until its link expires; the account's
//! deletion after a grace period that a sign-in cancels, with the erasure
//! recorded in the platform's audit chain; and the retention of the kinds
//! of data no other domain prunes. The rules are in
//! `koban_policy::privacy`.

pub mod api;
pub mod deletion;
mod error;
pub mod export;
mod pages;
pub mod retention;
pub mod store;

pub use error::PrivacyError;

use crate::domain::Domain;
use crate::state::App;
use crate::store::Migration;
use koban_policy::privacy::regions;

/// The regional rules of the configuration; checked at start, so they
/// parse here (an empty set if they somehow did not).
pub fn regional_rules(app: &App) -> regions::Rules {
    regions::parse(&app.config.privacy_regional_rules).unwrap_or_default()
}

pub fn domain() -> Domain {
    Domain {
        migrations: &[Migration {
            version: 38,
            name: "privacy",
            sql: include_str!("../../migrations/0038_privacy.sql"),
        }],
        check: |config| {
            if config.privacy_export_link_days < 1 {
                return Err("privacy_export_link_days: must be at least 1".into());
            }
            for (key, days) in [
                (
                    "privacy_deletion_grace_days",
                    config.privacy_deletion_grace_days,
                ),
                ("privacy_delivery_days", config.privacy_delivery_days),
                ("privacy_ticket_days", config.privacy_ticket_days),
                ("privacy_attachment_days", config.privacy_attachment_days),
                ("privacy_audit_days", config.privacy_audit_days),
            ] {
                if days < 0 {
                    return Err(format!("{key}: must not be negative (0 keeps for ever)"));
                }
            }
            regions::parse(&config.privacy_regional_rules)
                .map(drop)
                .map_err(|e| format!("privacy_regional_rules: {e}"))
        },
        tags: &[("privacy", "Your data: exports and deleting the account")],
        api: api::router,
        pages: pages::router,
        templates: pages::TEMPLATES,
        jobs: &[
            export::PREPARE_JOB,
            export::EXPIRE_JOB,
            deletion::SWEEP_JOB,
            retention::RETENTION_JOB,
        ],
        ..Domain::named("privacy")
    }
}
