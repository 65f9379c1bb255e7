//! Login history and the security timeline, in the reader's words.

use super::*;

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct CursorQuery {
    cursor: Option<String>,
}

#[derive(Debug, serde::Serialize)]
pub(super) struct AttemptRow {
    at: When,
    outcome: String,
    outcome_code: String,
    ok: bool,
    decision: String,
    ip: String,
    country: Option<String>,
    device: String,
    risk_score: i64,
    reasons: Vec<String>,
}

/// `GET /account/security/history`: the account's sign-in attempts, newest first.
pub(super) async fn history_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<CursorQuery>,
) -> Response {
    let Some(current) = &viewer.current else {
        return sign_in_first(&viewer.here);
    };
    let query = PageQuery {
        cursor: query.cursor,
        limit: Some(20),
    };
    let page = match history::attempts(&app, current.account.id, &query).await {
        Ok(page) => page,
        Err(problem) => return render::error(&viewer, problem.status, problem.message),
    };
    let names: HashMap<i64, String> =
        match devices::list(&app.store, current.account.id, None).await {
            Ok(list) => list.into_iter().map(|d| (d.id, d.name)).collect(),
            Err(e) => return internal(&viewer, &e),
        };
    let lang = viewer.lang;
    let rows: Vec<AttemptRow> = page
        .items
        .into_iter()
        .map(|a| AttemptRow {
            at: viewer.when(a.at),
            outcome: label(lang, "attempt", &a.outcome),
            ok: a.outcome == "success",
            decision: label(lang, "decision", &a.decision),
            ip: a.ip,
            country: a.country,
            device: a
                .device_id
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_else(|| {
                    koban_policy::device::describe_user_agent(a.user_agent.as_deref().unwrap_or(""))
                        .0
                }),
            risk_score: a.risk_score,
            reasons: a
                .reasons
                .iter()
                .map(|r| label(lang, "risk-reason", r))
                .collect(),
            outcome_code: a.outcome,
        })
        .collect();
    let next = page
        .next_cursor
        .map(|c| url_with("/account/security/history", &[("cursor", &c)]));
    render::page(
        &viewer,
        StatusCode::OK,
        "login_history.html",
        context! { section => "history", rows => rows, next => next, zone_note => zone_note(&viewer) },
    )
}

#[derive(Debug, serde::Serialize)]
pub(super) struct EventRow {
    at: When,
    kind: String,
    kind_code: String,
    detail: String,
    ip: Option<String>,
}

/// `GET /account/security/timeline`: what changed on the account, newest first.
pub(super) async fn timeline_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<CursorQuery>,
) -> Response {
    let Some(current) = &viewer.current else {
        return sign_in_first(&viewer.here);
    };
    let query = PageQuery {
        cursor: query.cursor,
        limit: Some(20),
    };
    let page = match history::events(&app.store, current.account.id, &query).await {
        Ok(page) => page,
        Err(problem) => return render::error(&viewer, problem.status, problem.message),
    };
    let rows: Vec<EventRow> = page
        .items
        .into_iter()
        .map(|e| EventRow {
            at: viewer.when(e.at),
            kind: label(viewer.lang, "event", &e.kind),
            detail: event_detail(viewer.lang, &e.kind, e.detail),
            kind_code: e.kind,
            ip: e.ip,
        })
        .collect();
    let next = page
        .next_cursor
        .map(|c| url_with("/account/security/timeline", &[("cursor", &c)]));
    render::page(
        &viewer,
        StatusCode::OK,
        "timeline.html",
        context! { section => "timeline", rows => rows, next => next, zone_note => zone_note(&viewer) },
    )
}

/// An event's detail in the reader's words: the risk engine's reasons are
/// stored as codes and shown translated; other details as written.
pub(super) fn event_detail(lang: Lang, kind: &str, detail: String) -> String {
    if !matches!(kind, "risky_sign_in" | "sign_in_step_up" | "locked") {
        return detail;
    }
    detail
        .split(',')
        .filter(|code| !code.is_empty())
        .map(|code| label(lang, "risk-reason", code))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where "this wasn't me" in a risky sign-in alert leads: the three things
/// that take an account back, or, signed out, the way to sign in or reset
/// the password (a reset signs out every device).
pub(super) async fn secure_page(viewer: Viewer) -> Response {
    render::page(
        &viewer,
        StatusCode::OK,
        "secure.html",
        context! { signed_in => viewer.current.is_some() },
    )
}
