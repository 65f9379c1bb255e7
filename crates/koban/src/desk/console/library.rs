//! The agents' library: canned responses (a body per language with
//! `{{variable}}` slots) and macros (fields to set and a reply, applied in
//! one step). Agents read and use them; desk admins write them, and every
//! change is recorded with who made it. The rules of bodies and tags are
//! in `koban_policy::desk::canned`.

use crate::accounts::sessions::Current;
use crate::desk::console::Changes;
use crate::desk::error::DeskError;
use crate::desk::store::library::{self as store, Kind, MacroRow};
use crate::desk::store::{console as console_store, TicketRow};
use crate::http::problem::FieldError;
use crate::state::App;
use crate::store::now_ms;
use crate::web::i18n::Lang;
use koban_policy::desk::canned;
use koban_policy::desk::forms::Category;
use koban_policy::desk::status::{Priority, Status};
use std::collections::BTreeMap;

/// A canned response.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeskCannedResponse {
    pub id: i64,
    pub name: String,
    /// The body by language tag (`en`, `zh-CN`, `zh-TW`, `ja`, `th`).
    pub bodies: BTreeMap<String, String>,
    pub updated_at: i64,
}

/// A canned response as an admin writes it.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskCannedInput {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// At least one body, by language tag; variables: `{{requester.name}}`,
    /// `{{requester.email}}`, `{{ticket.reference}}`, `{{ticket.subject}}`,
    /// `{{ticket.status}}`, `{{agent.name}}`.
    pub bodies: BTreeMap<String, String>,
}

/// A macro.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeskMacro {
    pub id: i64,
    pub name: String,
    pub status: Option<String>,
    pub priority: Option<String>,
    pub category: Option<String>,
    /// A tag the macro adds.
    pub tag: Option<String>,
    /// The reply it sends, by language (none: it only sets fields).
    pub bodies: BTreeMap<String, String>,
    /// False: the reply is an internal note.
    pub public: bool,
    pub updated_at: i64,
}

/// A macro as an admin writes it; at least one field or a reply.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskMacroInput {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// `open`, `pending`, `on_hold` or `solved`.
    pub status: Option<String>,
    pub priority: Option<String>,
    pub category: Option<String>,
    pub tag: Option<String>,
    #[serde(default)]
    pub bodies: BTreeMap<String, String>,
    #[serde(default = "public_default")]
    pub public: bool,
}

fn public_default() -> bool {
    true
}

fn bodies_of(json: &str) -> BTreeMap<String, String> {
    serde_json::from_str(json).unwrap_or_default()
}

impl From<store::CannedRow> for DeskCannedResponse {
    fn from(r: store::CannedRow) -> DeskCannedResponse {
        DeskCannedResponse {
            id: r.id,
            name: r.name,
            bodies: bodies_of(&r.bodies),
            updated_at: r.updated_at,
        }
    }
}

impl From<MacroRow> for DeskMacro {
    fn from(r: MacroRow) -> DeskMacro {
        DeskMacro {
            id: r.id,
            name: r.name,
            status: r.status,
            priority: r.priority,
            category: r.category,
            tag: r.tag,
            bodies: bodies_of(&r.bodies),
            public: r.public,
            updated_at: r.updated_at,
        }
    }
}

/// The refusals of one input, collected so all are shown at once.
#[derive(Default)]
struct Refusals(Vec<FieldError>);

impl Refusals {
    fn add(&mut self, field: &str, code: &'static str) {
        self.0.push(FieldError {
            field: field.to_string(),
            code,
        });
    }

    fn done(self) -> Result<(), DeskError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DeskError::Invalid(self.0))
        }
    }
}

/// The name, trimmed, when it is one line of 1 to 100 visible characters.
fn check_name(name: &str, refusals: &mut Refusals) -> String {
    let name = name.trim().to_string();
    if name.is_empty() {
        refusals.add("name", "required");
    } else if name.chars().count() > canned::MAX_NAME_CHARS {
        refusals.add("name", "too_long");
    } else if let Err(problem) = koban_policy::text::check_visible(&name, false) {
        refusals.add("name", problem.code());
    }
    name
}

