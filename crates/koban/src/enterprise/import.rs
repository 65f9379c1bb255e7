//! Inviting people from a CSV file: every row checked (by
//! `koban_policy::org::import`, then against the roles the importer may
//! give), and the file applied only when every row passes, in one change.
//! People already in or already invited are skipped, so sending the same
//! file twice invites nobody twice.

use super::access::{self, Acting};
use super::invites::{self, Sending};
use super::store;
use super::EnterpriseError;
use crate::state::App;
use crate::store::now_ms;
use crate::web::i18n::Lang;
use koban_policy::org::import::{self as csv_import, Charset, Person};
use koban_policy::org::roles::{self as rules, BuiltIn, Permission};
use serde_json::json;
use std::collections::HashSet;

/// The largest file accepted (100,000 rows of a few columns fit).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// How a request asks for the file to be read.
pub struct ImportRequest<'a> {
    pub bytes: &'a [u8],
    /// The file's character set when the uploader knows it (else guessed).
    pub charset: Option<Charset>,
    /// Region for phone numbers written without a country code.
    pub region: Option<&'a str>,
    /// Report what would happen, change nothing.
    pub dry_run: bool,
    pub lang: Lang,
}

/// One row of the answer.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ImportRow {
    /// The line in the file (the header is line 1).
    pub line: u64,
    /// The row's email or phone, as stored.
    pub contact: Option<String>,
    /// `invited`, `would_invite`, `already_member`, `already_invited` or `refused`.
    pub outcome: &'static str,
    /// Why a row is refused: a stable code (`bad_email`, `duplicate`,
    /// `formula`, `unknown_role`, `permission_not_held`, …).
    pub problem: Option<&'static str>,
}

/// What became of the file.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// The character set the file was read in.
    pub charset: String,
    /// False for a dry run or a refused file: nothing was changed.
    pub applied: bool,
    pub invited: usize,
    pub skipped: usize,
    pub refused: usize,
    pub rows: Vec<ImportRow>,
}

/// Why a file is refused as a whole: 422 with the report, nothing changed.
#[derive(Debug)]
pub enum ImportRefusal {
    /// The file cannot be read (its code: `encoding`, `missing_header`, …).
    File(&'static str),
    /// Rows were refused; the report says which and why.
    Rows(ImportReport),
    Other(EnterpriseError),
}

impl From<EnterpriseError> for ImportRefusal {
    fn from(e: EnterpriseError) -> Self {
        ImportRefusal::Other(e)
    }
}

impl From<sqlx::Error> for ImportRefusal {
    fn from(e: sqlx::Error) -> Self {
        ImportRefusal::Other(e.into())
    }
}

impl From<crate::store::StoreError> for ImportRefusal {
    fn from(e: crate::store::StoreError) -> Self {
        ImportRefusal::Other(e.into())
    }
}

/// A region for phone numbers must be two letters (ISO 3166, `JP`).
pub fn check_region(region: Option<&str>) -> Result<(), EnterpriseError> {
    if region.is_some_and(|r| r.len() != 2 || !r.chars().all(|c| c.is_ascii_alphabetic())) {
        return Err(EnterpriseError::field("region", "invalid_value"));
    }
    Ok(())
}

/// A file-level refusal's code (see [`ImportRefusal::File`]) as the reason
/// of the `file` field (its words are `reason-<reason>`).
pub fn file_reason(code: &str) -> &'static str {
    match code {
        "empty" => "import_empty",
        "encoding" => "import_encoding",
        "missing_header" => "import_missing_header",
        "no_contact_column" => "import_no_contact_column",
        "unknown_column" => "import_unknown_column",
        "duplicate_column" => "import_duplicate_column",
        "too_many_rows" => "import_too_many_rows",
        "no_rows" => "import_no_rows",
        _ => "import_malformed",
    }
}

