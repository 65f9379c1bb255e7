//! The requester's pages: "Contact support" (signed in or out), the
//! reference number page, my requests, and one request with its
//! conversation and a reply form. Handlers call [`super::service`], the
//! same as the API, and show refusals next to the fields.

use super::service::{self, Opening, Requester, Standing};
use super::store;
use crate::accounts::pages::{explain_problem, internal};
use crate::accounts::sessions::Viewing;
use crate::http::pagination::{page, PageQuery};
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::{render, see_other, url_with, PageForm, Viewer};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use koban_policy::desk::forms::{Category, Field};
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Routes for the requester's pages.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/support", get(form_page).post(submit))
        .route("/support/tickets", get(my_requests))
        .route("/support/tickets/{reference}", get(request_page))
        .route("/support/tickets/{reference}/reply", post(reply))
}

/// The form's optional details, in the order shown.
const DETAILS: [Field; 7] = [
    Field::ContactUsed,
    Field::HappenedAt,
    Field::DeviceOs,
    Field::ClientVersion,
    Field::ErrorText,
    Field::Steps,
    Field::DeviceOsVersion,
];

/// What the form posts: every member a string, as browsers send them.
type Posted = BTreeMap<String, String>;

fn form_context(viewer: &Viewer, values: &Posted) -> minijinja::Value {
    let details_open = DETAILS
        .iter()
        .any(|f| values.get(f.as_str()).is_some_and(|v| !v.trim().is_empty()));
    context! {
        values => values,
        categories => Category::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        detail_fields => DETAILS.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
        details_open => details_open,
        signed_in => viewer.who.is_some(),
    }
}

/// `GET /support?category=…`.
async fn form_page(viewer: Viewer, Query(query): Query<Posted>) -> Response {
    let values: Posted = query.into_iter().filter(|(k, _)| k == "category").collect();
    render::page(
        &viewer,
        StatusCode::OK,
        "support_form.html",
        form_context(&viewer, &values),
    )
}

