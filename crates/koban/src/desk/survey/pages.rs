//! The survey's pages: the requester's form opened from the link (signed
//! out) or from their ticket (signed in), and the supervisors' report with
//! its table, a bar of the scores drawn on the server, and the CSV link.
//! They call the same service functions as the API.

use crate::accounts::pages::{explain_problem, refused};
use crate::accounts::sessions::Viewing;
use crate::desk::console::pages::agent_of;
use crate::desk::error::DeskError;
use crate::desk::store::surveys;
use crate::desk::survey::api::{rate_ticket, ReportQuery};
use crate::desk::survey::{self, report, Satisfaction};
use crate::desk::tickets::service;
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::{render, see_other, url_with, PageForm, Viewer};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

type Posted = BTreeMap<String, String>;

const FORM: &str = "desk_survey.html";
const REPORT: &str = "desk_survey_report.html";

/// Routes of the survey pages.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/support/surveys/{token}", get(link_page).post(link_answer))
        .route(
            "/support/tickets/{reference}/satisfaction",
            get(ticket_page).post(ticket_answer),
        )
        .route("/desk/reports/satisfaction", get(report_page))
}

/// The form, or the answer once given.
fn show(viewer: &Viewer, action: &str, s: &Satisfaction, back: Option<String>) -> Response {
    render::page(
        viewer,
        StatusCode::OK,
        FORM,
        context! { survey => s, action => action, back => back, scores => [5, 4, 3, 2, 1], comment => "" },
    )
}

/// The form again with what was refused, keeping what was typed.
fn again(
    viewer: &Viewer,
    action: &str,
    s: &Satisfaction,
    error: DeskError,
    form: &Posted,
) -> Response {
    match explain_problem(viewer, Problem::from(error), &["score", "comment"]) {
        Ok(feedback) => refused(
            viewer,
            FORM,
            feedback,
            context! {
                survey => s, action => action, scores => [5, 4, 3, 2, 1],
                chosen => form.get("score").cloned().unwrap_or_default(),
                comment => form.get("comment").cloned().unwrap_or_default(),
            },
        ),
        Err(response) => response,
    }
}

/// A score as a form posts it: not a whole number reads as one out of range.
fn score_of(form: &Posted) -> Result<i64, DeskError> {
    match form
        .get("score")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        None => Err(DeskError::field("score", "required")),
        Some(s) => s
            .parse::<i64>()
            .map_err(|_| DeskError::field("score", "out_of_range")),
    }
}

fn gone(viewer: &Viewer) -> Response {
    render::error(viewer, StatusCode::NOT_FOUND, "survey-link-invalid")
}

/// `GET /support/surveys/{token}`.
async fn link_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Response {
    match survey::by_token(&app, &token).await {
        Ok((ticket, row)) => {
            let s = survey::satisfaction(&ticket, Some(&row));
            show(&viewer, &format!("/support/surveys/{token}"), &s, None)
        }
        Err(DeskError::NotFound) => gone(&viewer),
        Err(error) => problem_page(&viewer, error),
    }
}

/// `POST /support/surveys/{token}`.
async fn link_answer(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(token): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let action = format!("/support/surveys/{token}");
    let (ticket, row) = match survey::by_token(&app, &token).await {
        Ok(found) => found,
        Err(DeskError::NotFound) => return gone(&viewer),
        Err(error) => return problem_page(&viewer, error),
    };
    let before = survey::satisfaction(&ticket, Some(&row));
    let result = match score_of(&form) {
        Ok(score) => {
            let comment = form.get("comment").map(String::as_str);
            survey::answer(&app, &ticket, Some(row), score, comment, None).await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => see_other(&action),
        Err(error) => again(&viewer, &action, &before, error, &form),
    }
}

fn problem_page(viewer: &Viewer, error: DeskError) -> Response {
    let problem = Problem::from(error);
    render::error(viewer, problem.status, problem.message)
}

/// `GET /support/tickets/{reference}/satisfaction`: the requester's own.
async fn ticket_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(reference): Path<String>,
) -> Response {
    let Some(current) = viewer.current().cloned() else {
        return see_other(&url_with("/signin", &[("next", &viewer.here)]));
    };
    let found = async {
        let (ticket, standing) = service::visible(&app, &current, &reference).await?;
        if standing != service::Standing::Requester {
            return Err(DeskError::Forbidden);
        }
        let row = surveys::of_ticket(app.store.read(), ticket.id).await?;
        Ok::<_, DeskError>(survey::satisfaction(&ticket, row.as_ref()))
    }
    .await;
    match found {
        Ok(s) => {
            let back = format!("/support/tickets/{}", s.reference);
            show(&viewer, &viewer.here.clone(), &s, Some(back))
        }
        Err(error) => problem_page(&viewer, error),
    }
}

