//! Desk operations, called by the JSON API and the pages alike: opening a
//! ticket, reading one, listing a requester's, and adding to the
//! conversation. Decisions come from `koban_policy::desk`; this file reads
//! what they need and writes what they decide, each change with its event.

use crate::accounts::sessions::Current;
use crate::desk::error::DeskError;
use crate::desk::store::{self, NewMessage, NewTicket, TicketRow};
use crate::desk::tickets::opening::{Opener, Prepared};
use crate::http::problem::FieldError;
use crate::state::App;
use crate::store::now_ms;
use koban_policy::contact::{parse_email, parse_phone};
use koban_policy::desk::forms::{self, Category};
use koban_policy::desk::reference::{self, Reference};
use koban_policy::desk::secrets;
use koban_policy::desk::status::{self, Decision, Event, Status};
use rand::Rng;
use std::collections::BTreeMap;

/// The longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// The longest message body, in characters.
pub const MAX_BODY_CHARS: usize = 20_000;
/// What the sealed originals of masked text are sealed for.
const SEAL_PURPOSE: &str = "desk-original";

/// Who opens a ticket: a signed-in account, or a contact signing nothing.
pub enum Requester<'a> {
    Account(&'a Current),
    Contact {
        email: Option<String>,
        phone: Option<String>,
        region: Option<String>,
        name: Option<String>,
    },
}

/// A new ticket as the requester fills it in.
pub struct Opening {
    /// `None`: triage picks one.
    pub category: Option<String>,
    pub subject: String,
    pub body: String,
    pub fields: BTreeMap<String, String>,
    pub language: String,
    pub region: Option<String>,
    pub time_zone: Option<String>,
    pub channel: &'static str,
    /// The requester agreed to attach their account's security context.
    pub share_security_context: bool,
    /// Upload tokens of the files that come with the first message.
    pub attachments: Vec<String>,
    /// The team the requester chose by where they wrote (an address of
    /// that team's); `None`: routing decides.
    pub team: Option<String>,
    /// The first message's id in its channel, when it has one.
    pub origin: Option<Origin>,
}

/// Where a message came from, when its channel gave it an id: recorded
/// with it, so the same message arriving twice is refused as a duplicate
/// ([`DeskError::Conflict`] `duplicate-message`) and a reply naming it
/// finds the ticket.
#[derive(Debug, Clone)]
pub struct Origin {
    pub channel: &'static str,
    pub external_id: String,
    /// Who sent it, lower-cased (an address).
    pub sender: Option<String>,
}

impl Origin {
    pub(crate) async fn record(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        ticket_id: i64,
        message_id: i64,
        now: i64,
    ) -> Result<(), DeskError> {
        let m = store::channel_messages::ChannelMessage {
            channel: self.channel,
            external_id: &self.external_id,
            direction: "in",
            sender: self.sender.as_deref(),
        };
        if store::channel_messages::record(tx, &m, ticket_id, Some(message_id), now).await? {
            Ok(())
        } else {
            Err(DeskError::Conflict("duplicate-message"))
        }
    }
}

/// A ticket just opened.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Opened {
    /// The reference number, grouped for reading aloud (`2612-0345-678`).
    #[schema(example = "2612-0345-678")]
    pub reference: String,
    pub category: String,
    pub priority: String,
    pub status: String,
    /// 0 to 100: how much of what support needs the ticket gives.
    pub completeness: i64,
    /// The ticket's row id, for the channel that opened it.
    #[serde(skip)]
    pub id: i64,
}

