//! What the console's ticket page shows: the conversation with replies,
//! internal notes and events in one timeline, the fields and triage, the
//! account's security context, and the state of the identity verification.

use super::choices;
use crate::accounts::sessions::Current;
use crate::desk::console::library;
use crate::desk::console::ops as console_ops;
use crate::desk::store::{self, console as console_store, TicketRow};
use crate::desk::tickets::custom_fields;
use crate::desk::verification::{self, account_api as support_api};
use crate::desk::DeskError;
use crate::state::App;
use crate::store::now_ms;
use crate::web::Viewer;
use koban_policy::desk::forms::CustomKind;
use minijinja::context;
use serde_json::Value as Json;

/// A line of the conversation.
#[derive(serde::Serialize)]
struct Line {
    /// `requester`, `agent`, `note` (internal) or `event`.
    kind: String,
    author: Option<String>,
    body: String,
    /// An email's quoted history and signature, shown folded; `body` then
    /// holds only the new words (the stored body stays whole).
    quoted: Option<String>,
    /// For events: what happened, as a sentence in the reader's language.
    text: Option<String>,
    event: Option<String>,
    at: String,
    at_text: String,
    order: (i64, u8),
}

/// Events the page names in words (`console-event-<kind>`); another
/// domain's newer kinds read "changed" with their detail.
const NAMED_EVENTS: &[&str] = &[
    "created",
    "status",
    "priority",
    "category",
    "assigned",
    "tags",
    "verification_started",
    "verification_passed",
    "account_action",
    "followed_up",
];

fn event_name(kind: &str) -> &str {
    NAMED_EVENTS
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or("other")
}

/// Form fields with a label of their own (`field-<name>`).
const LABELLED_FIELDS: &[&str] = &[
    "device_os",
    "client_version",
    "happened_at",
    "error_text",
    "contact_used",
    "steps",
];

fn text_at(viewer: &Viewer, ms: i64) -> (String, String) {
    let when = viewer.when(ms);
    (when.iso, when.text)
}

/// Members of JSON rows the context panel shows, times in words.
fn rows(viewer: &Viewer, items: &[Json], members: &[&str], time: &str) -> Vec<Json> {
    items
        .iter()
        .map(|item| {
            let mut row = serde_json::Map::new();
            for m in members {
                row.insert((*m).into(), item.get(*m).cloned().unwrap_or(Json::Null));
            }
            if let Some(ms) = item.get(time).and_then(Json::as_i64) {
                row.insert("at_text".into(), Json::String(viewer.when(ms).text));
            }
            // A delivery's purpose reads as words, not as its identifier.
            if let Some(purpose) = item.get("purpose").and_then(Json::as_str) {
                let words = super::event_text::purpose(viewer.lang, purpose);
                row.insert("purpose".into(), Json::String(words));
            }
            Json::Object(row)
        })
        .collect()
}

