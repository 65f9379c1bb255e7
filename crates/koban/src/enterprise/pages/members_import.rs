//! Inviting people from a CSV file chosen (its encoding guessed, as the
//! API does: Shift_JIS, GBK, UTF-8 with or without a BOM) or CSV text
//! pasted on the members page: the import
//! service reads and checks every row and applies the file only when all
//! pass (or, for a check, changes nothing); the page shows every row's
//! outcome in words.

use super::super::member_of;
use super::{content, failed, refused_change, Filters};
use crate::accounts::pages::{explain_problem, refused};
use crate::enterprise::import::{
    self as service, rows_refused, ImportRefusal, ImportReport, ImportRequest,
};
use crate::enterprise::EnterpriseError;
use crate::state::App;
use crate::web::{render, PageUpload, Viewer};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use koban_policy::org::import::Charset;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The report as the page shows it (the template puts the codes into words).
fn report_view(report: &ImportReport) -> minijinja::Value {
    context! {
        applied => report.applied,
        invited => report.invited,
        skipped => report.skipped,
        refused => report.refused,
        rows => report.rows.iter().map(|r| context! {
            line => r.line, contact => r.contact, outcome => r.outcome, problem => r.problem,
        }).collect::<Vec<_>>(),
    }
}

/// `POST /orgs/{org}/members/import`: a CSV file (`csv_file`) or text
/// (`csv`), a region for phone numbers without a country code, and
/// whether only to check it.
pub(super) async fn import(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(org): Path<String>,
    upload: PageUpload,
) -> Response {
    let form: &BTreeMap<String, String> = &upload.fields;
    let file = upload.files.get("csv_file");
    let me = match member_of(&app, &viewer, &org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let csv = super::super::field(form, "csv");
    let region = Some(super::super::field(form, "import_region")).filter(|r| !r.is_empty());
    let dry_run = super::super::field(form, "dry_run") == "on";
    let kept = context! {
        import_values => context! { csv => csv, region => region, dry_run => dry_run },
        open_form => "import",
    };
    // The region comes from a select; named as this form's own field.
    let region_checked = service::check_region(region)
        .map_err(|_| EnterpriseError::field("import_region", "invalid_value"));
    let result = match region_checked {
        Ok(()) => {
            // A file's bytes as they are, their encoding guessed; text
            // from a form is UTF-8 whatever the file it came from was.
            let (bytes, charset) = match file {
                Some(bytes) => (bytes.as_slice(), None),
                None => (csv.as_bytes(), Some(Charset::Utf8)),
            };
            let request = ImportRequest {
                bytes,
                charset,
                region,
                dry_run,
                lang: viewer.lang,
            };
            service::import(&app, me.account_id(), me.org.id, request).await
        }
        Err(error) => Err(ImportRefusal::Other(error)),
    };
    let error = match result {
        Ok(report) => {
            // A check keeps the text to import for real; a done import clears it.
            let kept = if report.applied {
                context! {
                    import_values => context! { region => region }, open_form => "import",
                }
            } else {
                kept
            };
            return match content(&app, &viewer, &me, &Filters::default()).await {
                Ok((shown, _)) => render::page(
                    &viewer,
                    StatusCode::OK,
                    "org_members.html",
                    context! { report => report_view(&report), ..context! { ..kept, ..shown } },
                ),
                Err(error) => failed(&viewer, error),
            };
        }
        Err(ImportRefusal::File(code)) => EnterpriseError::field("csv", service::file_reason(code)),
        Err(ImportRefusal::Other(error)) => error,
        Err(ImportRefusal::Rows(report)) => {
            let shown = match content(&app, &viewer, &me, &Filters::default()).await {
                Ok((shown, _)) => shown,
                Err(error) => return failed(&viewer, error),
            };
            return match explain_problem(&viewer, rows_refused(&report), &["csv"]) {
                Ok(feedback) => refused(
                    &viewer,
                    "org_members.html",
                    feedback,
                    context! { report => report_view(&report), ..context! { ..kept, ..shown } },
                ),
                Err(response) => response,
            };
        }
    };
    let fields = ["csv", "import_region"];
    refused_change(&app, &viewer, &me, error, &fields, kept).await
}