/// Opens a ticket: checks the form, triages, masks pasted secrets, and
/// stores the ticket, its first message and its event in one transaction.
pub async fn open(
    app: &App,
    requester: Requester<'_>,
    opening: Opening,
) -> Result<Opened, DeskError> {
    let now = now_ms();
    let contact = contact_of(&requester)?;
    if let Some(contact) = &contact {
        app.limiter
            .check_account(&format!(
                "desk:{}",
                contact.0.as_deref().or(contact.1.as_deref()).unwrap_or("")
            ))
            .map_err(DeskError::RateLimited)?;
    }
    let chosen = match opening.category.as_deref() {
        None => None,
        Some(name) => {
            Some(Category::parse(name).map_err(|_| DeskError::field("category", "invalid_value"))?)
        }
    };
    let model = crate::desk::current_model(app, false).await;
    let triaged = crate::desk::tickets::triage::classify(&model, &opening.subject, &opening.body);
    let category = match chosen {
        Some(c) => c,
        None => Category::parse(triaged.category).unwrap_or(Category::Other),
    };
    // Forms and routing from the node's copy of the desk's configuration
    // (at most a second old, see `admin::snapshot`): no read per ticket.
    let configured = crate::desk::admin::snapshot::current(app).await?;
    let completeness = check_form(&configured.form(category), &opening, chosen.is_some(), now)?;
    let priority = if triaged.urgent { "urgent" } else { "normal" };
    let (subject, subject_original) = masked(&opening.subject);
    let (body, body_original) = masked(&opening.body);
    let mut originals = serde_json::Map::new();
    let mut fields = serde_json::Map::new();
    for (name, value) in &opening.fields {
        let (shown, original) = masked(value.trim());
        if let Some(original) = original {
            originals.insert(format!("field:{name}"), original.into());
        }
        fields.insert(name.clone(), shown.into());
    }
    if let Some(original) = subject_original {
        originals.insert("subject".into(), original.into());
    }
    if let Some(original) = body_original {
        originals.insert("body".into(), original.into());
    }
    let sealed = seal_originals(app, originals);
    let triage_record = serde_json::json!({
        "category": triaged.category,
        "urgent": triaged.urgent,
        "confidence": (triaged.confidence * 1000.0).round() / 1000.0,
        "decided_by": crate::desk::tickets::triage::TriageAnswer::from(triaged).decided_by,
        "chosen_by_requester": chosen.is_some(),
    });
    let fields = serde_json::Value::Object(fields).to_string();
    let triage_text = triage_record.to_string();
    // Only with consent, and only for the signed-in requester's own account.
    let snapshot = match (&requester, opening.share_security_context) {
        (Requester::Account(current), true) => {
            let context = crate::desk::tickets::context::read(app, current.account.id).await?;
            let plain =
                serde_json::to_vec(&context).map_err(|e| DeskError::Internal(e.to_string()))?;
            Some((
                current.account.id,
                app.key
                    .seal(crate::desk::tickets::context::SNAPSHOT_PURPOSE, &plain),
            ))
        }
        _ => None,
    };
    // A member of an organization writing for it: its line and tier.
    let line = match &requester {
        Requester::Account(current) => {
            crate::desk::tickets::support_line::line_of(app, current.account.id).await?
        }
        _ => None,
    };
    let (opener, answer_to) = match (&requester, contact) {
        (Requester::Account(current), _) => (
            Opener::Account(current.account.id),
            crate::desk::tickets::notify::account_destination(&current.account),
        ),
        (Requester::Contact { name, .. }, Some((email, phone))) => {
            let answer_to = crate::desk::tickets::notify::contact_destination(
                email.as_deref(),
                phone.as_deref(),
            );
            let name = name.clone();
            (Opener::Contact { email, phone, name }, answer_to)
        }
        _ => return Err(DeskError::field("email", "one_of_phone_email")),
    };
    let answer_to = crate::desk::tickets::notify::answer_to(app, answer_to).await?;
    let prepared = Prepared {
        opener,
        answer_to,
        subject,
        body,
        sealed,
        fields,
        triage: triage_text,
        snapshot,
        line,
        category,
        priority,
        completeness,
        channel: opening.channel,
        language: opening.language,
        region: opening.region,
        time_zone: opening.time_zone,
        attachments: opening.attachments,
        team: opening.team,
        origin: opening.origin,
        configured,
        now,
    };
    // Only the writes wait for the committer, which stores concurrent
    // openings in one transaction (see `committer.rs`).
    crate::desk::tickets::committer::commit(app, prepared).await
}

/// Stores `ticket` under a random reference number. A number is taken
/// about never; when it is, another is drawn.
pub(crate) async fn insert_with_fresh_reference(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ticket: NewTicket<'_>,
) -> Result<(i64, Reference), DeskError> {
    let (id, _, number) = insert_for_contact(tx, ticket, None).await?;
    Ok((id, number))
}

/// [`insert_with_fresh_reference`], with `contact` found or made as the
/// requester in the same trip: the ticket's id, its contact's, its number.
pub(crate) async fn insert_for_contact(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ticket: NewTicket<'_>,
    contact: Option<store::NewContact<'_>>,
) -> Result<(i64, Option<i64>, Reference), DeskError> {
    for _ in 0..8 {
        let number = Reference::from_random(rand::thread_rng().gen());
        let text = number.to_string();
        let drawn = NewTicket {
            reference: &text,
            ..ticket
        };
        if let Some((id, contact_id)) = store::insert_ticket(tx, &drawn, contact).await? {
            return Ok((id, contact_id, number));
        }
    }
    Err(DeskError::Internal(
        "no free reference number after 8 draws".into(),
    ))
}

