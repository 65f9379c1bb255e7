//! Evidence for support in one step: an administrator attaches an excerpt
//! of the organization's audit log, or its members' devices, to one of the
//! organization's tickets, as a CSV file (safe against formula injection)
//! on a message of theirs, so the agent reads what the organization saw.

use super::access;
use super::store;
use super::EnterpriseError;
use crate::audit::api::csv_line;
use crate::desk::attachments::{self, DeskUploadKind};
use crate::desk::tickets::service::{self as desk_service, MessageAdded, Standing};
use crate::state::App;
use crate::web::i18n::{t, Lang};
use koban_policy::org::roles::Permission;
use serde_json::json;

/// Entries of the audit log an excerpt holds at most, newest first.
const MAX_AUDIT_ROWS: i64 = 500;
/// Devices a device list holds at most.
const MAX_DEVICE_ROWS: i64 = 2_000;

/// What to attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// The audit log since a time (ms), needing `audit.read`.
    Audit { since: i64 },
    /// Members' devices (one member's when given), needing `devices.read`.
    Devices { account: Option<i64> },
}

fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Attaches the evidence to the organization's ticket `reference` with a
/// message saying what it is. The caller needs `support.read_all` (or to
/// be the ticket's requester) and the permission of what they attach.
pub async fn attach(
    app: &App,
    actor: i64,
    org_id: i64,
    reference: &str,
    evidence: Evidence,
    note: Option<&str>,
    lang: Lang,
) -> Result<MessageAdded, EnterpriseError> {
    let (me, _) = access::acting(app, org_id, actor).await?;
    me.may(match evidence {
        Evidence::Audit { .. } => Permission::ReadAudit,
        Evidence::Devices { .. } => Permission::ReadDevices,
    })?;
    let number = desk_service::parse_reference(reference).map_err(|_| EnterpriseError::NotFound)?;
    let ticket = crate::desk::store::ticket_by_reference(app.store.read(), &number)
        .await?
        .filter(|t| t.organization_id == Some(org_id))
        .ok_or(EnterpriseError::NotFound)?;
    if ticket.requester_account_id != Some(actor) {
        me.may(Permission::ReadOrganizationTickets)?;
    }
    let (file_name, csv, rows, what) = match evidence {
        Evidence::Audit { since } => {
            let entries = crate::audit::store::list(
                app.store.read(),
                &access::scope(org_id),
                &crate::audit::store::Filter {
                    from: Some(since),
                    before_seq: i64::MAX,
                    ..Default::default()
                },
                MAX_AUDIT_ROWS,
            )
            .await?;
            let mut csv =
                csv_line(&["at", "actor", "action", "target", "details"].map(String::from));
            for e in &entries {
                csv.push_str(&csv_line(&[
                    iso(e.at),
                    e.actor.clone(),
                    e.action.clone(),
                    e.target.clone(),
                    e.details.clone(),
                ]));
            }
            ("audit-excerpt.csv", csv, entries.len(), "audit")
        }
        Evidence::Devices { account } => {
            let devices =
                store::devices::list(app.store.read(), org_id, account, i64::MAX, MAX_DEVICE_ROWS)
                    .await?;
            let mut csv = csv_line(
                &[
                    "member",
                    "email",
                    "device",
                    "platform",
                    "client_version",
                    "last_seen",
                    "last_country",
                    "frozen_at",
                    "frozen_reason",
                ]
                .map(String::from),
            );
            for d in &devices {
                csv.push_str(&csv_line(&[
                    d.member_name.clone(),
                    d.email.clone().unwrap_or_default(),
                    d.name.clone(),
                    d.platform.clone(),
                    d.client_version.clone().unwrap_or_default(),
                    iso(d.last_seen_at),
                    d.last_country.clone().unwrap_or_default(),
                    d.frozen_at.map(iso).unwrap_or_default(),
                    d.frozen_reason.clone().unwrap_or_default(),
                ]));
            }
            ("devices.csv", csv, devices.len(), "devices")
        }
    };
    let uploaded = attachments::upload(
        app,
        Some(actor),
        DeskUploadKind::Attachment,
        file_name,
        csv.into_bytes().into(),
    )
    .await?;
    let body = match note.map(str::trim).filter(|n| !n.is_empty()) {
        Some(note) => note.to_string(),
        None => t(
            lang,
            "org-evidence-message",
            &[
                ("organization", me.org.name.clone()),
                ("file", file_name.to_string()),
                ("rows", rows.to_string()),
            ],
        ),
    };
    let added = desk_service::add_message_as(
        app,
        Some(actor),
        &ticket,
        Standing::Requester,
        &body,
        true,
        &[uploaded.token],
        None,
    )
    .await?;
    let mut change = app.store.change().await?;
    access::record(
        app,
        &mut change,
        org_id,
        actor,
        "support.evidence_attached",
        &format!("ticket:{}", ticket.reference),
        json!({ "kind": what, "rows": rows, "file": file_name }),
    )
    .await?;
    change.commit().await?;
    Ok(added)
}
