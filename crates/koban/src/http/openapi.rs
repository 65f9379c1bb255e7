//! What every operation of the API document shares, added in one place so
//! that no handler can forget it: the problem-details schema, the security
//! schemes, the answers the middleware gives on any route (429 from the
//! per-IP limiter, 413, 415 and 400 for bodies, 422 for bad parameters, 403
//! for a missing CSRF token, 500 and 503), and `Idempotency-Key` on exactly
//! the routes the idempotency layer honours.
//!
//! Handlers still document what only they answer (201, 404, 409 …) and mark
//! the operations that need a session with [`SIGNED_IN`]'s schemes.

use super::idempotency;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Required, Response, ResponseBuilder};
use utoipa::{Modify, PartialSchema, ToSchema};

/// The security scheme names a signed-in operation lists, either of which will do.
pub const SIGNED_IN: [&str; 2] = ["bearer", "session_cookie"];

/// The media type of every error.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The longest `Idempotency-Key` the idempotency layer accepts. That layer
/// checks its keys inline (1 to 255 printable ASCII characters); the
/// conventions test holds these two constants to what it answers.
pub const IDEMPOTENCY_KEY_MAX: usize = 255;
/// What an `Idempotency-Key` may be made of: printable ASCII, no spaces.
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]+$";

/// An RFC 9457 problem document: the shape of every error the API answers.
#[derive(serde::Serialize, ToSchema)]
#[schema(as = Problem)]
#[allow(dead_code)] // Only its schema is used; the documents are built in `problem.rs`.
pub struct ProblemDocument {
    /// A stable reference for the kind of problem, `/problems/{slug}`.
    #[serde(rename = "type")]
    #[schema(format = "uri-reference", pattern = "^/problems/[a-z0-9-]+$")]
    kind: String,
    /// The HTTP status's reason phrase.
    title: String,
    /// The HTTP status code, repeated.
    #[schema(minimum = 400, maximum = 599)]
    status: u16,
    /// What happened and what to do, in the request's language.
    detail: String,
    /// Quote it to support: it finds the request in the logs.
    #[schema(required = false)]
    request_id: String,
    /// The fields, parameters or headers refused, each with a reason.
    #[schema(required = false)]
    errors: Vec<FieldProblem>,
}

/// One refused field, query or path parameter, or header.
#[derive(serde::Serialize, ToSchema)]
#[allow(dead_code)]
pub struct FieldProblem {
    /// The member, parameter or header name, e.g. `password`, `limit`, `Idempotency-Key`.
    field: String,
    /// A stable reason, e.g. `required`, `too_short`, `invalid_value`.
    code: String,
    /// The reason in the request's language.
    detail: String,
}

/// The shared answers, by component name: (status, name, description).
const SHARED: &[(&str, &str, &str)] = &[
    ("400", "MalformedJson", "The body is not well-formed JSON, or is not a JSON object of the expected shape."),
    ("401", "Unauthorized", "Not signed in: no session token or cookie, or the session has ended."),
    ("403", "CsrfRefused", "A cookie-authenticated or form-encoded request without the CSRF token (`X-CSRF-Token` equal to the `koban_csrf` cookie)."),
    ("409", "IdempotencyInProgress", "A request with this `Idempotency-Key` is still being answered."),
    ("413", "BodyTooLarge", "The body is larger than the server's limit."),
    ("415", "UnsupportedMediaType", "The body is not `application/json`."),
    ("422", "Invalid", "A field, query or path parameter, or header is refused; `errors` names each with a reason."),
    ("429", "RateLimited", "Too many requests from this address (or for this account); retry after `Retry-After` seconds."),
    ("500", "Internal", "An error on the server's side; the cause is logged under `request_id`."),
    ("503", "Unavailable", "The request took too long, or the database is unavailable; retry later."),
];

/// The bodies that take a `phone` or an `email`, never both: the services
/// refuse both (`one_of_phone_email`) and neither (`required`).
const EXACTLY_ONE_CONTACT: &[&str] = &["Registration", "ContactChange"];

fn exactly_one_contact(schema: RefOr<Schema>) -> RefOr<Schema> {
    let member = |name: &str| ObjectBuilder::new().required(name).build();
    RefOr::T(Schema::AllOf(
        AllOfBuilder::new()
            .item(schema)
            .item(
                OneOfBuilder::new()
                    .item(member("phone"))
                    .item(member("email")),
            )
            .build(),
    ))
}

fn problem_content() -> Content {
    Content::new(Some(Ref::from_schema_name("Problem")))
}

