//! The support desk: tickets with phone-friendly reference numbers, their
//! conversation and events, category forms with a completeness check, and
//! triage. Its rules live in `koban_policy::desk`.

pub mod admin;
pub mod attachments;
pub mod console;
mod error;
pub mod lookup;
pub mod reports;
pub mod routing;
pub mod store;
pub mod survey;
pub mod tickets;
pub mod verification;

pub use error::DeskError;

use crate::domain::Domain;
use crate::state::{App, JobFuture, JobKind};
use crate::store::Migration;
use koban_policy::desk::triage::{phrase_line_reads, Model};
use std::sync::{Arc, RwLock};

/// The desk's state.
pub struct State {
    /// The triage model: the built-in one taught the agents' corrections,
    /// and when it was last taught.
    model: RwLock<(Arc<Model>, i64)>,
    /// What admins configured, as new tickets read it.
    snapshot: admin::snapshot::Cache,
    /// The queue to the task that commits new tickets together.
    committer: tickets::committer::Committer,
}

/// How often a node reads the agents' corrections again: every node
/// learns from every other's within this time.
pub const RELEARN_MS: i64 = 10 * 60_000;
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
        let read = async {
            let corrections = store::corrections(app.store.read(), MAX_CORRECTIONS).await?;
            let phrases = store::phrases(app.store.read(), true).await?;
            Ok::<_, crate::store::StoreError>((corrections, phrases))
        };
        match read.await {
            Ok((corrections, phrases)) => {
                let mut model = Model::builtin();
                for (subject, body, category) in corrections {
                    // A category this version does not know is skipped.
                    let _ = model.learn(&subject, &body, &category);
                }
                // Checked when added; one this version reads differently is
                // skipped rather than costing the others.
                let lines: Vec<String> = phrases
                    .iter()
                    .filter(|p| phrase_line_reads(&p.target, &p.phrase, p.weight))
                    .map(|p| format!("{}\t{}\t{}", p.target, p.phrase, p.weight))
                    .collect();
                let model = model.clone().with_phrases(lines).unwrap_or(model);
                let mut guard = app
                    .part::<State>()
                    .model
                    .write()
                    .unwrap_or_else(|p| p.into_inner());
                *guard = (Arc::new(model), now);
            }
            Err(error) => {
                tracing::warn!(%error, "triage keeps its model: corrections or phrases unreadable")
            }
        }
    }
    model(app)
}

