//! The security center's first page: the account's state at a glance
//! (two-factor authentication, devices, recent risky sign-ins, reminders),
//! each with the one link that acts on it.

use super::*;
use crate::accounts::sessions::Viewing;
use koban_policy::risk::{risk_level, RiskLevel};

/// Risky sign-ins are looked for this far back.
const RECENT_MS: i64 = 30 * 24 * 3_600_000;
/// The overview reads this many attempts back, at most.
const ATTEMPTS_READ: i64 = 50;

/// A reminder with its link, as the overview shows it.
#[derive(Debug, serde::Serialize)]
struct ReminderView {
    kind: String,
    text: String,
    href: String,
    action: String,
}

/// Two-step verification an organization requires of the viewer.
#[derive(serde::Serialize)]
struct OwedView {
    organization: String,
    deadline: crate::web::When,
    overdue: bool,
}

async fn overview_context(
    app: &App,
    viewer: &Viewer,
    current: &Current,
    notice: Option<String>,
) -> Result<minijinja::Value, AccountError> {
    let factors = totp::factors(app, current.account.id).await?;
    // Organizations' policies: a lower device limit, and two-step
    // verification owed by a date (or already overdue).
    let governing = crate::security::policies::governing(app, current.account.id).await?;
    let limit = crate::security::policies::lower_limit(app.config.max_devices, &governing);
    let now = now_ms();
    let owed: Vec<OwedView> = governing
        .iter()
        .filter_map(|g| koban_policy::org::policy::two_factor_owed(g, factors.on(), now))
        .map(|owed| OwedView {
            organization: owed.source.organization,
            deadline: viewer.when(owed.deadline_ms),
            overdue: owed.overdue,
        })
        .collect();
    let bound = devices::list_counted(
        &app.store,
        &app.config,
        current.account.id,
        current.device_id,
    )
    .await?;
    let query = PageQuery {
        cursor: None,
        limit: Some(ATTEMPTS_READ),
    };
    let attempts = history::attempts(app, current.account.id, &query)
        .await
        .map_err(|p| AccountError::Internal(p.message.to_string()))?
        .items;
    let since = now_ms() - RECENT_MS;
    let step_up = app.config.risk_step_up_score;
    // Only sign-ins that got past the password were scored; of those, the
    // ones worth a look are medium or high. Rows are made from every attempt
    // read, so "impossible travel from …" finds the sign-in before it.
    let keep: Vec<bool> = attempts
        .iter()
        .map(|a| {
            a.at >= since
                && !a.reasons.is_empty()
                && risk_level(a.risk_score, step_up) >= RiskLevel::Medium
        })
        .collect();
    let risky: Vec<_> = attempt_rows(viewer, step_up, attempts, &bound)
        .into_iter()
        .zip(keep)
        .filter_map(|(row, keep)| keep.then_some(row))
        .take(3)
        .collect();
    let reminders: Vec<ReminderView> = crate::security::reminders::current(app, &current.account)
        .await?
        .into_iter()
        .map(|r| {
            // A notice another domain pushed brings its own words and link.
            if let (Some(href), Some(action)) = (r.link, r.action) {
                return ReminderView {
                    kind: r.kind,
                    text: r.detail,
                    href,
                    action,
                };
            }
            let (href, action) = match r.kind.as_str() {
                "enable_two_factor" => ("/account/security/2fa", "reminder-action-2fa"),
                "review_stale_device" => ("/account/security/devices", "reminder-action-devices"),
                _ => ("/account#password-form", "reminder-action-password"),
            };
            ReminderView {
                text: t(viewer.lang, &format!("reminder-{}-subject", r.kind), &[]),
                kind: r.kind,
                href: href.to_string(),
                action: t(viewer.lang, action, &[]),
            }
        })
        .collect();
    Ok(context! {
        section => "overview",
        totp_on => factors.on(),
        totp_app => factors.totp,
        passkey_on => factors.passkey,
        devices => bound.len(),
        places => bound.iter().filter(|d| d.holds_place).count(),
        max_devices => limit.0.max(1),
        limit_set_by => limit.1.map(|l| l.source.organization),
        two_factor_owed => owed,
        risky => risky,
        reminders => reminders,
        zone_note => zone_note(viewer),
        notice => notice,
    })
}

/// `GET /account/security`: the overview.
pub(super) async fn overview(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let Some(current) = viewer.current() else {
        return sign_in_first(&viewer.here);
    };
    let notice = notice(viewer.lang, query.notice.as_deref());
    show(
        &viewer,
        "security.html",
        overview_context(&app, &viewer, current, notice).await,
    )
}