/// Seals the original texts that masking changed, keyed by where they were.
fn seal_originals(
    app: &App,
    originals: serde_json::Map<String, serde_json::Value>,
) -> Option<Vec<u8>> {
    (!originals.is_empty()).then(|| {
        app.key.seal(
            SEAL_PURPOSE,
            serde_json::Value::Object(originals).to_string().as_bytes(),
        )
    })
}

/// A message body's original, sealed, when masking changed it.
fn sealed_body(app: &App, original: Option<String>) -> Option<Vec<u8>> {
    let mut originals = serde_json::Map::new();
    if let Some(original) = original {
        originals.insert("body".into(), original.into());
    }
    seal_originals(app, originals)
}

/// The signed-out requester's contact, checked: (email, phone).
#[allow(clippy::type_complexity)]
fn contact_of(
    requester: &Requester<'_>,
) -> Result<Option<(Option<String>, Option<String>)>, DeskError> {
    let Requester::Contact {
        email,
        phone,
        region,
        ..
    } = requester
    else {
        return Ok(None);
    };
    let nonblank = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    match (nonblank(email), nonblank(phone)) {
        (None, None) => Err(DeskError::field("email", "one_of_phone_email")),
        (Some(email), _) => parse_email(&email)
            .map(|c| Some((Some(c.as_str().to_string()), None)))
            .map_err(|p| DeskError::field("email", p.code())),
        (None, Some(phone)) => parse_phone(&phone, region.as_deref())
            .map(|c| Some((None, Some(c.as_str().to_string()))))
            .map_err(|p| DeskError::field("phone", p.code())),
    }
}

/// Checks the form of `category`; with a category the requester chose (and
/// so saw its form), anything missing is refused; with one triage chose,
/// only what is wrong or unknown is, and the score tells the agent what lacks.
fn check_form(
    spec: &forms::FormSpec,
    opening: &Opening,
    enforce_required: bool,
    now: i64,
) -> Result<u8, DeskError> {
    let mut errors = Vec::new();
    if opening.subject.chars().count() > MAX_SUBJECT_CHARS {
        errors.push(field_error("subject", "too_long"));
    }
    if opening.body.chars().count() > MAX_BODY_CHARS {
        errors.push(field_error("body", "too_long"));
    }
    let mut submission = vec![
        ("subject".to_string(), opening.subject.clone()),
        ("body".to_string(), opening.body.clone()),
    ];
    submission.extend(opening.fields.iter().map(|(k, v)| (k.clone(), v.clone())));
    let now = jiff::Timestamp::from_millisecond(now).unwrap_or_default();
    let result = forms::check(spec, &submission, now);
    if enforce_required {
        errors.extend(
            result
                .missing
                .iter()
                .map(|f| field_error(&field_path(f.id()), "required")),
        );
    } else {
        // Without a chosen form only subject and body are owed.
        errors.extend(
            result
                .missing
                .iter()
                .filter(|f| matches!(f.id(), "subject" | "body"))
                .map(|f| field_error(f.id(), "required")),
        );
    }
    errors.extend(
        result
            .invalid
            .iter()
            .map(|(f, problem)| field_error(&field_path(f.id()), problem.code())),
    );
    errors.extend(
        result
            .unknown
            .iter()
            .map(|name| field_error(&format!("fields.{name}"), "unknown_field")),
    );
    if errors.is_empty() {
        Ok(result.score)
    } else {
        Err(DeskError::Invalid(errors))
    }
}

/// Where a form field sits in the request: subject and body at the top, the rest under `fields`.
fn field_path(id: &str) -> String {
    match id {
        "subject" | "body" => id.to_string(),
        other => format!("fields.{other}"),
    }
}

fn field_error(field: &str, code: &'static str) -> FieldError {
    FieldError {
        field: field.to_string(),
        code,
    }
}

/// The text with pasted secrets masked, and the original when it changed.
fn masked(text: &str) -> (String, Option<String>) {
    let (shown, found) = secrets::mask(text);
    if found.is_empty() {
        (shown, None)
    } else {
        (shown, Some(text.to_string()))
    }
}

/// Parses a reference number as a person types it.
pub fn parse_reference(input: &str) -> Result<String, DeskError> {
    reference::parse(input)
        .map(|r| r.to_string())
        .map_err(|_| DeskError::BadReference)
}

