//! The desk's JSON API: opening a ticket (signed in or not), a requester's
//! tickets, one ticket with its conversation, replies and notes, and triage.

use crate::accounts::sessions::{self, Authenticated, Current};
use crate::desk::lookup::api::Reader;
use crate::desk::store::{self, TicketRow};
use crate::desk::tickets::service::{self, Opening, Requester, Standing};
use crate::desk::tickets::triage::{TriageAnswer, TriageInput};
use crate::http::auth::{presented_token, Staff};
use crate::http::json::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{page, Page, PageQuery};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use koban_policy::desk::permissions::Action;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A new ticket. Signed out, give `email` or `phone` so support can answer.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicketRequest {
    /// One of the ten categories; omitted, triage picks one from the text.
    pub category: Option<String>,
    #[schema(max_length = 200)]
    pub subject: String,
    #[schema(max_length = 20000)]
    pub body: String,
    /// The category form's answers: `device_os`, `device_os_version`,
    /// `client_version`, `happened_at` (RFC 3339), `error_text`,
    /// `contact_used`, `steps`, and the form's own fields. Values are
    /// strings; a checkbox field takes `true` or `false`, a number field a
    /// number too.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, Object>)]
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Signed out: where support answers.
    #[schema(schema_with = crate::http::openapi::schemas::email)]
    pub email: Option<String>,
    #[schema(schema_with = crate::http::openapi::schemas::phone)]
    pub phone: Option<String>,
    #[schema(schema_with = crate::http::openapi::schemas::region)]
    pub region: Option<String>,
    /// How support should address the requester.
    #[schema(max_length = 100)]
    pub name: Option<String>,
    /// IANA time zone, e.g. `Asia/Tokyo`.
    #[schema(max_length = 64)]
    pub time_zone: Option<String>,
    /// Signed in: attach the account's security context (lock, recent
    /// sign-ins, devices, second factors) so support need not ask.
    #[serde(default)]
    pub share_security_context: bool,
    /// Tokens from `POST /api/v1/desk/uploads` of the files that come with it.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub attachments: Vec<String>,
}

/// Opens a ticket; the answer carries its reference number.
#[utoipa::path(post, path = "/api/v1/desk/tickets", tag = "desk", request_body = NewTicketRequest,
    security((), ("bearer" = []), ("session_cookie" = [])),
    responses((status = 201, body = service::Opened), (status = 401), (status = 422), (status = 429)))]
pub async fn open_ticket(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<NewTicketRequest>,
) -> Result<(StatusCode, Json<service::Opened>), Problem> {
    let current = signed_in(&app, &headers).await?;
    let language = current
        .as_ref()
        .and_then(|c| c.account.locale.clone())
        .unwrap_or_else(|| crate::web::lang_from_headers(&headers).tag().to_string());
    let time_zone = match input
        .time_zone
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(name) if name.len() <= 64 && jiff::tz::TimeZone::get(name).is_ok() => {
            Some(name.to_string())
        }
        Some(_) => return Err(Problem::field("time_zone", "invalid_value")),
    };
    if input
        .name
        .as_deref()
        .is_some_and(|n| n.chars().count() > 100)
    {
        return Err(Problem::field("name", "too_long"));
    }
    let requester = match &current {
        Some(current) => Requester::Account(current),
        None => Requester::Contact {
            email: input.email,
            phone: input.phone,
            region: input.region.clone(),
            name: input.name,
        },
    };
    let opening = Opening {
        category: input.category,
        subject: input.subject,
        body: input.body,
        fields: as_text(input.fields)?,
        language,
        region: input.region,
        time_zone,
        channel: "web",
        share_security_context: input.share_security_context,
        attachments: input.attachments,
        team: None,
        origin: None,
    };
    let opened = service::open(&app, requester, opening).await?;
    Ok((StatusCode::CREATED, Json(opened)))
}

/// The form's answers as the form check reads them: a checkbox's `true`
/// is the word `true`, a number its digits. Whether the word fits the
/// field is the check's business, so `"yes"` or `2` for a checkbox is
/// refused there, by field; a list or an object is no answer to any field.
fn as_text(
    fields: BTreeMap<String, serde_json::Value>,
) -> Result<BTreeMap<String, String>, Problem> {
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for (name, value) in fields {
        let text = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Null => String::new(),
            _ => {
                errors.push(crate::http::problem::FieldError {
                    field: format!("fields.{name}"),
                    code: "invalid_value",
                });
                continue;
            }
        };
        out.insert(name, text);
    }
    match errors.is_empty() {
        true => Ok(out),
        false => Err(Problem::validation(errors)),
    }
}