fn shared_response(status: &str, description: &str) -> Response {
    let mut builder = ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, problem_content());
    if status == "429" {
        builder = builder.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1)),
                )
                .description(Some("Seconds to wait before retrying."))
                .build(),
        );
    }
    builder.build()
}

/// Adds the shared parts to a document built from the handlers' attributes.
pub struct Conventions;

impl Modify for Conventions {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, schema) in [
            ("Problem", ProblemDocument::schema()),
            ("FieldProblem", FieldProblem::schema()),
        ] {
            components.schemas.insert(name.to_string(), schema);
        }
        for name in EXACTLY_ONE_CONTACT {
            if let Some(schema) = components.schemas.remove(*name) {
                components
                    .schemas
                    .insert(name.to_string(), exactly_one_contact(schema));
            }
        }
        for (status, name, description) in SHARED {
            components.responses.insert(
                name.to_string(),
                RefOr::T(shared_response(status, description)),
            );
        }
        components.security_schemes.insert(
            SIGNED_IN[0].to_string(),
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "`Authorization: Bearer <token>` with the `session.token` a sign-in answers with.",
                    ))
                    .build(),
            ),
        );
        components.security_schemes.insert(
            SIGNED_IN[1].to_string(),
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::http::auth::SESSION_COOKIE,
                "The browser's session cookie. Unsafe methods also need `X-CSRF-Token` equal to the `koban_csrf` cookie.",
            ))),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            let operations = [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ];
            for (method, operation) in operations {
                if let Some(operation) = operation {
                    complete(path, method, operation);
                }
            }
        }
    }
}

/// What a handler's bare error status means, when it said no more.
fn fallback_description(status: &str) -> &'static str {
    match status {
        "401" => "Not signed in, or the session has ended.",
        "403" => "Not allowed: the account lacks the role, or the fresh step-up, this needs.",
        "404" => "No such resource on this account.",
        "409" => "In conflict with the current state.",
        _ => SHARED.iter().find(|(s, _, _)| *s == status).map_or(
            "An error; see the problem document.",
            |(_, _, description)| description,
        ),
    }
}

/// Adds to one operation every answer the shared layers can give it.
fn complete(path: &str, method: &str, operation: &mut Operation) {
    // A list holding an empty requirement next to schemes means a session
    // is optional: a caller may come signed out, but a bad token is still 401.
    let signed_in = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    if !signed_in {
        // Said outright, so no reader takes a missing list for "unknown".
        operation.security = Some(vec![]);
    }
    let has_body = operation.request_body.is_some();
    let idempotent = method == "post" && idempotency::ROUTES.contains(&path);
    if idempotent {
        let parameters = operation.parameters.get_or_insert_with(Vec::new);
        parameters.retain(|p| !p.name.eq_ignore_ascii_case(idempotency::HEADER));
        parameters.push(
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "Makes a retry within 24 hours return the first answer instead of acting twice. \
                     A key reused with a different body answers 422, as does a malformed key.",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(IDEMPOTENCY_KEY_MAX))
                        .pattern(Some(IDEMPOTENCY_KEY_PATTERN)),
                ))
                .build(),
        );
    }
    // The device headers' rules come from the functions that check them.
    for parameter in operation.parameters.iter_mut().flatten() {
        use crate::http::auth::{CLIENT_VERSION_HEADER, DEVICE_HEADER, DEVICE_NAME_HEADER};
        use koban_policy::device::{
            CLIENT_VERSION_PATTERN, DEVICE_ID_PATTERN, DEVICE_NAME_HEADER_PATTERN,
        };
        if parameter.parameter_in != ParameterIn::Header {
            continue;
        }
        let name = parameter.name.to_ascii_lowercase();
        let pattern = match name.as_str() {
            DEVICE_HEADER => DEVICE_ID_PATTERN,
            DEVICE_NAME_HEADER => DEVICE_NAME_HEADER_PATTERN,
            CLIENT_VERSION_HEADER => CLIENT_VERSION_PATTERN,
            _ => continue,
        };
        parameter.schema = Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(pattern))
                .into(),
        );
    }
    let has_parameters = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let mut wanted = vec!["429", "500", "503"];
    if has_body {
        wanted.extend(["400", "413", "415", "422"]);
    }
    if has_parameters {
        wanted.push("422");
    }
    if signed_in {
        wanted.push("401");
    }
    if method != "get" {
        wanted.push("403");
    }
    if idempotent {
        wanted.extend(["409", "422"]);
    }
    // A handler's bare `(status = 403)` means its own reason, not the CSRF one.
    for (status, response) in operation.responses.responses.iter_mut() {
        if let RefOr::T(response) = response {
            if response.description.is_empty() {
                response.description = fallback_description(status).to_string();
            }
        }
    }
    for status in wanted {
        let Some((_, name, description)) = SHARED.iter().find(|(s, _, _)| *s == status) else {
            continue;
        };
        match operation.responses.responses.get_mut(status) {
            None => {
                operation.responses.responses.insert(
                    status.to_string(),
                    RefOr::Ref(Ref::from_response_name(*name)),
                );
            }
            // The handler said why it answers this status; the shared reason is added to its own.
            Some(RefOr::T(response)) => {
                if response.description.is_empty() {
                    response.description = description.to_string();
                } else if !response.description.contains(description) {
                    response.description = format!("{} Or: {description}", response.description);
                }
            }
            Some(RefOr::Ref(_)) => {}
        }
    }
    // Every error is a problem document, whoever documented it.
    for (status, response) in operation.responses.responses.iter_mut() {
        let is_error = status.starts_with('4') || status.starts_with('5');
        if let (true, RefOr::T(response)) = (is_error, response) {
            if response.content.is_empty() {
                response
                    .content
                    .insert(PROBLEM_JSON.to_string(), problem_content());
            }
            if status == "429" && response.headers.is_empty() {
                *response = shared_response("429", &response.description);
            }
        }
    }
}