/// How the caller relates to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Requester,
    Agent,
}

/// The ticket `reference` if `current` may see it: its requester, or staff.
/// Anyone else gets the same answer as for a number that does not exist.
pub async fn visible(
    app: &App,
    current: &Current,
    reference: &str,
) -> Result<(TicketRow, Standing), DeskError> {
    let reference = parse_reference(reference)?;
    let ticket = store::ticket_by_reference(app.store.read(), &reference)
        .await?
        .ok_or(DeskError::NotFound)?;
    if current.account.has_role("agent") {
        return Ok((ticket, Standing::Agent));
    }
    if ticket.requester_account_id == Some(current.account.id) {
        return Ok((ticket, Standing::Requester));
    }
    if let Some(contact) = ticket.requester_contact_id {
        if store::contact_belongs_to(app.store.read(), contact, current.account.id).await? {
            return Ok((ticket, Standing::Requester));
        }
    }
    // The organization's administrators follow its tickets on the
    // requester's side (Zendesk's shared organization tickets).
    if let Some(org) = ticket.organization_id {
        if crate::desk::tickets::support_line::follows(app, current.account.id, org).await? {
            return Ok((ticket, Standing::Requester));
        }
    }
    Err(DeskError::NotFound)
}

/// What adding a message did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MessageAdded {
    /// The ticket's status after the message.
    pub status: String,
    /// When the ticket was closed: the follow-up ticket the message opened,
    /// which links back to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<String>,
}

/// Adds a reply (or, from an agent, an internal note) and moves the status
/// as the rules say. A requester's reply to a closed ticket opens a
/// follow-up ticket that links back; an agent cannot write on a closed one.
pub async fn add_message(
    app: &App,
    current: &Current,
    ticket: &TicketRow,
    standing: Standing,
    body: &str,
    public: bool,
) -> Result<MessageAdded, DeskError> {
    add_message_as(
        app,
        Some(current.account.id),
        ticket,
        standing,
        body,
        public,
        &[],
        None,
    )
    .await
}

/// [`add_message`] with the upload tokens of the files that come with it.
pub async fn add_message_with(
    app: &App,
    current: &Current,
    ticket: &TicketRow,
    standing: Standing,
    body: &str,
    public: bool,
    attachments: &[String],
) -> Result<MessageAdded, DeskError> {
    add_message_as(
        app,
        Some(current.account.id),
        ticket,
        standing,
        body,
        public,
        attachments,
        None,
    )
    .await
}

/// [`add_message`] written as `author` (a signed-in caller's account, or
/// for a signed-out requester holding a lookup grant, the requester's
/// account if there is one), with the upload tokens of its files.
#[allow(clippy::too_many_arguments)]
pub async fn add_message_as(
    app: &App,
    author: Option<i64>,
    ticket: &TicketRow,
    standing: Standing,
    body: &str,
    public: bool,
    attachments: &[String],
    origin: Option<&Origin>,
) -> Result<MessageAdded, DeskError> {
    let now = now_ms();
    if ticket_merged(app, ticket).await? {
        return Err(DeskError::Conflict("ticket-merged"));
    }
    if body.trim().is_empty() {
        return Err(DeskError::field("body", "required"));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(DeskError::field("body", "too_long"));
    }
    if let Err(problem) = koban_policy::text::check_visible(body, true) {
        return Err(DeskError::field("body", problem.code()));
    }
    let (author_kind, public) = match standing {
        Standing::Requester => ("requester", true),
        Standing::Agent => ("agent", public),
    };
    let current_status =
        Status::parse(&ticket.status).map_err(|e| DeskError::Internal(e.to_string()))?;
    let next = if public {
        let event = match standing {
            Standing::Requester => Event::RequesterReplies,
            Standing::Agent => Event::AgentReplies,
        };
        match status::decide(current_status, event) {
            Decision::Move(next) => Some(next),
            Decision::Stay => None,
            Decision::FollowUp => {
                let reference = follow_up(app, author, ticket, body, attachments, origin).await?;
                return Ok(MessageAdded {
                    status: Status::New.as_str().to_string(),
                    follow_up: Some(reference),
                });
            }
            Decision::Refused(_) => return Err(DeskError::Closed),
        }
    } else if current_status == Status::Closed {
        return Err(DeskError::Closed);
    } else {
        None
    };
    let (shown, original) = masked(body);
    let sealed = sealed_body(app, original);
    let mut tx = app.store.write().begin().await?;
    let message_id = store::insert_message(
        &mut tx,
        NewMessage {
            ticket_id: ticket.id,
            author_account_id: author,
            author_kind,
            public,
            body: &shown,
            original_sealed: sealed,
            now,
        },
    )
    .await?;
    if let Some(origin) = origin {
        origin.record(&mut tx, ticket.id, message_id, now).await?;
    }
    crate::desk::attachments::attach(
        app,
        &mut tx,
        ticket.id,
        Some(message_id),
        author,
        attachments,
        now,
    )
    .await?;
    if public && standing == Standing::Agent {
        crate::desk::tickets::notify::replied(app, &mut tx, ticket, &shown, message_id).await?;
    }
    let kind = if public { "replied" } else { "noted" };
    store::insert_event(
        &mut tx,
        ticket.id,
        author,
        kind,
        &serde_json::json!({}),
        now,
    )
    .await?;
    let status = match next {
        Some(next) => {
            store::set_status(&mut tx, ticket.id, next.as_str(), now).await?;
            store::insert_event(
                &mut tx,
                ticket.id,
                author,
                "status",
                &serde_json::json!({ "from": ticket.status, "to": next.as_str() }),
                now,
            )
            .await?;
            next.as_str().to_string()
        }
        None => {
            store::touch(&mut tx, ticket.id, now).await?;
            ticket.status.clone()
        }
    };
    crate::desk::routing::sla::refresh(&mut tx, ticket.id, now).await?;
    tx.commit().await?;
    Ok(MessageAdded {
        status,
        follow_up: None,
    })
}

