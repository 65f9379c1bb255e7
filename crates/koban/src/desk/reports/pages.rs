//! `/desk/reports`: every report on one page for supervisors and desk
//! admins, over days in the viewer's zone: charts drawn here as SVG (the
//! geometry from `koban_policy::desk::report_chart`), a table under each,
//! and a CSV file per report at `/desk/reports/{name}.csv`.

use super::{backlog_of, csv, figures, figures_of, percent, scope, tickets, Ask, Figures, Scope};
use crate::accounts::pages::{explain_problem, internal, refused};
use crate::accounts::sessions::Viewing;
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::i18n::{t, Lang};
use crate::web::{render, see_other, url_with, Viewer};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use koban_policy::desk::report::{share_permille, By, Group, Report, Stats};
use koban_policy::desk::report_chart::{bar_chart, time_chart};
use minijinja::context;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

const PAGE: &str = "/desk/reports";

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route(PAGE, get(page))
        .route("/desk/reports/{file}", get(download))
}

/// The viewer may read reports; else the page to show: sign-in for a
/// visitor, 404 for someone outside the desk, 403 for an agent.
#[allow(clippy::result_large_err)]
fn supervisor(viewer: &Viewer) -> Result<(), Response> {
    let Some(current) = viewer.current() else {
        return Err(see_other(&url_with("/signin", &[("next", &viewer.here)])));
    };
    if !current.account.has_role("agent") {
        return Err(render::error(
            viewer,
            StatusCode::NOT_FOUND,
            "problem-not-found",
        ));
    }
    if !current.account.has_role("supervisor") {
        return Err(render::error(
            viewer,
            StatusCode::FORBIDDEN,
            "problem-forbidden",
        ));
    }
    Ok(())
}

/// The query's parameters; a repeated one keeps its first value.
fn params(raw: Option<&str>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

fn ask<'a>(values: &'a BTreeMap<String, String>, by: Option<&'a str>) -> Ask<'a> {
    Ask {
        from: values.get("from").map(String::as_str),
        to: values.get("to").map(String::as_str),
        tz: values.get("tz").map(String::as_str),
        by,
    }
}

/// A group's name as a person reads it.
fn label(lang: Lang, by: By, key: &str, teams: &HashMap<String, String>) -> String {
    match by {
        By::Day => key.to_string(),
        By::Channel => t(lang, &format!("desk-admin-routing-channel-{key}"), &[]),
        By::Category => t(lang, &format!("category-{key}"), &[]),
        By::Priority => t(lang, &format!("console-priority-{key}"), &[]),
        By::Team if key.is_empty() => t(lang, "report-no-team", &[]),
        By::Team => teams.get(key).cloned().unwrap_or_else(|| key.to_string()),
    }
}

/// A duration in the viewer's words: minutes, hours and minutes, or days
/// and hours, whichever keeps it short.
fn duration(lang: Lang, ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "—".into();
    };
    let minutes = (ms + 30_000) / 60_000;
    let (d, h, m) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let n = |v: i64| v.to_string();
    if minutes < 60 {
        t(lang, "report-duration-m", &[("m", n(m))])
    } else if minutes < 48 * 60 {
        t(
            lang,
            "report-duration-hm",
            &[("h", n(minutes / 60)), ("m", n(m))],
        )
    } else {
        t(lang, "report-duration-dh", &[("d", n(d)), ("h", n(h))])
    }
}

fn stats(lang: Lang, s: &Stats) -> minijinja::Value {
    context! { count => s.count, median => duration(lang, s.median_ms), p90 => duration(lang, s.p90_ms) }
}

/// Bars for groups, with their labels.
fn bars<T>(
    lang: Lang,
    by: By,
    groups: &[Group<T>],
    teams: &HashMap<String, String>,
) -> minijinja::Value {
    let values: Vec<u64> = groups.iter().map(|g| g.tickets).collect();
    let rows: Vec<minijinja::Value> = groups
        .iter()
        .map(|g| context! { key => g.key, label => label(lang, by, &g.key, teams), value => g.tickets })
        .collect();
    context! { chart => bar_chart(&values), rows => rows }
}

