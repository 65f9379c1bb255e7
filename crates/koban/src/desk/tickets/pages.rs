//! The requester's pages: "Contact support" (signed in or out), the
//! reference number page, my requests, and one request with its
//! conversation and a reply form. Handlers call [`crate::desk::tickets::service`], the
//! same as the API, and show refusals next to the fields.

use crate::accounts::pages::{explain_problem, internal};
use crate::accounts::sessions::Viewing;
use crate::desk::lookup::api::Reader;
use crate::desk::store;
use crate::desk::tickets::custom_fields;
use crate::desk::tickets::service::{self, Opening, Requester, Standing};
use crate::http::pagination::{page, PageQuery};
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::{render, see_other, url_with, PageForm, Viewer};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use koban_policy::desk::forms::{Category, Field, FormSpec};
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
        .route(
            "/support/tickets/{reference}/escalate",
            post(crate::desk::routing::escalate::escalate_page),
        )
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

/// The chosen category's form, for its custom fields; none without a
/// valid category (the service then refuses or triages as the API does).
async fn chosen_form(app: &App, values: &Posted) -> Option<FormSpec> {
    let category = Category::parse(values.get("category")?.trim()).ok()?;
    crate::desk::admin::forms::form_for(app, category)
        .await
        .ok()
}

fn form_context(viewer: &Viewer, values: &Posted, spec: Option<&FormSpec>) -> minijinja::Value {
    let custom = spec
        .map(|s| custom_fields::view(s, viewer.lang.tag(), values))
        .unwrap_or_default();
    let details_open = DETAILS
        .iter()
        .any(|f| values.get(f.as_str()).is_some_and(|v| !v.trim().is_empty()));
    context! {
        values => values,
        categories => Category::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        detail_fields => DETAILS.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
        details_open => details_open,
        signed_in => viewer.who.is_some(),
        custom_fields => custom,
    }
}

/// `GET /support?category=…&reference=LK-…`: the lock page links here with
/// the lock's reference, which the form keeps as the error text shown.
async fn form_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<Posted>,
) -> Response {
    let mut values: Posted = query
        .iter()
        .filter(|(k, _)| *k == "category")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(lock) = query.get("reference").filter(|r| is_lock_reference(r)) {
        values.insert(Field::ErrorText.as_str().to_string(), lock.clone());
    }
    let spec = chosen_form(&app, &values).await;
    render::page(
        &viewer,
        StatusCode::OK,
        "support_form.html",
        form_context(&viewer, &values, spec.as_ref()),
    )
}

/// The browser's date-time picker sends a wall-clock time without a zone
/// (`2026-12-04T10:30`): read it in the viewer's time zone and pass the
/// instant on. Anything else goes on as typed, for the form's check to judge.
fn instant_of_local(value: &str, tz: Option<&jiff::tz::TimeZone>) -> String {
    let utc = jiff::tz::TimeZone::UTC;
    match value.parse::<jiff::civil::DateTime>() {
        // `YYYY-MM-DDTHH:MM[:SS]` and nothing more: no offset, no zone.
        Ok(local) if value.len() <= 19 => local
            .to_zoned(tz.unwrap_or(&utc).clone())
            .map(|zoned| zoned.timestamp().to_string())
            .unwrap_or_else(|_| value.to_string()),
        _ => value.to_string(),
    }
}