/// Everything the ticket page shows; `draft` keeps what the agent typed
/// when a reply was refused.
pub(super) async fn ticket_context(
    app: &App,
    viewer: &Viewer,
    agent: &Current,
    ticket: &TicketRow,
    draft: Option<String>,
    canned: Option<i64>,
) -> Result<minijinja::Value, DeskError> {
    let others = console_ops::present(app, agent, ticket.id).await?;
    let messages = store::messages(app.store.read(), ticket.id, true).await?;
    let events = store::events(app.store.read(), ticket.id).await?;
    let mut ids: Vec<i64> = messages
        .iter()
        .filter_map(|m| m.author_account_id)
        .chain(events.iter().filter_map(|e| e.actor_account_id))
        .chain(ticket.assignee_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let names = console_store::names(app.store.read(), &ids).await?;
    let name_of = |id: Option<i64>| {
        id.and_then(|id| names.iter().find(|(n, _)| *n == id))
            .map(|(_, name)| name.clone())
    };
    let mut lines: Vec<Line> = Vec::new();
    for m in messages {
        let (at, at_text) = text_at(viewer, m.created_at);
        let kind = match (m.author_kind.as_str(), m.public) {
            (_, false) => "note",
            ("requester", _) => "requester",
            _ => "agent",
        };
        let (body, quoted) = if ticket.channel == "email" && kind != "note" {
            let folded = koban_policy::mail::quotes::fold(&m.body);
            let quoted = (!folded.quoted.trim().is_empty()).then(|| folded.quoted.to_string());
            (folded.new.trim_end().to_string(), quoted)
        } else {
            (m.body, None)
        };
        lines.push(Line {
            kind: kind.into(),
            author: name_of(m.author_account_id),
            body,
            quoted,
            text: None,
            event: None,
            at,
            at_text,
            order: (m.created_at, 0),
        });
    }
    for e in &events {
        // Replies and notes are already lines of their own.
        if e.kind == "replied" || e.kind == "noted" {
            continue;
        }
        let (at, at_text) = text_at(viewer, e.at);
        let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
        let said = super::event_text::describe(&e.kind, &detail, e.actor_account_id);
        let args: Vec<(&str, String)> = said
            .args
            .into_iter()
            .map(|(name, arg)| {
                let value = match arg {
                    super::event_text::Arg::Text(text) => text,
                    super::event_text::Arg::Message(id) => {
                        crate::web::i18n::t(viewer.lang, &id, &[])
                    }
                    super::event_text::Arg::Person(id) => {
                        name_of(Some(id)).unwrap_or_else(|| format!("#{id}"))
                    }
                };
                (name, value)
            })
            .collect();
        lines.push(Line {
            kind: "event".into(),
            author: name_of(e.actor_account_id),
            body: String::new(),
            quoted: None,
            text: Some(crate::web::i18n::t(viewer.lang, said.id, &args)),
            event: Some(event_name(&e.kind).to_string()),
            at,
            at_text,
            order: (e.at, 1),
        });
    }
    lines.sort_by_key(|l| l.order);
    let tags = console_store::tags(app.store.read(), ticket.id).await?;
    let agents = console_store::agents(app.store.read()).await?;
    let canned_list = library::canned_list(app).await?;
    let macros = library::macro_list(app).await?;
    let draft = match (draft, canned) {
        (Some(draft), _) => Some(draft),
        (None, Some(id)) => Some(library::use_canned(app, agent, ticket, id).await?),
        (None, None) => None,
    };
    // The files of the ticket this agent may open (identity documents only
    // for the agent who asked for them and supervisors).
    let attachments = crate::desk::attachments::api::listed(app, Some(agent), ticket)
        .await
        .map_err(|problem| DeskError::Internal(format!("attachments: {}", problem.message)))?;
    let context = support_api::context_answer(app, ticket).await?;
    let live = context.live.as_ref().map(|live| {
        context! {
            lock => live.lock.as_ref().map(|l| context! {
                until_text => l.until.map(|ms| viewer.when(ms).text),
                for_support => l.for_support,
                cause => l.cause.clone(),
                reference => l.reference,
            }),
            two_factor => live.two_factor,
            passkeys => live.passkeys,
            devices => rows(viewer, &live.devices, &["id", "name", "platform", "signed_in", "last_country"], "last_seen_at"),
            attempts => rows(viewer, &live.attempts, &["ip", "country", "outcome", "decision"], "at"),
            deliveries => rows(viewer, &live.deliveries, &["purpose", "channel", "destination", "status"], "created_at"),
        }
    });
    let now = now_ms();
    let latest = console_store::latest_verification(app.store.read(), ticket.id).await?;
    let verified = latest.as_ref().is_some_and(|(_, _, status, passed_at)| {
        status == "passed" && passed_at.is_some_and(|at| at >= now - verification::VALID_MS)
    });
    let pending = latest
        .filter(|(_, _, status, _)| status == "pending")
        .map(|(id, destination, _, _)| context! { id => id, destination => destination });
    // The requester's address bounced: said before the agent writes.
    let bounced = crate::desk::tickets::notify::requester_bounce(app, ticket)
        .await?
        .map(|b| {
            let when = viewer.when(b.bounced_at);
            context! { address => b.address, at => when.iso, at_text => when.text, reason => b.reason }
        });
    // The organization whose support line it came on: who they are to us.
    let organization = match ticket.organization_id {
        Some(org) => crate::desk::tickets::support_line::panel_of(app, org)
            .await?
            .map(|p| {
                let audit: Vec<minijinja::Value> = p
                    .recent_audit
                    .iter()
                    .map(|e| {
                        let when = viewer.when(e.at);
                        context! { at => when.iso, at_text => when.text, action => e.action.clone(), actor => e.actor.clone() }
                    })
                    .collect();
                context! {
                    id => p.id, name => p.name, plan => p.plan,
                    active_members => p.active_members, suspended_members => p.suspended_members,
                    open_tickets => p.open_tickets, policy_rules => p.policy_rules, audit => audit,
                }
            }),
        None => None,
    };
    let triage: Json = serde_json::from_str(&ticket.triage).unwrap_or_default();
    let fields: std::collections::BTreeMap<String, Json> =
        serde_json::from_str(&ticket.fields).unwrap_or_default();
    // The form's own fields are named as the requester saw them; an
    // admin's custom fields by their label in the agent's language (the
    // category's current form: a field since removed shows its id).
    let spec = match koban_policy::desk::forms::Category::parse(&ticket.category) {
        Ok(category) => Some(crate::desk::admin::forms::form_for(app, category).await?),
        Err(_) => None,
    };
    let lang = viewer.lang.tag();
    let fields: Vec<minijinja::Value> = fields
        .into_iter()
        .map(|(name, value)| {
            let label = LABELLED_FIELDS
                .contains(&name.as_str())
                .then(|| format!("field-{name}"));
            let value = value
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| value.to_string());
            let custom = spec
                .as_ref()
                .and_then(|s| s.custom.iter().find(|c| c.id == name));
            let checkbox = custom.is_some_and(|c| c.kind == CustomKind::Checkbox);
            let (text, value) = match custom {
                Some(c) => {
                    let (text, shown) = custom_fields::answer_label(c, &value, lang);
                    (Some(text.to_string()), shown.to_string())
                }
                None => (None, value),
            };
            context! { name => name, label => label, text => text, value => value, checkbox => checkbox }
        })
        .collect();
    Ok(context! {
        ticket => context! {
            reference => crate::desk::tickets::api::formatted(&ticket.reference),
            subject => ticket.subject.clone(),
            status => ticket.status.clone(),
            priority => ticket.priority.clone(),
            category => ticket.category.clone(),
            urgent => ticket.urgent,
            completeness => ticket.completeness,
            channel => ticket.channel.clone(),
            language => ticket.language.clone(),
            assignee => ticket.assignee_id.map(|a| a.to_string()).unwrap_or_default(),
            assignee_name => name_of(ticket.assignee_id),
            closed => ticket.status == "closed",
        },
        triage => context! {
            confidence => triage.get("confidence").and_then(Json::as_f64).map(|c| (c * 100.0).round() as i64),
            decided_by => triage.get("decided_by").and_then(Json::as_str).map(str::to_string),
            category => triage.get("category").and_then(Json::as_str).map(str::to_string),
            chosen_by_requester => triage.get("chosen_by_requester").and_then(Json::as_bool).unwrap_or(false),
        },
        answers => fields,
        lines => lines,
        attachments => attachments,
        tags => tags.join(", "),
        tag_list => tags,
        others => others,
        agents => agents.iter().map(|(id, name)| context! { id => id.to_string(), name => name }).collect::<Vec<_>>(),
        canned => canned_list.iter().map(|c| context! { id => c.id, name => c.name.clone() }).collect::<Vec<_>>(),
        macros => macros.iter().map(|m| context! { id => m.id, name => m.name.clone() }).collect::<Vec<_>>(),
        draft => draft,
        live => live,
        account_proved => context.account_proved,
        has_snapshot => context.snapshot.is_some(),
        verified => verified,
        pending => pending,
        bounced => bounced,
        organization => organization,
        ..choices()
    })
}
