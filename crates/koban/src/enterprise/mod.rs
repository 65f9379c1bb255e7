//! Enterprise accounts: organizations, their members, roles and
//! invitations. Every change is judged by the pure rules of
//! `koban_policy::org` on the caller's membership as it is when the change
//! runs (the organization's row locked), and commits with its entry in the
//! organization's audit chain (`org:<id>`).

pub mod access;
pub mod api;
mod error;
pub mod import;
pub mod invites;
pub mod members;
pub mod orgs;
pub mod roles;
pub mod store;

pub use error::EnterpriseError;

use crate::domain::Domain;
use crate::store::Migration;

pub fn domain() -> Domain {
    Domain {
        migrations: &[Migration {
            version: 27,
            name: "enterprise",
            sql: include_str!("../../migrations/0027_enterprise.sql"),
        }],
        tags: &[(
            "organizations",
            "Organizations: members, roles and invitations",
        )],
        api: api::router,
        ..Domain::named("enterprise")
    }
}