/// `LK-` and digits with dashes, as the lock page shows them.
fn is_lock_reference(text: &str) -> bool {
    text.len() <= 40
        && text
            .strip_prefix("LK-")
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
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
    let spec = chosen_form(&app, &form).await;
    // "Check for answers": the form comes back with the help center's
    // articles for what was written, and nothing is sent yet.
    if form.contains_key("check") {
        let suggestions = suggestions_for(&app, &viewer, &form).await;
        let page = form_context(&viewer, &form, spec.as_ref());
        return render::page(
            &viewer,
            StatusCode::OK,
            "support_form.html",
            context! { suggestions => suggestions, checked => true, ..page },
        );
    }
    let mut fields: BTreeMap<String, String> = DETAILS
        .iter()
        .filter_map(|f| take(f.as_str()).map(|v| (f.as_str().to_string(), v)))
        .map(|(name, value)| match name == Field::HappenedAt.as_str() {
            true => (name, instant_of_local(&value, viewer.tz.as_ref())),
            false => (name, value),
        })
        .collect();
    if let Some(spec) = &spec {
        fields.extend(custom_fields::answers(spec, &form));
    }
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
        team: None,
        origin: None,
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
            // Errors on form fields are named `fields.x` in the API; the
            // standard details are inputs named `x`, custom ones `fields.x`.
            let mut problem = Problem::from(error);
            for e in &mut problem.errors {
                if let Some(name) = e.field.strip_prefix("fields.") {
                    if DETAILS.iter().any(|f| f.as_str() == name) {
                        e.field = name.to_string();
                    }
                }
            }
            let custom_names: Vec<String> = spec
                .iter()
                .flat_map(|s| &s.custom)
                .map(|f| custom_fields::input_name(&f.id))
                .collect();
            let names: Vec<&str> = ["category", "subject", "body", "email"]
                .into_iter()
                .chain(DETAILS.iter().map(|f| f.as_str()))
                .chain(custom_names.iter().map(String::as_str))
                .collect();
            match explain_problem(&viewer, problem, &names) {
                Ok(feedback) => {
                    // A refused detail must be seen: its section opens.
                    let details_open = DETAILS
                        .iter()
                        .any(|f| feedback.errors.contains_key(f.as_str()));
                    let suggestions = suggestions_for(&app, &viewer, &form).await;
                    let page = form_context(&viewer, &form, spec.as_ref());
                    let page = context! { suggestions => suggestions, ..page };
                    crate::accounts::pages::refused(
                        &viewer,
                        "support_form.html",
                        feedback,
                        match details_open {
                            true => context! { details_open => true, ..page },
                            false => page,
                        },
                    )
                }
                Err(response) => response,
            }
        }
    }
}