/// The rows, each checked on its own and against what `me` may give.
fn check_rows(
    me: &Acting,
    customs: &[store::roles::CustomRoleRow],
    request: &ImportRequest<'_>,
) -> Result<(csv_import::Report, Vec<ImportRow>), ImportRefusal> {
    let mut keys: Vec<String> = BuiltIn::ALL.iter().map(|b| b.key().to_string()).collect();
    keys.extend(customs.iter().map(|c| format!("custom:{}", c.id)));
    let known: Vec<&str> = keys.iter().map(String::as_str).collect();
    let report = csv_import::parse(
        request.bytes,
        request.charset,
        &known,
        request.region,
        csv_import::MAX_ROWS,
    )
    .map_err(|problem| ImportRefusal::File(problem.code()))?;
    let rows = report
        .rows
        .iter()
        .map(|row| match &row.result {
            Ok(person) => {
                let roles = access::resolve(&person.roles, customs);
                let grantable = rules::may_invite(me.permissions, &roles).is_ok();
                ImportRow {
                    line: row.line,
                    contact: Some(person.contact.as_str().to_string()),
                    outcome: if grantable { "would_invite" } else { "refused" },
                    problem: (!grantable).then_some("permission_not_held"),
                }
            }
            Err(problem) => ImportRow {
                line: row.line,
                contact: None,
                outcome: "refused",
                problem: Some(problem.code()),
            },
        })
        .collect();
    Ok((report, rows))
}

fn summary(charset: Charset, applied: bool, rows: Vec<ImportRow>) -> ImportReport {
    let count = |outcome: &[&str]| rows.iter().filter(|r| outcome.contains(&r.outcome)).count();
    ImportReport {
        charset: charset.as_str().to_string(),
        applied,
        invited: count(&["invited", "would_invite"]),
        skipped: count(&["already_member", "already_invited"]),
        refused: count(&["refused"]),
        rows,
    }
}

/// Reads, checks and (unless a dry run, and only when every row passes)
/// applies a file of people to invite.
pub async fn import(
    app: &App,
    actor: i64,
    org_id: i64,
    request: ImportRequest<'_>,
) -> Result<ImportReport, ImportRefusal> {
    app.limiter
        .check_account(&format!("org-import:{org_id}"))
        .map_err(|ms| ImportRefusal::Other(EnterpriseError::RateLimited(ms)))?;
    let mut change = app.store.change().await?;
    if !store::lock_org(&mut change.tx, app.store.backend(), org_id).await? {
        return Err(EnterpriseError::NotFound.into());
    }
    let (me, customs) = access::acting_in(&mut change.tx, org_id, actor).await?;
    me.may(Permission::InviteMembers)?;
    let (report, mut rows) = check_rows(&me, &customs, &request)?;
    if rows.iter().any(|r| r.outcome == "refused") || rows.is_empty() {
        let refused = summary(report.charset, false, rows);
        if refused.rows.is_empty() {
            return Err(ImportRefusal::File("no_rows"));
        }
        return Err(ImportRefusal::Rows(refused));
    }
    let now = now_ms();
    let members: HashSet<String> = store::members::contacts(&mut change.tx, org_id)
        .await?
        .into_iter()
        .collect();
    let open: HashSet<String> = store::invites::open_contacts(&mut change.tx, org_id, now)
        .await?
        .into_iter()
        .collect();
    let people: Vec<&Person> = report.people();
    let sending = Sending {
        org_id,
        org_name: &me.org.name,
        actor,
        lang: request.lang,
        now,
    };
    for (row, person) in rows.iter_mut().zip(people) {
        let contact = person.contact.as_str();
        row.outcome = if members.contains(contact) {
            "already_member"
        } else if open.contains(contact) {
            "already_invited"
        } else if request.dry_run {
            "would_invite"
        } else {
            store::invites::expire_stale(&mut change.tx, org_id, contact, now).await?;
            let sent = invites::send_in(
                app,
                &mut change,
                &sending,
                &person.contact,
                person.name.as_deref().unwrap_or(""),
                &person.roles,
            )
            .await?;
            if sent.is_some() {
                "invited"
            } else {
                "already_invited"
            }
        };
    }
    let result = summary(report.charset, !request.dry_run, rows);
    if request.dry_run {
        return Ok(result);
    }
    access::record(
        app,
        &mut change,
        org_id,
        actor,
        "members.imported",
        &format!("org:{org_id}"),
        json!({
            "rows": result.rows.len(),
            "invited": result.invited,
            "skipped": result.skipped,
            "charset": result.charset,
            "sha256": crate::crypto::sha256_hex(request.bytes),
        }),
    )
    .await?;
    change.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(result)
}

/// A file refused for its rows: 422, how many, and the report of every
/// row (the members page says the same in its words).
pub fn rows_refused(report: &ImportReport) -> crate::http::problem::Problem {
    crate::http::problem::Problem::new(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        "org-import-rows-refused",
        "problem-org-import-rows-refused",
    )
    .arg("refused", report.refused.to_string())
    .extension("report", serde_json::to_value(report).unwrap_or_default())
}
