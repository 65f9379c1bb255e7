//! Enterprise accounts: organizations, their members, roles,
//! invitations, verified email domains, devices, security policies, access reviews and members'
//! security onboarding. Every change is judged by the pure rules of
//! `koban_policy::org` on the caller's membership as it is when the change
//! runs (the organization's row locked), and commits with its entry in the
//! organization's audit chain (`org:<id>`).

pub mod access;
pub mod api;
pub mod audit;
pub mod devices;
pub mod domains;
mod error;
pub mod evidence;
pub mod import;
pub mod invites;
pub mod members;
mod notify;
pub mod onboarding;
pub mod orgs;
mod pages;
pub mod policies;
pub mod reviews;
pub mod roles;
pub mod store;
pub mod support;

pub use error::EnterpriseError;

use crate::domain::Domain;
use crate::store::Migration;

pub fn domain() -> Domain {
    Domain {
        migrations: &[
            Migration {
                version: 27,
                name: "enterprise",
                sql: include_str!("../../migrations/0027_enterprise.sql"),
            },
            Migration {
                version: 29,
                name: "org_policies",
                sql: include_str!("../../migrations/0029_org_policies.sql"),
            },
            Migration {
                version: 30,
                name: "access_reviews",
                sql: include_str!("../../migrations/0030_access_reviews.sql"),
            },
            Migration {
                version: 31,
                name: "org_onboarding",
                sql: include_str!("../../migrations/0031_org_onboarding.sql"),
            },
            Migration {
                version: 32,
                name: "org_domains",
                sql: include_str!("../../migrations/0032_org_domains.sql"),
            },
            Migration {
                version: 33,
                name: "org_support_subscriptions",
                sql: include_str!("../../migrations/0033_org_support_subscriptions.sql"),
            },
            Migration {
                version: 34,
                name: "member_search",
                sql: include_str!("../../migrations/0034_member_search.sql"),
            },
            Migration {
                version: 41,
                name: "member_search_gin",
                sql: include_str!("../../migrations/0041_member_search_gin.sql"),
            },
        ],
        // The security center's sign-in asks this domain which policies
        // govern an account.
        build: |_, _, parts| {
            parts.insert(policies::source());
            // The desk asks it which support line a requester writes on.
            parts.insert(support::source());
            Ok(())
        },
        tags: &[(
            "organizations",
            "Organizations: members, roles and invitations",
        )],
        api: api::router,
        pages: pages::router,
        templates: pages::TEMPLATES,
        jobs: &[reviews::REMINDER_JOB],
        ..Domain::named("enterprise")
    }
}