/// A chart over the range's days.
fn over_days(scope: &Scope, values: &[u64]) -> minijinja::Value {
    let days: Vec<minijinja::Value> = scope
        .range
        .days()
        .iter()
        .zip(values)
        .map(|(d, v)| {
            context! { iso => d.to_string(), short => d.strftime("%m-%d").to_string(), value => v }
        })
        .collect();
    context! { chart => time_chart(values), days => days }
}

/// The query string of a CSV link: the range as shown, the zone, a grouping.
fn csv_link(scope: &Scope, name: &str, by: By) -> String {
    url_with(
        &format!("{PAGE}/{name}.csv"),
        &[
            ("from", &scope.range.first.to_string()),
            ("to", &scope.range.last.to_string()),
            ("tz", &scope.zone),
            ("by", by.as_str()),
        ],
    )
}

/// Everything the page shows for a range that reads.
async fn sections(app: &App, viewer: &Viewer, scope: &Scope) -> Result<minijinja::Value, Response> {
    let lang = viewer.lang;
    let (tickets, cut) = tickets(app, &scope.range)
        .await
        .map_err(|e| internal(viewer, &e))?;
    let (open, cut_backlog) = backlog_of(app, &scope.range)
        .await
        .map_err(|e| internal(viewer, &e))?;
    let teams: HashMap<String, String> = crate::desk::store::routing::teams(app.store.read())
        .await
        .map_err(|e| internal(viewer, &e))?
        .into_iter()
        .map(|team| (team.slug, team.name))
        .collect();
    let range = &scope.range;
    let volume = |by| koban_policy::desk::report::volume(&tickets, range, by);
    let (all, per_day) = volume(By::Day);
    let (_, per_channel) = volume(By::Channel);
    let (_, per_category) = volume(By::Category);
    let per_day: Vec<u64> = per_day.iter().map(|g| g.tickets).collect();
    let by = scope.by;
    let times = match figures_of(Report::Times, range, by, &tickets) {
        Figures::Times(all, groups) => std::iter::once((None, all))
            .chain(
                groups
                    .into_iter()
                    .map(|g| (Some(label(lang, by, &g.key, &teams)), g)),
            )
            .map(|(name, g)| {
                context! { label => name, tickets => g.tickets,
                first_response => stats(lang, &g.value.first_response),
                resolution => stats(lang, &g.value.resolution) }
            })
            .collect(),
        _ => vec![],
    };
    let sla = match figures_of(Report::Sla, range, by, &tickets) {
        Figures::Sla(all, groups) => std::iter::once((None, all))
            .chain(groups.into_iter().map(|g| (Some(label(lang, by, &g.key, &teams)), g)))
            .map(|(name, g)| {
                let (f, r) = (g.value.first_response, g.value.resolution);
                context! { label => name, tickets => g.tickets,
                    first_response => context! { met => f.met, breached => f.breached, pending => f.pending, percent => percent(f.permille()) },
                    resolution => context! { met => r.met, breached => r.breached, pending => r.pending, percent => percent(r.permille()) } }
            })
            .collect(),
        _ => vec![],
    };
    let triage: Vec<minijinja::Value> =
        match figures_of(Report::Triage, range, By::Category, &tickets) {
            Figures::Triage(all, groups) => std::iter::once((None, all))
                .chain(
                    groups
                        .into_iter()
                        .map(|g| (Some(label(lang, By::Category, &g.key, &teams)), g)),
                )
                .map(|(name, g)| {
                    context! { label => name, triaged => g.tickets, corrected => g.value.corrected,
                    percent => percent(share_permille(g.value.corrected, g.tickets)) }
                })
                .collect(),
            _ => vec![],
        };
    Ok(context! {
        total => all.tickets,
        truncated => cut || cut_backlog,
        per_day => over_days(scope, &per_day),
        per_channel => bars(lang, By::Channel, &per_channel, &teams),
        per_category => bars(lang, By::Category, &per_category, &teams),
        times => times,
        sla => sla,
        backlog => over_days(scope, &open),
        triage => triage,
        csv => context! {
            volume_day => csv_link(scope, "volume", By::Day),
            volume_channel => csv_link(scope, "volume", By::Channel),
            volume_category => csv_link(scope, "volume", By::Category),
            times => csv_link(scope, "times", by),
            sla => csv_link(scope, "sla", by),
            backlog => csv_link(scope, "backlog", By::Day),
            triage => csv_link(scope, "triage", By::Category),
        },
    })
}