/// Bodies keyed by a supported language, each a valid body; empty bodies
/// are dropped (a form leaves the languages it does not fill empty).
fn check_bodies(
    bodies: &BTreeMap<String, String>,
    required: bool,
    refusals: &mut Refusals,
) -> BTreeMap<String, String> {
    let mut kept = BTreeMap::new();
    for (language, body) in bodies {
        let field = format!("bodies.{language}");
        if !Lang::ALL.iter().any(|l| l.tag() == language) {
            refusals.add(&field, "invalid_value");
            continue;
        }
        if body.trim().is_empty() {
            continue;
        }
        match canned::check_body(body) {
            Ok(()) => match koban_policy::text::check_visible(body, true) {
                Ok(()) => {
                    kept.insert(language.clone(), body.clone());
                }
                Err(problem) => refusals.add(&field, problem.code()),
            },
            Err(problem) => refusals.add(&field, problem.code()),
        }
    }
    if required && kept.is_empty() && refusals.0.is_empty() {
        refusals.add("bodies", "required");
    }
    kept
}

/// An optional member, trimmed, when not empty.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

pub async fn canned_list(app: &App) -> Result<Vec<DeskCannedResponse>, DeskError> {
    Ok(store::canned_all(app.store.read())
        .await?
        .into_iter()
        .map(DeskCannedResponse::from)
        .collect())
}

pub async fn macro_list(app: &App) -> Result<Vec<DeskMacro>, DeskError> {
    Ok(store::macros_all(app.store.read())
        .await?
        .into_iter()
        .map(DeskMacro::from)
        .collect())
}

fn name_taken() -> DeskError {
    DeskError::field("name", "library_name_taken")
}