/// Opens the follow-up of a closed ticket with the requester's new message
/// and the files that came with it: same requester, category and language,
/// linked both ways by events.
async fn follow_up(
    app: &App,
    actor: Option<i64>,
    closed: &TicketRow,
    body: &str,
    attachments: &[String],
    origin: Option<&Origin>,
) -> Result<String, DeskError> {
    let now = now_ms();
    let (shown, original) = masked(body);
    let sealed = sealed_body(app, original);
    let mut tx = app.store.write().begin().await?;
    let (id, number) = insert_with_fresh_reference(
        &mut tx,
        NewTicket {
            reference: "",
            subject: &closed.subject,
            status: Status::New.as_str(),
            priority: "normal",
            category: &closed.category,
            urgent: false,
            channel: &closed.channel,
            requester_account_id: closed.requester_account_id,
            requester_contact_id: closed.requester_contact_id,
            language: &closed.language,
            region: closed.region.as_deref(),
            time_zone: closed.time_zone.as_deref(),
            fields: &closed.fields,
            completeness: closed.completeness,
            triage: &closed.triage,
            follow_up_of: Some(closed.id),
            team: None,
            tier: &closed.tier,
            organization_id: closed.organization_id,
            now,
        },
    )
    .await?;
    let message_id = store::insert_message(
        &mut tx,
        NewMessage {
            ticket_id: id,
            author_account_id: actor,
            author_kind: "requester",
            public: true,
            body: &shown,
            original_sealed: sealed,
            now,
        },
    )
    .await?;
    if let Some(origin) = origin {
        origin.record(&mut tx, id, message_id, now).await?;
    }
    // The same checks as on any message (limits, whose upload a token is),
    // in this transaction: a refused file opens no follow-up either.
    crate::desk::attachments::attach(app, &mut tx, id, Some(message_id), actor, attachments, now)
        .await?;
    let reference = reference::format(number);
    let detail = serde_json::json!({ "follow_up_of": crate::desk::tickets::api::formatted(&closed.reference) });
    store::insert_event(&mut tx, id, actor, "created", &detail, now).await?;
    store::insert_event(
        &mut tx,
        closed.id,
        actor,
        "followed_up",
        &serde_json::json!({ "by": reference }),
        now,
    )
    .await?;
    if let Some(opened) = store::ticket_by_id(&mut *tx, id).await? {
        crate::desk::routing::route_new(&mut tx, &opened, now).await?;
        crate::desk::routing::sla::refresh(&mut tx, id, now).await?;
    }
    tx.commit().await?;
    Ok(reference)
}

/// Whether the ticket was merged into another: its conversation continues there.
async fn ticket_merged(app: &App, ticket: &TicketRow) -> Result<bool, DeskError> {
    Ok(
        crate::desk::store::merge::merged_into(app.store.read(), ticket.id)
            .await?
            .is_some(),
    )
}
