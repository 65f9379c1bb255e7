//! The support desk: tickets with phone-friendly reference numbers, their
//! conversation and events, category forms with a completeness check, and
//! triage. Its rules live in `koban_policy::desk`.

pub mod api;
pub mod attachments;
pub mod attachments_api;
pub mod console;
pub mod console_api;
pub mod context;
mod error;
pub mod forms_admin;
pub mod merge;
mod notify;
mod pages;
pub mod purge;
pub mod service;
pub mod store;
pub mod support_api;
pub mod triage;
pub mod verification;

pub use error::DeskError;

use crate::domain::Domain;
use crate::state::App;
use crate::store::Migration;
use koban_policy::desk::triage::Model;
use std::sync::{Arc, RwLock};

/// The desk's state.
pub struct State {
    /// The triage model: the built-in one taught the agents' corrections,
    /// and when it was last taught.
    model: RwLock<(Arc<Model>, i64)>,
}

/// How often a node reads the agents' corrections again: every node
/// learns from every other's within this time.
const RELEARN_MS: i64 = 10 * 60_000;
/// The most corrections a model learns from (the newest win nothing: a
/// later correction of the same ticket replaces its category).
const MAX_CORRECTIONS: i64 = 50_000;

/// The triage model the desk classifies with.
pub fn model(app: &App) -> Arc<Model> {
    match app.part::<State>().model.read() {
        Ok(guard) => guard.0.clone(),
        Err(poisoned) => poisoned.into_inner().0.clone(),
    }
}

/// The triage model, taught the agents' corrections when the last lesson
/// is older than [`RELEARN_MS`] (or `force` says so). A failed read keeps
/// the model it had.
pub async fn current_model(app: &App, force: bool) -> Arc<Model> {
    let now = crate::store::now_ms();
    let stale = {
        let state = app.part::<State>();
        let guard = state.model.read().unwrap_or_else(|p| p.into_inner());
        force || now - guard.1 > RELEARN_MS
    };
    if stale {
        match store::corrections(app.store.read(), MAX_CORRECTIONS).await {
            Ok(corrections) => {
                let mut model = Model::builtin();
                for (subject, body, category) in corrections {
                    // A category this version does not know is skipped.
                    let _ = model.learn(&subject, &body, &category);
                }
                let mut guard = app
                    .part::<State>()
                    .model
                    .write()
                    .unwrap_or_else(|p| p.into_inner());
                *guard = (Arc::new(model), now);
            }
            Err(error) => tracing::warn!(%error, "triage keeps its model: corrections unreadable"),
        }
    }
    model(app)
}

/// The desk as the application composes it.
pub fn domain() -> Domain {
    Domain {
        check: |config| attachments::blob_store(config).map(|_| ()),
        build: |config, _, parts| {
            // Taught the corrections on first use (time 0 is stale).
            parts.insert(State {
                model: RwLock::new((Arc::new(Model::builtin()), 0)),
            });
            parts.insert(attachments::Blobs(attachments::blob_store(config)?));
            Ok(())
        },
        jobs: &[purge::JOB],
        api: || {
            use utoipa_axum::routes;
            utoipa_axum::router::OpenApiRouter::new()
                .routes(routes!(api::open_ticket, console_api::queue))
                .routes(routes!(api::my_tickets))
                .routes(routes!(api::ticket, console_api::change))
                .routes(routes!(api::add_message))
                .routes(routes!(api::triage))
                .routes(routes!(support_api::security_context))
                .routes(routes!(support_api::start_verification))
                .routes(routes!(support_api::check_verification))
                .routes(routes!(support_api::account_action))
                .routes(routes!(attachments_api::upload))
                .routes(routes!(attachments_api::list))
                .routes(routes!(attachments_api::download))
                .routes(routes!(attachments_api::thumbnail))
                .routes(routes!(attachments_api::request_document))
                .routes(routes!(merge::merge))
                .routes(routes!(merge::split))
                .routes(routes!(forms_admin::list))
                .routes(routes!(forms_admin::change))
        },
        migrations: &[
            Migration {
                version: 9,
                name: "desk",
                sql: include_str!("../../migrations/0009_desk.sql"),
            },
            Migration {
                version: 11,
                name: "desk_attachments",
                sql: include_str!("../../migrations/0011_desk_attachments.sql"),
            },
        ],
        pages: pages::router,
        templates: &[
            (
                "support_form.html",
                include_str!("../../templates/support_form.html"),
            ),
            (
                "support_sent.html",
                include_str!("../../templates/support_sent.html"),
            ),
            (
                "support_tickets.html",
                include_str!("../../templates/support_tickets.html"),
            ),
            (
                "support_ticket.html",
                include_str!("../../templates/support_ticket.html"),
            ),
        ],
        tags: &[(
            "desk",
            "Tickets, their conversation, category forms and triage",
        )],
        ..Domain::named("desk")
    }
}