/// The desk as the application composes it.
pub fn domain() -> Domain {
    Domain {
        check: |config| attachments::blob_store(config).map(|_| ()),
        build: |config, store, parts| {
            // One committing task serialises every opening on one
            // connection: on SQLite's one writer that saves a commit per
            // ticket (0.38 → 0.52 of raw inserts at 8 clients), but
            // PostgreSQL commits openings side by side on the pool's
            // connections at twice the rate of one task (desk run 6).
            let batch = match store.backend() {
                crate::store::Backend::Sqlite => config.desk_open_batch,
                crate::store::Backend::Postgres => 0,
            };
            // Taught the corrections on first use (time 0 is stale).
            parts.insert(State {
                model: RwLock::new((Arc::new(Model::builtin()), 0)),
                snapshot: Default::default(),
                committer: tickets::committer::Committer::new(batch),
            });
            parts.insert(attachments::Blobs(attachments::blob_store(config)?));
            Ok(())
        },
        api: || {
            use utoipa_axum::routes;
            utoipa_axum::router::OpenApiRouter::new()
                .routes(routes!(tickets::api::open_ticket, console::api::queue))
                .routes(routes!(tickets::api::my_tickets))
                .routes(routes!(tickets::api::ticket, console::api::change))
                .routes(routes!(tickets::api::add_message))
                .routes(routes!(tickets::api::triage))
                .routes(routes!(admin::phrases_api::list, admin::phrases_api::add))
                .routes(routes!(admin::phrases_api::remove))
                .routes(routes!(verification::account_api::security_context))
                .routes(routes!(
                    verification::account_api::start_verification,
                    verification::api::list
                ))
                .routes(routes!(verification::api::start_second_factor))
                .routes(routes!(verification::api::start_documented))
                .routes(routes!(verification::api::decide))
                .routes(routes!(verification::account_api::check_verification))
                .routes(routes!(verification::account_api::account_action))
                .routes(routes!(
                    console::library_api::list_canned,
                    console::library_api::create_canned
                ))
                .routes(routes!(
                    console::library_api::update_canned,
                    console::library_api::delete_canned
                ))
                .routes(routes!(
                    console::library_api::list_macros,
                    console::library_api::create_macro
                ))
                .routes(routes!(
                    console::library_api::update_macro,
                    console::library_api::delete_macro
                ))
                .routes(routes!(console::library_api::fill_canned))
                .routes(routes!(console::library_api::apply_macro))
                .routes(routes!(lookup::api::request_lookup))
                .routes(routes!(lookup::api::check_lookup))
                .routes(routes!(admin::roles_api::agents))
                .routes(routes!(admin::roles_api::set_role))
                .routes(routes!(routing::escalate::escalate_ticket))
                .routes(routes!(
                    admin::routing_api::teams,
                    admin::routing_api::create_team
                ))
                .routes(routes!(
                    admin::routing_api::update_team,
                    admin::routing_api::delete_team
                ))
                .routes(routes!(
                    admin::routing_api::save_member,
                    admin::routing_api::delete_member
                ))
                .routes(routes!(
                    admin::routing_api::calendars,
                    admin::routing_api::create_calendar
                ))
                .routes(routes!(admin::routing_api::update_calendar))
                .routes(routes!(
                    admin::routing_api::policies,
                    admin::routing_api::replace_policies
                ))
                .routes(routes!(attachments::api::upload))
                .routes(routes!(attachments::api::list))
                .routes(routes!(attachments::api::download))
                .routes(routes!(attachments::api::thumbnail))
                .routes(routes!(attachments::api::request_document))
                .routes(routes!(tickets::merge::merge))
                .routes(routes!(tickets::merge::split))
                .routes(routes!(admin::forms::list))
                .routes(routes!(admin::forms::change))
                .routes(routes!(console::bulk_api::bulk))
                .routes(routes!(console::library_changes::list))
                .routes(routes!(
                    survey::api::read_by_link,
                    survey::api::answer_by_link
                ))
                .routes(routes!(survey::api::read, survey::api::rate))
                .routes(routes!(survey::api::satisfaction_report))
                .routes(routes!(survey::api::satisfaction_export))
                .routes(routes!(reports::api::volume))
                .routes(routes!(reports::api::times))
                .routes(routes!(reports::api::sla))
                .routes(routes!(reports::api::backlog))
                .routes(routes!(reports::api::triage))
        },
        migrations: &[
            Migration {
                version: 9,
                name: "desk",
                sql: include_str!("../../migrations/0009_desk.sql"),
            },
            Migration {
                version: 10,
                name: "desk_routing",
                sql: include_str!("../../migrations/0010_desk_routing.sql"),
            },
            Migration {
                version: 11,
                name: "desk_attachments",
                sql: include_str!("../../migrations/0011_desk_attachments.sql"),
            },
            Migration {
                version: 12,
                name: "desk_console",
                sql: include_str!("../../migrations/0012_desk_console.sql"),
            },
            Migration {
                version: 13,
                name: "desk_lookup",
                sql: include_str!("../../migrations/0013_desk_lookup.sql"),
            },
            Migration {
                version: 14,
                name: "desk_verification_methods",
                sql: include_str!("../../migrations/0014_desk_verification_methods.sql"),
            },
            Migration {
                version: 15,
                name: "desk_triage_phrases",
                sql: include_str!("../../migrations/0015_desk_triage_phrases.sql"),
            },
            Migration {
                version: 16,
                name: "desk_channel_messages",
                sql: include_str!("../../migrations/0016_desk_channel_messages.sql"),
            },
            Migration {
                version: 37,
                name: "desk_surveys",
                sql: include_str!("../../migrations/0037_desk_surveys.sql"),
            },
            Migration {
                version: 39,
                name: "desk_reports",
                sql: include_str!("../../migrations/0039_desk_reports.sql"),
            },
        ],
        pages: || {
            tickets::pages::router()
                .merge(verification::pages::router())
                .merge(console::pages::router())
                .merge(admin::phrases_pages::router())
                .merge(lookup::pages::router())
                .merge(admin::roles_pages::router())
                .merge(admin::routing_pages::router())
                .merge(admin::forms_pages::router())
                .merge(survey::pages::router())
                .merge(reports::pages::router())
        },
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
            (
                "support_verify.html",
                include_str!("../../templates/support_verify.html"),
            ),
            (
                "desk_queue.html",
                include_str!("../../templates/desk_queue.html"),
            ),
            (
                "desk_ticket.html",
                include_str!("../../templates/desk_ticket.html"),
            ),
            (
                "desk_library.html",
                include_str!("../../templates/desk_library.html"),
            ),
            (
                "desk_macros.html",
                include_str!("../../templates/desk_macros.html"),
            ),
            (
                "desk_triage_phrases.html",
                include_str!("../../templates/desk_triage_phrases.html"),
            ),
            (
                "support_lookup.html",
                include_str!("../../templates/support_lookup.html"),
            ),
            (
                "desk_admin_agents.html",
                include_str!("../../templates/desk_admin_agents.html"),
            ),
            (
                "desk_admin_teams.html",
                include_str!("../../templates/desk_admin_teams.html"),
            ),
            (
                "desk_admin_calendars.html",
                include_str!("../../templates/desk_admin_calendars.html"),
            ),
            (
                "desk_admin_sla.html",
                include_str!("../../templates/desk_admin_sla.html"),
            ),
            (
                "desk_admin_forms.html",
                include_str!("../../templates/desk_admin_forms.html"),
            ),
            (
                "desk_admin_form.html",
                include_str!("../../templates/desk_admin_form.html"),
            ),
            (
                "desk_survey.html",
                include_str!("../../templates/desk_survey.html"),
            ),
            (
                "desk_survey_report.html",
                include_str!("../../templates/desk_survey_report.html"),
            ),
            (
                "desk_reports.html",
                include_str!("../../templates/desk_reports.html"),
            ),
        ],
        tags: &[(
            "desk",
            "Tickets, their conversation, category forms and triage",
        )],
        jobs: &[
            routing::sla::JOB,
            attachments::purge::JOB,
            JobKind {
                kind: lookup::LOOKUP_JOB,
                round: None,
                every_ms: None,
                run: run_lookup_code,
            },
            JobKind {
                kind: lookup::PRUNE_JOB,
                round: None,
                every_ms: Some(crate::jobs::HOUR_MS),
                run: run_lookup_prune,
            },
            routing::recompute::JOB,
            survey::JOB,
        ],
        background: &[tickets::committer::run],
        gauges: Some(tickets::committer::gauges),
        ..Domain::named("desk")
    }
}

fn run_lookup_code<'a>(app: &'a Arc<App>, job: &'a crate::jobs::Job) -> JobFuture<'a> {
    Box::pin(async move {
        lookup::send_code(app, &job.payload)
            .await
            .map_err(|e| e.to_string())
    })
}

fn run_lookup_prune<'a>(app: &'a Arc<App>, _: &'a crate::jobs::Job) -> JobFuture<'a> {
    Box::pin(async move {
        store::lookup::prune(app.store.write(), crate::store::now_ms())
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    })
}
