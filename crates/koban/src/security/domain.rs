//! The security center as the application composes it: its state, routes,
//! pages, jobs and migrations.

use super::{gather, guards, history, passkeys, recovery, refusals, reminders, Settings, State};
use crate::domain::Domain;
use crate::jobs::{Job, DAY_MS};
use crate::state::{App, JobFuture, JobKind};
use crate::store::Migration;
use std::fmt::Write;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Job kind: send the security reminders due this period.
pub const SECURITY_REMINDERS: &str = "security_reminders";
/// Job kind: delete login history past its retention.
pub const PRUNE_LOGIN_HISTORY: &str = "prune_login_history";

const JOBS: &[JobKind] = &[
    JobKind {
        kind: recovery::SEND_UNLOCK_CODE_JOB,
        round: None,
        every_ms: None,
        run: run_send_unlock_code,
    },
    JobKind {
        kind: SECURITY_REMINDERS,
        round: None,
        every_ms: Some(DAY_MS),
        run: run_reminders,
    },
    JobKind {
        kind: PRUNE_LOGIN_HISTORY,
        round: None,
        every_ms: Some(DAY_MS),
        run: run_prune_history,
    },
];

macro_rules! migration {
    ($version:literal, $name:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../../migrations/", $file)),
        }
    };
}

const MIGRATIONS: &[Migration] = &[
    migration!(2, "security", "0002_security.sql"),
    migration!(3, "passkeys", "0003_passkeys.sql"),
    migration!(4, "sign_in_history_index", "0004_sign_in_history_index.sql"),
    migration!(5, "check_reservations", "0005_check_reservations.sql"),
    migration!(6, "lock_references", "0006_lock_references.sql"),
    migration!(28, "device_freeze", "0028_device_freeze.sql"),
];

/// The security center as the application composes it.
pub fn domain() -> Domain {
    Domain {
        check: |config| {
            Settings::from_config(config)?;
            passkeys::RelyingParty::from_config(config).map(drop)
        },
        build: |config, store, parts| {
            let hasher = parts
                .get::<crate::accounts::password_hash::PasswordHasher>()
                .ok_or("the security center needs accounts' password hasher")?
                .clone();
            parts.insert(State {
                settings: Settings::from_config(config)?,
                refusals: refusals::RefusalCache::new(
                    config.risk_refusal_cache_seconds.saturating_mul(1000),
                ),
                attempt_log: history::AttemptLog::new(store.clone()),
                sign_in_reads: gather::Gatherer::new(store.clone(), hasher),
                passkeys: passkeys::RelyingParty::from_config(config)?,
            });
            Ok(())
        },
        api,
        pages: super::pages::router,
        jobs: JOBS,
        migrations: MIGRATIONS,
        gauges: Some(gauges),
        tags: &[(
            "security",
            "Sign-in steps, devices, login history, two-factor authentication, step-up",
        )],
        drain: Some(|app| {
            Box::pin(async move {
                // Refusals answered from memory may still be on their way to the history.
                if let Err(error) = super::state(app).attempt_log.flush().await {
                    tracing::error!(%error, "login history not fully written");
                }
            })
        }),
        templates: TEMPLATES,
        ..Domain::named("security")
    }
}

fn api() -> OpenApiRouter<Arc<App>> {
    use super::api::*;
    use super::sign_in_api::*;
    OpenApiRouter::new()
        .routes(routes!(confirm))
        .routes(routes!(sign_in))
        .routes(routes!(second_factor))
        .routes(routes!(device_limit))
        .routes(routes!(list_devices))
        .routes(routes!(rename_device, remove_device))
        .routes(routes!(sign_out_others))
        .routes(routes!(login_history))
        .routes(routes!(security_events))
        .routes(routes!(totp_begin))
        .routes(routes!(totp_confirm))
        .routes(routes!(totp_disable))
        .routes(routes!(recovery_codes))
        .routes(routes!(step_up))
        .routes(routes!(step_up_code))
        .routes(routes!(list_passkeys, add_passkey))
        .routes(routes!(passkey_registration_options))
        .routes(routes!(rename_passkey, remove_passkey))
        .routes(routes!(passkey_sign_in_options))
        .routes(routes!(passkey_second_factor))
        .routes(routes!(passkey_step_up_options))
        .routes(routes!(passkey_step_up))
        .routes(routes!(unlock_code))
        .routes(routes!(unlock_confirm))
        .routes(routes!(unlock_passkey_options))
        .routes(routes!(support_action))
        .routes(routes!(reminders))
        .routes(routes!(contact_change))
        .routes(routes!(contact_change_confirm))
}

/// The sign-in reads' batching, for `/metrics`.
fn gauges(app: &App, out: &mut String) {
    let (statements, sign_ins) = super::state(app).sign_in_reads.counts();
    out.push_str("# HELP koban_sign_in_reads_total Statements that read sign-ins' facts before hashing, and the sign-ins they read: several share one while the hashing threads have a queue.\n# TYPE koban_sign_in_reads_total counter\n");
    let _ = writeln!(
        out,
        "koban_sign_in_reads_total{{of=\"statements\"}} {statements}"
    );
    let _ = writeln!(
        out,
        "koban_sign_in_reads_total{{of=\"sign_ins\"}} {sign_ins}"
    );
}

fn run_send_unlock_code<'a>(app: &'a Arc<App>, job: &'a Job) -> JobFuture<'a> {
    Box::pin(async move {
        recovery::issue_unlock_code(app, &job.payload)
            .await
            .map_err(|e| e.to_string())
    })
}

fn run_reminders<'a>(app: &'a Arc<App>, _: &'a Job) -> JobFuture<'a> {
    Box::pin(async move {
        reminders::send_due(app)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    })
}

fn run_prune_history<'a>(app: &'a Arc<App>, _: &'a Job) -> JobFuture<'a> {
    Box::pin(async move {
        let keep_ms = app.config.login_history_days.max(1) * DAY_MS;
        let now = crate::store::now_ms();
        let window_ms = super::state(app).settings.risk.ip_failure_window_ms;
        async {
            history::prune(&app.store, now - keep_ms).await?;
            guards::prune_idle_addresses(&app.store, now, window_ms).await
        }
        .await
        .map(drop)
        .map_err(|e| e.to_string())
    })
}

/// The templates of this domain's pages.
const TEMPLATES: &[crate::web::render::Template] = &[
    ("signin.html", include_str!("../../templates/signin.html")),
    ("account.html", include_str!("../../templates/account.html")),
    (
        "second_factor.html",
        include_str!("../../templates/second_factor.html"),
    ),
    (
        "device_limit.html",
        include_str!("../../templates/device_limit.html"),
    ),
    ("locked.html", include_str!("../../templates/locked.html")),
    (
        "security.html",
        include_str!("../../templates/security.html"),
    ),
    (
        "security_devices.html",
        include_str!("../../templates/security_devices.html"),
    ),
    (
        "login_history.html",
        include_str!("../../templates/login_history.html"),
    ),
    (
        "timeline.html",
        include_str!("../../templates/timeline.html"),
    ),
    ("secure.html", include_str!("../../templates/secure.html")),
    (
        "two_factor.html",
        include_str!("../../templates/two_factor.html"),
    ),
    (
        "recovery_codes.html",
        include_str!("../../templates/recovery_codes.html"),
    ),
    ("confirm.html", include_str!("../../templates/confirm.html")),
    ("step_up.html", include_str!("../../templates/step_up.html")),
    (
        "passkey_add.html",
        include_str!("../../templates/passkey_add.html"),
    ),
];