/// The help center's articles for the subject and body written so far
/// (see [`crate::desk::tickets::deflection`]).
async fn suggestions_for(
    app: &App,
    viewer: &Viewer,
    form: &Posted,
) -> Vec<crate::desk::tickets::deflection::Suggestion> {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let text = format!("{}\n{}", field("subject"), field("body"));
    crate::desk::tickets::deflection::suggestions(app, &text, viewer.lang.tag()).await
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
                    reference: crate::desk::tickets::api::formatted(&t.reference),
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

/// Who reads the page (signed in, or holding a lookup grant), or where to go.
async fn reader(app: &App, viewer: &Viewer, headers: &HeaderMap) -> Result<Reader, Response> {
    match crate::desk::lookup::pages::page_reader(app, viewer, headers).await {
        Ok(Some(reader)) => Ok(reader),
        Ok(None) => Err(see_other(&url_with(
            "/signin",
            &[("next", back_to_request(&viewer.here))],
        ))),
        Err(error) => {
            let problem = Problem::from(error);
            Err(render::error(viewer, problem.status, problem.message))
        }
    }
}

/// Where to come back to after signing in: the request's page, not the
/// address one of its forms posted to (nothing answers a GET there).
pub(crate) fn back_to_request(here: &str) -> &str {
    ["/reply", "/escalate"]
        .iter()
        .find_map(|form| here.strip_suffix(form))
        .unwrap_or(here)
}

pub(crate) async fn request_context(
    app: &App,
    viewer: &Viewer,
    headers: &HeaderMap,
    reference: &str,
) -> Result<minijinja::Value, Response> {
    let reader = reader(app, viewer, headers).await?;
    let (ticket, standing) = match reader.ticket(app, reference).await {
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
    let expected = crate::desk::routing::sla::expected_response(app, &ticket)
        .await
        .map_err(|e| internal(viewer, &e))?
        .map(|e| viewer.when(e.due_at));
    let escalated = store::sla::escalated_at(app.store.read(), ticket.id)
        .await
        .map_err(|e| internal(viewer, &e))?
        .is_some();
    let attachments = crate::desk::attachments::api::listed(app, reader.current(), &ticket)
        .await
        .map_err(|p| render::error(viewer, p.status, p.message))?;
    Ok(context! {
        ticket => context! {
            reference => crate::desk::tickets::api::formatted(&ticket.reference),
            subject => ticket.subject,
            status => ticket.status,
            priority => ticket.priority,
        },
        messages => messages,
        signed_in => viewer.who.is_some(),
        expected => expected.map(|w| context! { at => w.iso, at_text => w.text }),
        // Escalating takes the requester's account (the API's and the
        // form's handler both ask for a session): a lookup grant's holder
        // is not offered a form that would send them to sign in.
        can_escalate => standing == Standing::Requester
            && reader.current().is_some()
            && !escalated
            && ticket.status != "closed",
        escalated => escalated,
        attachments => attachments,
    })
}

/// `GET /support/tickets/{reference}`.
async fn request_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(reference): Path<String>,
    Query(query): Query<Posted>,
) -> Response {
    // After a reply to a closed request: the follow-up it opened.
    let follow_up = query
        .get("follow_up")
        .and_then(|r| koban_policy::desk::reference::parse(r).ok())
        .map(koban_policy::desk::reference::format);
    match request_context(&app, &viewer, &headers, &reference).await {
        Ok(page) => render::page(
            &viewer,
            StatusCode::OK,
            "support_ticket.html",
            context! { follow_up => follow_up, ..page },
        ),
        Err(response) => response,
    }
}

/// `POST /support/tickets/{reference}/reply`.
async fn reply(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(reference): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let reader = match reader(&app, &viewer, &headers).await {
        Ok(reader) => reader,
        Err(response) => return response,
    };
    let body = form.get("body").cloned().unwrap_or_default();
    let result = async {
        let (ticket, standing) = reader.ticket(&app, &reference).await?;
        let added = service::add_message_as(
            &app,
            reader.author(),
            &ticket,
            standing,
            &body,
            true,
            &tokens(&form),
            None,
        )
        .await?;
        Ok::<_, crate::desk::DeskError>((
            crate::desk::tickets::api::formatted(&ticket.reference),
            added.follow_up,
        ))
    }
    .await;
    match result {
        Ok((formatted, None)) => see_other(&format!("/support/tickets/{formatted}")),
        // On a closed request the reply opened a follow-up: say so here,
        // where a signed-out reader's grant still opens the page.
        Ok((formatted, Some(follow_up))) => see_other(&url_with(
            &format!("/support/tickets/{formatted}"),
            &[("follow_up", &follow_up)],
        )),
        Err(error) => {
            match explain_problem(&viewer, Problem::from(error), &["body"]) {
                Ok(feedback) => match request_context(&app, &viewer, &headers, &reference).await {
                    // What was written stays in the form, to be corrected.
                    Ok(page) => crate::accounts::pages::refused(
                        &viewer,
                        "support_ticket.html",
                        feedback,
                        context! { kept => context! { body => body }, ..page },
                    ),
                    Err(response) => response,
                },
                // A server failure's own page, not "not found".
                Err(response) => response,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picked_wall_clock_time_is_read_in_the_viewers_zone() {
        let tokyo = jiff::tz::TimeZone::get("Asia/Tokyo").expect("zone");
        assert_eq!(
            instant_of_local("2026-12-04T09:30", Some(&tokyo)),
            "2026-12-04T00:30:00Z"
        );
        assert_eq!(
            instant_of_local("2026-12-04T09:30", None),
            "2026-12-04T09:30:00Z"
        );
        // An instant, or anything else, goes on as typed.
        for typed in [
            "2026-12-04T09:30:00+09:00",
            "yesterday",
            "2026-12-04T09:30:00Z",
        ] {
            assert_eq!(instant_of_local(typed, Some(&tokyo)), typed);
        }
        assert!(is_lock_reference("LK-1234-5678"));
        for not in ["LK-", "lk-1234", "LK-12a4", "<b>"] {
            assert!(!is_lock_reference(not), "{not}");
        }
    }
}