/// The caller's session when they present one; a token that is presented
/// but not valid is refused rather than taken as signed out.
async fn signed_in(app: &App, headers: &HeaderMap) -> Result<Option<Current>, Problem> {
    match presented_token(headers) {
        None => Ok(None),
        Some((token, _)) => sessions::authenticate(app, &token)
            .await
            .map(Some)
            .map_err(Problem::from),
    }
}

/// A ticket in a list.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TicketSummary {
    #[schema(example = "2612-0345-678")]
    pub reference: String,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub category: String,
    pub channel: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(skip)]
    id: i64,
}

impl TicketSummary {
    /// The row id, for the page cursor.
    pub fn id(&self) -> i64 {
        self.id
    }
}

impl From<&TicketRow> for TicketSummary {
    fn from(t: &TicketRow) -> TicketSummary {
        TicketSummary {
            reference: formatted(&t.reference),
            subject: t.subject.clone(),
            status: t.status.clone(),
            priority: t.priority.clone(),
            category: t.category.clone(),
            channel: t.channel.clone(),
            created_at: t.created_at,
            updated_at: t.updated_at,
            id: t.id,
        }
    }
}

/// A stored reference number as people read it.
pub(crate) fn formatted(stored: &str) -> String {
    koban_policy::desk::reference::parse(stored)
        .map(koban_policy::desk::reference::format)
        .unwrap_or_else(|_| stored.to_string())
}

/// The signed-in requester's tickets, newest first.
#[utoipa::path(get, path = "/api/v1/me/tickets", tag = "desk", security(("bearer" = []), ("session_cookie" = [])), params(PageQuery),
    responses((status = 200, body = Page<TicketSummary>), (status = 401), (status = 422)))]
pub async fn my_tickets(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<TicketSummary>>, Problem> {
    let (before, limit) = q.bounds()?;
    let rows = store::tickets_of_account(app.store.read(), current.account.id, before, limit + 1)
        .await
        .map_err(|e| Problem::internal(&e))?;
    let items: Vec<TicketSummary> = rows.iter().map(TicketSummary::from).collect();
    Ok(Json(page(items, limit, |t| t.id)))
}

/// One message of the conversation.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TicketMessageView {
    /// Names the message in a split.
    pub id: i64,
    /// `requester`, `agent` or `system`.
    pub author: String,
    /// False for an agents' internal note (shown to staff only).
    pub public: bool,
    /// Secrets the author pasted are masked.
    pub body: String,
    pub created_at: i64,
}

/// One change to the ticket (shown to staff).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TicketEventView {
    pub kind: String,
    pub actor_account_id: Option<i64>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub at: i64,
}

/// A ticket with its conversation.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TicketView {
    #[serde(flatten)]
    pub summary: TicketSummary,
    pub urgent: bool,
    pub language: String,
    /// 0 to 100: how much of what support needs the ticket gives.
    pub completeness: i64,
    /// The category form's answers, secrets masked.
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    pub messages: Vec<TicketMessageView>,
    /// Staff only: what triage decided and why.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub triage: Option<serde_json::Value>,
    /// Staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<TicketEventView>>,
    /// When the desk's next answer is due, if it owes one.
    pub expected_response: Option<crate::desk::routing::sla::DeskExpectedResponse>,
    /// Staff only: the SLA clocks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sla: Option<Vec<crate::desk::routing::sla::DeskSlaTimer>>,
    /// Staff only: the team (slug) the ticket is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Staff only: the agent who has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<i64>,
    /// The files the viewer may see.
    pub attachments: Vec<crate::desk::attachments::api::DeskAttachmentView>,
    /// When merged: the ticket the conversation continues in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    /// Staff only: the requester's email address bounced for good. Koban
    /// holds its automatic notices to it; agents' replies still go.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester_bounce: Option<crate::delivery::MailBounce>,
    /// Staff only: the organization whose support line the ticket came on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<crate::desk::tickets::support_line::OrgPanel>,
}

/// A ticket, for its requester or for staff; anyone else gets 404. Signed
/// out, a lookup grant (`Bearer dg_…`) opens its own ticket.
#[utoipa::path(get, path = "/api/v1/desk/tickets/{reference}", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number, with or without separators")),
    responses((status = 200, body = TicketView), (status = 401), (status = 404), (status = 422)))]
pub async fn ticket(
    State(app): State<Arc<App>>,
    reader: Reader,
    ApiPath(reference): ApiPath<String>,
) -> Result<Json<TicketView>, Problem> {
    let (ticket, standing) = reader.ticket(&app, &reference).await?;
    let mut shown = view(&app, &ticket, standing).await?;
    shown.attachments =
        crate::desk::attachments::api::listed(&app, reader.current(), &ticket).await?;
    shown.merged_into = crate::desk::tickets::merge::survivor_reference(&app, &ticket).await?;
    Ok(Json(shown))
}

