//! Inviting people from a CSV file.

use crate::enterprise::import::{
    self as service, rows_refused, ImportRefusal, ImportReport, ImportRequest,
};
use crate::http::auth::SignedIn;
use crate::http::json::{ApiPath, ApiQuery};
use crate::http::problem::{request_lang, Problem};
use crate::state::App;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use koban_policy::org::import::Charset;
use std::sync::Arc;

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// The file's character set (`utf-8`, `shift_jis`, `gbk`, `big5`,
    /// `euc-kr`, …); guessed when absent.
    pub charset: Option<String>,
    /// Region (ISO 3166, `JP`) for phone numbers without a country code.
    pub region: Option<String>,
    /// `true`: report what would happen and change nothing.
    pub dry_run: Option<bool>,
}

/// Invites the people of a CSV file (`members.invite`): a header row naming
/// `email`, `phone`, `name` and `roles` (`;`-separated), one person per row,
/// at most 100,000 rows and 10 MiB, in UTF-8, UTF-16, Shift_JIS, GBK, Big5
/// or EUC-KR. Every row is checked first; one refused row refuses the file
/// (422 with a report of every row) and nothing changes. People already in
/// or already invited are skipped, so the same file sent twice invites
/// nobody twice.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/imports", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "The CSV file"),
    responses((status = 200, body = ImportReport), (status = 401), (status = 403), (status = 404), (status = 409),
        (status = 413), (status = 422, description = "an unreadable file, or refused rows (the `report` member lists every row)"),
        (status = 429)))]
pub async fn import(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    headers: HeaderMap,
    ApiPath(org): ApiPath<i64>,
    ApiQuery(query): ApiQuery<ImportQuery>,
    body: Body,
) -> Result<Json<ImportReport>, Problem> {
    let charset = match query.charset.as_deref() {
        None => None,
        Some(label) => {
            Some(Charset::parse(label).ok_or_else(|| Problem::field("charset", "invalid_value"))?)
        }
    };
    service::check_region(query.region.as_deref())?;
    let limit = service::MAX_FILE_BYTES;
    let bytes = axum::body::to_bytes(body, limit + 1).await.map_err(|_| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "problem-body-too-large",
        )
        .arg("limit", limit.to_string())
    })?;
    let request = ImportRequest {
        bytes: &bytes,
        charset,
        region: query.region.as_deref(),
        dry_run: query.dry_run.unwrap_or(false),
        lang: request_lang(&headers),
    };
    match service::import(&app, who.account_id(), org, request).await {
        Ok(report) => Ok(Json(report)),
        Err(ImportRefusal::File(code)) => Err(Problem::field("file", service::file_reason(code))),
        Err(ImportRefusal::Rows(report)) => Err(rows_refused(&report)),
        Err(ImportRefusal::Other(error)) => Err(error.into()),
    }
}