/// `GET /desk/reports?from=&to=&by=`: `by` groups times and SLA.
async fn page(State(app): State<Arc<App>>, viewer: Viewer, RawQuery(raw): RawQuery) -> Response {
    if let Err(response) = supervisor(&viewer) {
        return response;
    }
    let values = params(raw.as_deref());
    let groupings: Vec<minijinja::Value> = [By::Team, By::Channel, By::Category]
        .iter()
        .map(|b| context! { value => b.as_str(), label => t(viewer.lang, &format!("report-by-{}", b.as_str()), &[]) })
        .collect();
    let mut base = context! {
        zone => viewer.zone_name(),
        groupings => groupings,
        satisfaction => "/desk/reports/satisfaction",
    };
    let asked = ask(&values, values.get("by").map(String::as_str));
    match scope(Report::Times, asked, viewer.tz.as_ref()) {
        Ok(scope) => {
            let shown: BTreeMap<&str, String> = BTreeMap::from([
                ("from", scope.range.first.to_string()),
                ("to", scope.range.last.to_string()),
                ("by", scope.by.as_str().to_string()),
            ]);
            let figures = match sections(&app, &viewer, &scope).await {
                Ok(figures) => figures,
                Err(response) => return response,
            };
            base = context! { values => shown, report => figures, ..base };
            render::page(&viewer, StatusCode::OK, "desk_reports.html", base)
        }
        Err(error) => match explain_problem(&viewer, Problem::from(error), &["from", "to", "by"]) {
            Ok(feedback) => refused(
                &viewer,
                "desk_reports.html",
                feedback,
                context! { values => values, ..base },
            ),
            Err(response) => response,
        },
    }
}

/// `GET /desk/reports/{name}.csv?from=&to=&tz=&by=`: one report as CSV.
async fn download(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(response) = supervisor(&viewer) {
        return response;
    }
    let Some(report) = file.strip_suffix(".csv").and_then(Report::parse) else {
        return render::error(&viewer, StatusCode::NOT_FOUND, "problem-not-found");
    };
    let values = params(raw.as_deref());
    let asked = ask(&values, values.get("by").map(String::as_str));
    let answer = match scope(report, asked, viewer.tz.as_ref()) {
        Ok(scope) => figures(&app, &scope).await.map(|(f, _)| (scope, f)),
        Err(error) => Err(error),
    };
    match answer {
        Ok((scope, figures)) => {
            let name = format!(
                "koban-{}-{}-{}-{}.csv",
                report.as_str(),
                scope.by.as_str(),
                scope.range.first,
                scope.range.last
            );
            // The byte-order mark tells Excel the file is UTF-8, so team
            // names in Japanese or Thai open as written.
            let body = format!("\u{feff}{}", csv(&scope, &figures));
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                ],
                body,
            )
                .into_response()
        }
        Err(error) => {
            let problem = Problem::from(error);
            if problem.status.is_server_error() {
                return internal(&viewer, &problem.message);
            }
            let document = problem.to_json(viewer.lang, &viewer.request_id);
            let mut said = document["detail"].as_str().unwrap_or_default().to_string();
            for e in &problem.errors {
                said.push(' ');
                said.push_str(&t(viewer.lang, &format!("reason-{}", e.code), &[]));
            }
            render::error_text(&viewer, problem.status, said)
        }
    }
}