async fn view(app: &App, ticket: &TicketRow, standing: Standing) -> Result<TicketView, Problem> {
    let staff = standing == Standing::Agent;
    let internal = |e: crate::store::StoreError| Problem::internal(&e);
    let messages = store::messages(app.store.read(), ticket.id, staff)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|m| TicketMessageView {
            id: m.id,
            author: m.author_kind,
            public: m.public,
            body: m.body,
            created_at: m.created_at,
        })
        .collect();
    let events = if staff {
        let rows = store::events(app.store.read(), ticket.id)
            .await
            .map_err(internal)?;
        Some(
            rows.into_iter()
                .map(|e| TicketEventView {
                    kind: e.kind,
                    actor_account_id: e.actor_account_id,
                    detail: serde_json::from_str(&e.detail).unwrap_or_default(),
                    at: e.at,
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(TicketView {
        summary: TicketSummary::from(ticket),
        urgent: ticket.urgent,
        language: ticket.language.clone(),
        completeness: ticket.completeness,
        fields: serde_json::from_str(&ticket.fields).unwrap_or_default(),
        messages,
        triage: staff.then(|| serde_json::from_str(&ticket.triage).unwrap_or_default()),
        events,
        expected_response: crate::desk::routing::sla::expected_response(app, ticket).await?,
        sla: if staff {
            Some(crate::desk::routing::sla::timers(app, ticket).await?)
        } else {
            None
        },
        team: ticket.team.clone().filter(|_| staff),
        assignee_id: ticket.assignee_id.filter(|_| staff),
        attachments: Vec::new(),
        merged_into: None,
        requester_bounce: if staff {
            crate::desk::tickets::notify::requester_bounce(app, ticket)
                .await
                .map_err(internal)?
        } else {
            None
        },
        organization: match ticket.organization_id {
            Some(org) if staff => crate::desk::tickets::support_line::panel_of(app, org).await?,
            _ => None,
        },
    })
}

/// A reply, or from an agent an internal note.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessageRequest {
    #[schema(max_length = 20000)]
    pub body: String,
    /// Agents: false for an internal note. Requesters' messages are always public.
    #[serde(default = "yes")]
    pub public: bool,
    /// Tokens from `POST /api/v1/desk/uploads` of the files that come with it.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub attachments: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Adds to the conversation (signed out, with a lookup grant as the bearer
/// token, as the requester). A requester's reply reopens a solved ticket,
/// and on a closed one opens a follow-up ticket (named in `follow_up`);
/// an agent's message on a closed ticket answers 409.
#[utoipa::path(post, path = "/api/v1/desk/tickets/{reference}/messages", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number, with or without separators")),
    request_body = NewMessageRequest,
    responses((status = 201, body = service::MessageAdded), (status = 401), (status = 404), (status = 409), (status = 422)))]
pub async fn add_message(
    State(app): State<Arc<App>>,
    reader: Reader,
    ApiPath(reference): ApiPath<String>,
    ApiJson(input): ApiJson<NewMessageRequest>,
) -> Result<(StatusCode, Json<service::MessageAdded>), Problem> {
    let (ticket, standing) = reader.ticket(&app, &reference).await?;
    let added = service::add_message_as(
        &app,
        reader.author(),
        &ticket,
        standing,
        &input.body,
        input.public,
        &input.attachments,
        None,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(added)))
}

/// Classifies one ticket's text, as the desk does when a ticket arrives.
#[utoipa::path(post, path = "/api/v1/desk/triage", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    request_body = TriageInput,
    responses((status = 200, body = TriageAnswer), (status = 401), (status = 403), (status = 422)))]
pub async fn triage(
    State(app): State<Arc<App>>,
    _agent: Staff<{ Action::Triage.rank() }>,
    ApiJson(input): ApiJson<TriageInput>,
) -> Result<Json<TriageAnswer>, Problem> {
    if input.subject.len() > crate::desk::tickets::triage::MAX_SUBJECT_BYTES {
        return Err(Problem::field("subject", "too_long"));
    }
    if input.body.len() > crate::desk::tickets::triage::MAX_BODY_BYTES {
        return Err(Problem::field("body", "too_long"));
    }
    let model = crate::desk::current_model(&app, false).await;
    let answer = crate::desk::tickets::triage::classify(&model, &input.subject, &input.body);
    Ok(Json(answer.into()))
}