/// `POST /support`: opens the ticket, then shows its reference number.
async fn submit(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let take = |name: &str| {
        form.get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let fields: BTreeMap<String, String> = DETAILS
        .iter()
        .filter_map(|f| take(f.as_str()).map(|v| (f.as_str().to_string(), v)))
        .collect();
    let opening = Opening {
        category: take("category"),
        subject: form.get("subject").cloned().unwrap_or_default(),
        body: form.get("body").cloned().unwrap_or_default(),
        fields,
        language: viewer.lang.tag().to_string(),
        region: None,
        time_zone: viewer
            .tz
            .as_ref()
            .and_then(|tz| tz.iana_name().map(str::to_string)),
        channel: "web",
        share_security_context: form
            .get("share_security_context")
            .is_some_and(|v| v == "yes"),
        attachments: tokens(&form),
    };
    let current = viewer.current().cloned();
    let requester = match &current {
        Some(current) => Requester::Account(current),
        None => Requester::Contact {
            email: take("email"),
            phone: None,
            region: None,
            name: None,
        },
    };
    match service::open(&app, requester, opening).await {
        Ok(opened) => render::page(
            &viewer,
            StatusCode::CREATED,
            "support_sent.html",
            context! { reference => opened.reference, signed_in => current.is_some() },
        ),
        Err(error) => {
            // Errors on form fields are named `fields.x` in the API.
            let problem = Problem::from(error);
            let mut problem = problem;
            for e in &mut problem.errors {
                if let Some(name) = e.field.strip_prefix("fields.") {
                    e.field = name.to_string();
                }
            }
            let names: Vec<&str> = ["category", "subject", "body", "email"]
                .into_iter()
                .chain(DETAILS.iter().map(|f| f.as_str()))
                .collect();
            match explain_problem(&viewer, problem, &names) {
                Ok(feedback) => crate::accounts::pages::refused(
                    &viewer,
                    "support_form.html",
                    feedback,
                    form_context(&viewer, &form),
                ),
                Err(response) => response,
            }
        }
    }
}

/// One request in the list.
#[derive(serde::Serialize)]
struct Row {
    reference: String,
    subject: String,
    status: String,
}

/// `GET /support/tickets`: the signed-in requester's requests.
async fn my_requests(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<PageQuery>,
) -> Response {
    let Some(current) = viewer.current() else {
        return see_other(&url_with("/signin", &[("next", "/support/tickets")]));
    };
    let (before, limit) = match query.bounds() {
        Ok(bounds) => bounds,
        Err(problem) => return render::error(&viewer, problem.status, problem.message),
    };
    let rows =
        match store::tickets_of_account(app.store.read(), current.account.id, before, limit + 1)
            .await
        {
            Ok(rows) => rows,
            Err(error) => return internal(&viewer, &error),
        };
    let ids: Vec<(i64, Row)> = rows
        .iter()
        .map(|t| {
            (
                t.id,
                Row {
                    reference: super::api::formatted(&t.reference),
                    subject: t.subject.clone(),
                    status: t.status.clone(),
                },
            )
        })
        .collect();
    let paged = page(ids, limit, |(id, _)| *id);
    let next = paged
        .next_cursor
        .map(|c| url_with("/support/tickets", &[("cursor", &c)]));
    let tickets: Vec<Row> = paged.items.into_iter().map(|(_, row)| row).collect();
    render::page(
        &viewer,
        StatusCode::OK,
        "support_tickets.html",
        context! { tickets => tickets, next => next },
    )
}

/// One message as the page shows it.
#[derive(serde::Serialize)]
struct MessageRow {
    author: String,
    body: String,
    at: String,
    at_text: String,
}

async fn request_context(
    app: &App,
    viewer: &Viewer,
    reference: &str,
) -> Result<minijinja::Value, Response> {
    let Some(current) = viewer.current() else {
        return Err(see_other(&url_with("/signin", &[("next", &viewer.here)])));
    };
    let (ticket, standing) = match service::visible(app, current, reference).await {
        Ok(found) => found,
        Err(error) => {
            let problem = Problem::from(error);
            return Err(render::error(viewer, problem.status, problem.message));
        }
    };
    let messages = store::messages(app.store.read(), ticket.id, standing == Standing::Agent)
        .await
        .map_err(|e| internal(viewer, &e))?;
    let messages: Vec<MessageRow> = messages
        .into_iter()
        .map(|m| {
            let when = viewer.when(m.created_at);
            MessageRow {
                author: m.author_kind,
                body: m.body,
                at: when.iso,
                at_text: when.text,
            }
        })
        .collect();
    let attachments = super::attachments_api::listed(app, current, &ticket)
        .await
        .map_err(|p| render::error(viewer, p.status, p.message))?;
    Ok(context! {
        ticket => context! {
            reference => super::api::formatted(&ticket.reference),
            subject => ticket.subject,
            status => ticket.status,
        },
        messages => messages,
        attachments => attachments,
    })
}

/// `GET /support/tickets/{reference}`.
async fn request_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(reference): Path<String>,
) -> Response {
    match request_context(&app, &viewer, &reference).await {
        Ok(page) => render::page(&viewer, StatusCode::OK, "support_ticket.html", page),
        Err(response) => response,
    }
}

/// `POST /support/tickets/{reference}/reply`.
async fn reply(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(reference): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let Some(current) = viewer.current().cloned() else {
        return see_other(&url_with("/signin", &[("next", &viewer.here)]));
    };
    let body = form.get("body").cloned().unwrap_or_default();
    let result = async {
        let (ticket, standing) = service::visible(&app, &current, &reference).await?;
        let added = service::add_message_with(
            &app,
            &current,
            &ticket,
            standing,
            &body,
            true,
            &tokens(&form),
        )
        .await?;
        // On a closed request the reply opened a follow-up: go there.
        Ok::<_, super::DeskError>(
            added
                .follow_up
                .unwrap_or_else(|| super::api::formatted(&ticket.reference)),
        )
    }
    .await;
    match result {
        Ok(formatted) => see_other(&format!("/support/tickets/{formatted}")),
        Err(error) => {
            let problem = Problem::from(error);
            let status = problem.status;
            match explain_problem(&viewer, problem, &["body"]) {
                Ok(feedback) => match request_context(&app, &viewer, &reference).await {
                    Ok(page) => crate::accounts::pages::refused(
                        &viewer,
                        "support_ticket.html",
                        feedback,
                        page,
                    ),
                    Err(response) => response,
                },
                Err(_) => render::error(&viewer, status, "problem-not-found"),
            }
        }
    }
}

/// The upload tokens the page's script put in the `attachments` field
/// (comma-separated); without the script no file is sent.
fn tokens(form: &Posted) -> Vec<String> {
    form.get("attachments")
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