/// Member schemas built from the rules the server enforces, so the document
/// and the checks cannot drift: each is named in `#[schema(schema_with = …)]`.
pub mod schemas {
    use koban_policy::{contact, device, password, text};
    use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

    fn string(description: &str) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
    }

    /// Finite choices, each a string.
    pub fn one_of(description: &str, values: &[&str]) -> Object {
        string(description)
            .enum_values(Some(values.iter().copied()))
            .build()
    }

    /// A phone number or an email address.
    pub fn identifier() -> Object {
        string("Phone number (with `+` and the country code, or give `region`) or email address.")
            .min_length(Some(1))
            .max_length(Some(contact::MAX_INPUT_CHARS))
            .pattern(Some(contact::IDENTIFIER_PATTERN))
            .build()
    }

    /// A phone number.
    pub fn phone() -> Object {
        string("International number: `+` and the country code, or give `region`.")
            .min_length(Some(1))
            .max_length(Some(contact::MAX_INPUT_CHARS))
            .pattern(Some(contact::PHONE_PATTERN))
            .build()
    }

    /// An email address.
    pub fn email() -> Object {
        string("Email address in ASCII: at most 64 characters before the `@`, 63 per domain label.")
            .min_length(Some(1))
            .max_length(Some(contact::MAX_INPUT_CHARS))
            .pattern(Some(contact::EMAIL_PATTERN))
            .build()
    }

    /// The region of a phone number given without its country code.
    pub fn region() -> Object {
        string("ISO 3166 alpha-2 region for a phone number without a country code, e.g. `JP`.")
            .pattern(Some(contact::REGION_PATTERN))
            .build()
    }

    /// A password being chosen.
    pub fn new_password() -> Object {
        string(
            "At least 8 and at most 256 characters (counted after NFKC), without control \
             characters, not a commonly used password and not containing the phone number or email.",
        )
        .min_length(Some(password::MIN_CHARS))
        .max_length(Some(password::MAX_CHARS))
        .pattern(Some(password::NEW_PASSWORD_PATTERN))
        .build()
    }

    /// A password being checked.
    pub fn password() -> Object {
        string("The account's password.")
            .max_length(Some(password::MAX_CHARS))
            .build()
    }

    /// A 6-digit code sent by email or SMS.
    pub fn code() -> Object {
        string("The 6-digit code (full-width digits and spaces are accepted too).")
            .pattern(Some(text::CODE_PATTERN))
            .build()
    }

    /// A code from an authenticator app, a recovery code or a sent code.
    pub fn any_code() -> Object {
        string("The code the method names.")
            .max_length(Some(64))
            .build()
    }

    /// A name people give a device or a passkey.
    pub fn name() -> Object {
        string(
            "A name to tell it apart, such as \"Work laptop\"; trimmed, visible characters only.",
        )
        .max_length(Some(device::MAX_NAME_CHARS))
        .pattern(Some(text::NAME_PATTERN))
        .build()
    }

    /// One line of visible text, at most `max` characters.
    pub fn line(description: &str, max: usize) -> Object {
        string(description)
            .max_length(Some(max))
            .pattern(Some(text::NAME_PATTERN))
            .build()
    }

    /// A language tag.
    pub fn locale() -> Object {
        string("Preferred language (BCP 47): `en`, `zh-CN`, `zh-TW`, `ja` or `th`.")
            .pattern(Some(crate::web::i18n::LOCALE_PATTERN))
            .build()
    }
}
