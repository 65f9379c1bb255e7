//! The support desk: tickets with phone-friendly reference numbers, their
//! conversation and events, category forms with a completeness check, and
//! triage. Its rules live in `koban_policy::desk`.

pub mod api;
pub mod console;
pub mod console_api;
pub mod context;
mod error;
mod notify;
mod pages;
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

/// The desk's state.
pub struct State {
    /// The triage model: the built-in one for now; agents' corrections
    /// will teach it.
    pub model: Model,
}

/// The triage model the desk classifies with.
pub fn model(app: &App) -> &Model {
    &app.part::<State>().model
}

/// The desk as the application composes it.
pub fn domain() -> Domain {
    Domain {
        build: |_, _, parts| {
            parts.insert(State {
                model: Model::builtin(),
            });
            Ok(())
        },
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
        },
        migrations: &[Migration {
            version: 9,
            name: "desk",
            sql: include_str!("../../migrations/0009_desk.sql"),
        }],
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