/// `POST /support/tickets/{reference}/satisfaction`.
async fn ticket_answer(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(reference): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let Some(current) = viewer.current().cloned() else {
        return see_other(&url_with("/signin", &[("next", &viewer.here)]));
    };
    let result = match score_of(&form) {
        Ok(score) => {
            let comment = form.get("comment").map(String::as_str);
            rate_ticket(&app, &current, &reference, score, comment).await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => see_other(&viewer.here),
        Err(DeskError::Invalid(errors)) => {
            let shown = async {
                let (ticket, _) = service::visible(&app, &current, &reference).await?;
                let row = surveys::of_ticket(app.store.read(), ticket.id).await?;
                Ok::<_, DeskError>(survey::satisfaction(&ticket, row.as_ref()))
            }
            .await;
            match shown {
                Ok(s) => again(&viewer, &viewer.here, &s, DeskError::Invalid(errors), &form),
                Err(error) => problem_page(&viewer, error),
            }
        }
        Err(error) => problem_page(&viewer, error),
    }
}

/// One bar of the distribution: a score, its count and share.
#[derive(serde::Serialize)]
struct Bar {
    score: usize,
    count: i64,
    /// Left edge and width on a 0–100 scale.
    x: f64,
    width: f64,
}

/// The scores of all answers as one stacked bar, 1 at the left.
fn bars(counts: &[i64; 5]) -> Vec<Bar> {
    let total: i64 = counts.iter().sum();
    let mut x = 0.0;
    let mut bars = Vec::new();
    for (i, count) in counts.iter().enumerate() {
        let width = if total > 0 {
            *count as f64 * 100.0 / total as f64
        } else {
            0.0
        };
        bars.push(Bar {
            score: i + 1,
            count: *count,
            x: (x * 100.0_f64).round() / 100.0,
            width: (width * 100.0).round() / 100.0,
        });
        x += width;
    }
    bars
}

/// `GET /desk/reports/satisfaction`: supervisors; the last 30 days by
/// default, in the viewer's zone.
async fn report_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(query): Query<Posted>,
) -> Response {
    let agent = match agent_of(&viewer) {
        Ok(agent) => agent,
        Err(page) => return page,
    };
    if !agent.account.has_role("supervisor") {
        return render::error(&viewer, StatusCode::NOT_FOUND, "problem-not-found");
    }
    let zone = viewer.tz.clone().unwrap_or(jiff::tz::TimeZone::UTC);
    let today = jiff::Timestamp::now().to_zoned(zone).date();
    let month_ago = today
        .checked_sub(jiff::Span::new().days(29))
        .unwrap_or(today);
    let pick = |name: &str, default: String| {
        query
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or(default)
    };
    let asked = ReportQuery {
        from: pick("from", month_ago.to_string()),
        to: pick("to", today.to_string()),
        by: Some(pick("by", "agent".into())),
        tz: None,
    };
    let withheld = report::withheld_regions(&app);
    let page = |report: Option<report::Report>| {
        let distribution = report.as_ref().map(|r| bars(&r.total.counts));
        let csv = url_with(
            "/api/v1/desk/reports/satisfaction/export",
            &[
                ("from", asked.from.as_str()),
                ("to", asked.to.as_str()),
                ("tz", viewer.zone_name().as_str()),
            ],
        );
        context! {
            report => report, asked_from => asked.from, asked_to => asked.to,
            asked_by => asked.by, bys => ["agent", "team", "channel", "category"],
            distribution => distribution, csv => csv, zone => viewer.zone_name(),
            withheld => withheld.join(", "),
        }
    };
    let result = async {
        let ask = report::Ask::read(&asked, &headers)?;
        report::report(&app, &ask).await
    }
    .await;
    match result {
        Ok(report) => render::page(&viewer, StatusCode::OK, REPORT, page(Some(report))),
        Err(error) => match explain_problem(&viewer, Problem::from(error), &["from", "to", "by"]) {
            Ok(feedback) => refused(&viewer, REPORT, feedback, page(None)),
            Err(response) => response,
        },
    }
}