/// Creates (`id` None) or replaces a canned response (admins).
pub async fn save_canned(
    app: &App,
    admin: &Current,
    id: Option<i64>,
    input: &DeskCannedInput,
) -> Result<i64, DeskError> {
    let mut refusals = Refusals::default();
    let name = check_name(&input.name, &mut refusals);
    let bodies = check_bodies(&input.bodies, true, &mut refusals);
    refusals.done()?;
    let json = serde_json::to_string(&bodies).map_err(|e| DeskError::Internal(e.to_string()))?;
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    let (saved, action) = match id {
        None => (
            store::insert_canned(&mut tx, &name, &json, now)
                .await?
                .ok_or_else(name_taken)?,
            "created",
        ),
        Some(id) => match store::update_canned(&mut tx, id, &name, &json, now).await? {
            None => return Err(name_taken()),
            Some(false) => return Err(DeskError::NotFound),
            Some(true) => (id, "updated"),
        },
    };
    let detail =
        serde_json::json!({ "name": name, "languages": bodies.keys().collect::<Vec<_>>() });
    store::record_change(
        &mut tx,
        Kind::Canned,
        saved,
        admin.account.id,
        action,
        &detail,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(saved)
}

/// Creates (`id` None) or replaces a macro (admins).
pub async fn save_macro(
    app: &App,
    admin: &Current,
    id: Option<i64>,
    input: &DeskMacroInput,
) -> Result<i64, DeskError> {
    let mut refusals = Refusals::default();
    let name = check_name(&input.name, &mut refusals);
    let bodies = check_bodies(&input.bodies, false, &mut refusals);
    let status = given(&input.status);
    // A macro sets what an agent may set: never back to `new`, never `closed`
    // (a ticket is closed from solved only, by time or by hand).
    if status.is_some_and(|s| {
        !matches!(
            Status::parse(s),
            Ok(Status::Open | Status::Pending | Status::OnHold | Status::Solved)
        )
    }) {
        refusals.add("status", "invalid_value");
    }
    let priority = given(&input.priority);
    if priority.is_some_and(|p| Priority::parse(p).is_err()) {
        refusals.add("priority", "invalid_value");
    }
    let category = given(&input.category);
    if category.is_some_and(|c| Category::parse(c).is_err()) {
        refusals.add("category", "invalid_value");
    }
    let tag = match given(&input.tag).map(canned::tag) {
        None => None,
        Some(Ok(tag)) => Some(tag),
        Some(Err(problem)) => {
            refusals.add("tag", problem.code());
            None
        }
    };
    if refusals.0.is_empty()
        && status.is_none()
        && priority.is_none()
        && category.is_none()
        && tag.is_none()
        && bodies.is_empty()
    {
        refusals.add("bodies", "required");
    }
    refusals.done()?;
    let now = now_ms();
    let row = MacroRow {
        id: 0,
        name: name.clone(),
        status: status.map(str::to_string),
        priority: priority.map(str::to_string),
        category: category.map(str::to_string),
        tag,
        bodies: serde_json::to_string(&bodies).map_err(|e| DeskError::Internal(e.to_string()))?,
        public: input.public,
        updated_at: now,
    };
    let mut tx = app.store.write().begin().await?;
    if let Some(id) = id {
        if store::macro_by_id(&mut *tx, id).await?.is_none() {
            return Err(DeskError::NotFound);
        }
    }
    let saved = store::save_macro(&mut tx, id, &row, now)
        .await?
        .ok_or_else(name_taken)?;
    let action = if id.is_some() { "updated" } else { "created" };
    let detail = serde_json::json!({
        "name": name, "status": row.status, "priority": row.priority,
        "category": row.category, "tag": row.tag,
    });
    store::record_change(
        &mut tx,
        Kind::Macro,
        saved,
        admin.account.id,
        action,
        &detail,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(saved)
}

/// Deletes a canned response or macro (admins), recording who did.
pub async fn delete(app: &App, admin: &Current, kind: Kind, id: i64) -> Result<(), DeskError> {
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    if !store::delete_item(&mut tx, kind, id).await? {
        return Err(DeskError::NotFound);
    }
    store::record_change(
        &mut tx,
        kind,
        id,
        admin.account.id,
        "deleted",
        &serde_json::json!({}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A body for this ticket in its language (else English), with its
/// variables filled as plain text.
pub async fn fill(
    app: &App,
    agent: &Current,
    ticket: &TicketRow,
    bodies: &BTreeMap<String, String>,
) -> Result<Option<String>, DeskError> {
    let Some(body) = canned::pick(bodies, &ticket.language) else {
        return Ok(None);
    };
    let (name, email) = console_store::requester_names(
        app.store.read(),
        ticket.requester_account_id,
        ticket.requester_contact_id,
    )
    .await?;
    let agent_name = agent.account.display_identifier().to_string();
    let reference = crate::desk::tickets::api::formatted(&ticket.reference);
    let filled = canned::render(body, |variable| match variable {
        "requester.name" => name.clone().unwrap_or_default(),
        "requester.email" => email.clone().unwrap_or_default(),
        "ticket.reference" => reference.clone(),
        "ticket.subject" => ticket.subject.clone(),
        "ticket.status" => ticket.status.clone(),
        "agent.name" => agent_name.clone(),
        _ => String::new(),
    })
    // Bodies were checked when saved; one saved by an older version that
    // no longer parses is refused rather than sent half-filled.
    .map_err(|problem| DeskError::field("bodies", problem.code()))?;
    Ok(Some(filled))
}

/// The canned response `id` filled for this ticket.
pub async fn use_canned(
    app: &App,
    agent: &Current,
    ticket: &TicketRow,
    id: i64,
) -> Result<String, DeskError> {
    let row = store::canned(app.store.read(), id)
        .await?
        .ok_or(DeskError::NotFound)?;
    fill(app, agent, ticket, &bodies_of(&row.bodies))
        .await?
        .ok_or(DeskError::NotFound)
}

/// Applies macro `id` to the ticket the agent saw (`seen`): its reply,
/// then its fields as one compare-and-set change, then its tag. A ticket
/// changed meanwhile is left alone ([`DeskError::Taken`]).
pub async fn apply_macro(
    app: &App,
    agent: &Current,
    seen: &TicketRow,
    id: i64,
) -> Result<(), DeskError> {
    let row = store::macro_by_id(app.store.read(), id)
        .await?
        .ok_or_else(|| DeskError::field("macro", "invalid_value"))?;
    let reply = fill(app, agent, seen, &bodies_of(&row.bodies)).await?;
    let changes = Changes {
        status: row.status.clone(),
        priority: row.priority.clone(),
        category: row.category.clone(),
        assign: None,
        team: None,
    };
    let body = reply.as_deref().map(|text| (text, row.public));
    crate::desk::console::ops::reply_and_set(app, agent, seen, body, changes).await?;
    if let Some(tag) = &row.tag {
        crate::desk::console::ops::change_tags(app, agent, seen.id, std::slice::from_ref(tag), &[])
            .await?;
    }
    Ok(())
}
