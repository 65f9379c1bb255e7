//! Announcements: service status, security notices and maintenance, by
//! language and region, between a start and an optional end. Shown in a
//! banner on every page (through the shell's `web::banner` hook), on
//! /announcements and through the API; written by desk supervisors and
//! admins with every change logged; a security notice can be pushed to the
//! security reminders of the accounts it concerns (through the security
//! center's `reminders::NoticeSource` hook). The rules are in
//! `koban_policy::announce`.

pub mod api;
pub mod banner;
mod error;
mod pages;
pub mod push;
pub mod service;
pub mod store;

pub use error::AnnouncementError;

use crate::domain::Domain;
use crate::store::Migration;

pub fn domain() -> Domain {
    Domain {
        migrations: &[Migration {
            version: 36,
            name: "announcements",
            sql: include_str!("../../migrations/0036_announcements.sql"),
        }],
        build: |_, _, parts| {
            parts.insert(service::State::default());
            // Every page's layout asks for its banner…
            parts.insert(banner::source());
            // …and the security center for the notices pushed to an account.
            parts.insert(push::notice_source());
            Ok(())
        },
        tags: &[(
            "announcements",
            "Announcements: service status, security notices and maintenance",
        )],
        api: api::router,
        pages: pages::router,
        templates: pages::TEMPLATES,
        jobs: &[push::PUSH_JOB],
        ..Domain::named("announcements")
    }
}
