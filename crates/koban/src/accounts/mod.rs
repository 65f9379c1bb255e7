//! Accounts: registration with a verified phone or email, sign-in, sessions,
//! password change and reset.

pub mod api;
pub mod codes;
mod error;
pub mod pages;
pub mod password_hash;
pub mod service;
pub mod sessions;
pub mod store;

pub use error::{AccountError, Lock, LockReference};
pub use store::Account;

use crate::domain::Domain;
use crate::jobs::Job;
use crate::state::{App, JobFuture, JobKind};
use password_hash::PasswordHasher;
use std::sync::Arc;

/// Job kind: delete the send allowances whose window has passed.
pub const PRUNE_SEND_ALLOWANCES: &str = "prune_send_allowances";

/// Accounts as the application composes it.
pub fn domain() -> Domain {
    Domain {
        check: |config| hasher_for(config).map(drop),
        build: |config, _, parts| {
            parts.insert(hasher_for(config)?);
            Ok(())
        },
        api: || {
            use utoipa_axum::routes;
            utoipa_axum::router::OpenApiRouter::new()
                .routes(routes!(api::register))
                .routes(routes!(api::send_code))
                .routes(routes!(api::sign_out))
                .routes(routes!(api::sign_out_everywhere))
                .routes(routes!(api::me))
                .routes(routes!(api::change_password))
                .routes(routes!(api::reset_password))
        },
        pages: pages::router,
        jobs: &[
            JobKind {
                kind: service::SEND_CODE_JOB,
                round: None,
                every_ms: None,
                run: run_send_code,
            },
            JobKind {
                kind: PRUNE_SEND_ALLOWANCES,
                round: None,
                every_ms: Some(crate::jobs::HOUR_MS),
                run: run_prune_allowances,
            },
        ],
        migrations: &[crate::store::Migration {
            version: 8,
            name: "send_throttle_expiry",
            sql: include_str!("../../migrations/0008_send_throttle_expiry.sql"),
        }],
        tags: &[(
            "accounts",
            "Sign-up, verification, sign-in, sessions, passwords",
        )],
        sessions: Some(|| Box::new(sessions::Sessions)),
        templates: TEMPLATES,
        ..Domain::named("accounts")
    }
}

fn hasher_for(config: &crate::config::Config) -> Result<PasswordHasher, String> {
    PasswordHasher::new(
        config.argon2_memory_kib,
        config.argon2_iterations,
        config.argon2_parallelism,
    )
    .map_err(|e| format!("argon2 parameters: {e}"))
}

/// The password hasher the application was built with.
pub fn hasher(app: &App) -> &PasswordHasher {
    app.part::<PasswordHasher>()
}

fn run_send_code<'a>(app: &'a Arc<App>, job: &'a Job) -> JobFuture<'a> {
    Box::pin(async move {
        service::send_requested_code(app, &job.payload)
            .await
            .map_err(|e| e.to_string())
    })
}

fn run_prune_allowances<'a>(app: &'a Arc<App>, _: &'a Job) -> JobFuture<'a> {
    Box::pin(async move {
        codes::prune_allowances(&app.store, crate::store::now_ms())
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    })
}

/// The templates of this domain's pages.
const TEMPLATES: &[crate::web::render::Template] = &[
    ("signup.html", include_str!("../../templates/signup.html")),
    ("verify.html", include_str!("../../templates/verify.html")),
    ("forgot.html", include_str!("../../templates/forgot.html")),
    ("reset.html", include_str!("../../templates/reset.html")),
];
