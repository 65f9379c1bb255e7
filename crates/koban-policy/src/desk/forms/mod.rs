//! Category forms: what support needs to know for each kind of problem, and
//! whether a submitted form gives it.
//!
//! The seed asks requesters to "prepare the account, steps, time, device and
//! screenshots" so that support does not have to ask again. A [`FormSpec`]
//! says which of those a category requires; [`check`] tells the requester,
//! before the ticket exists, what is missing or wrong; [`validate_spec`]
//! keeps an admin editing a form from saving one that cannot be filled.
//!
//! Every report is machine-readable (a [`FieldRef`] id and a [`Problem`] or
//! [`SpecProblem`] code, both stable snake_case) so the app can show each in
//! its five languages; no human text is produced here.
#![warn(missing_docs)]

mod check;
mod defaults;
mod labels;
mod spec;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_labels;

pub use check::{
    check, Completeness, Problem, FUTURE_TOLERANCE_SECONDS, MAX_UNKNOWN_REPORTED,
    MAX_UNKNOWN_REPORTED_CHARS,
};
pub use defaults::default_form;
pub use labels::{
    pick as pick_label, tidy, Labels, FALLBACK_LABEL_LANGUAGE, LABEL_LANGUAGES, MAX_HINT_CHARS,
    MAX_LABEL_CHARS,
};
pub use spec::{
    validate_spec, SpecIssue, SpecProblem, CUSTOM_ID_PATTERN, MAX_CUSTOM_FIELDS, MAX_CUSTOM_LEN,
    MAX_OPTIONS, MAX_OPTION_CHARS,
};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why a category or field name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// Not one of [`Category::ALL`].
    #[error("unknown ticket category")]
    UnknownCategory,
    /// Not one of [`Field::ALL`].
    #[error("unknown form field")]
    UnknownField,
}

/// The problem categories of the seed (registration and login, device
/// security, enterprise management) plus privacy requests and the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A verification code by SMS or email never arrived.
    CodeNotReceived,
    /// Signing in fails (wrong code, locked, error screen).
    CannotSignIn,
    /// The requester cannot remember the password.
    ForgotPassword,
    /// An unknown device, a binding conflict, a security alert.
    DeviceSecurity,
    /// Someone else has taken the account over.
    AccountStolen,
    /// The phone or email is already used by another account.
    DuplicateContact,
    /// Enterprise admin roles, member permissions, multi-device policy.
    EnterprisePermissions,
    /// An enterprise broadcast did not reach its audience.
    BroadcastFailure,
    /// Data access, export or deletion requests.
    Privacy,
    /// Anything else.
    Other,
}

impl Category {
    /// Every category, in the order a form's category picker shows them.
    pub const ALL: [Category; 10] = [
        Category::CodeNotReceived,
        Category::CannotSignIn,
        Category::ForgotPassword,
        Category::DeviceSecurity,
        Category::AccountStolen,
        Category::DuplicateContact,
        Category::EnterprisePermissions,
        Category::BroadcastFailure,
        Category::Privacy,
        Category::Other,
    ];

    /// The stable identifier stored and sent in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::CodeNotReceived => "code_not_received",
            Category::CannotSignIn => "cannot_sign_in",
            Category::ForgotPassword => "forgot_password",
            Category::DeviceSecurity => "device_security",
            Category::AccountStolen => "account_stolen",
            Category::DuplicateContact => "duplicate_contact",
            Category::EnterprisePermissions => "enterprise_permissions",
            Category::BroadcastFailure => "broadcast_failure",
            Category::Privacy => "privacy",
            Category::Other => "other",
        }
    }

    /// Reads an identifier exactly as [`Category::as_str`] writes it.
    pub fn parse(s: &str) -> Result<Category, FormError> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or(FormError::UnknownCategory)
    }
}

impl std::str::FromStr for Category {
    type Err = FormError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::parse(s)
    }
}

/// The standard fields Koban knows how to validate (and the agent console
/// knows where to show).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// One line saying what is wrong; required on every form.
    Subject,
    /// The requester's account of the problem; required on every form.
    Body,
    /// Operating system (iOS, Android, Windows, ...).
    DeviceOs,
    /// Its version.
    DeviceOsVersion,
    /// The app's version, dotted digits (`13.4.2`).
    ClientVersion,
    /// When it happened: an RFC 3339 date-time with an offset.
    HappenedAt,
    /// The error message as shown.
    ErrorText,
    /// Ids of uploaded attachments, comma-separated.
    Screenshot,
    /// The phone number or email address the requester used.
    ContactUsed,
    /// What the requester did, step by step.
    Steps,
}

impl Field {
    /// Every standard field.
    pub const ALL: [Field; 10] = [
        Field::Subject,
        Field::Body,
        Field::DeviceOs,
        Field::DeviceOsVersion,
        Field::ClientVersion,
        Field::HappenedAt,
        Field::ErrorText,
        Field::Screenshot,
        Field::ContactUsed,
        Field::Steps,
    ];

    /// The fields every form requires whatever its spec says: a ticket
    /// without a subject or a body cannot be listed or read.
    pub const ALWAYS_REQUIRED: [Field; 2] = [Field::Subject, Field::Body];

    /// The stable identifier, also the submitted field name.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Subject => "subject",
            Field::Body => "body",
            Field::DeviceOs => "device_os",
            Field::DeviceOsVersion => "device_os_version",
            Field::ClientVersion => "client_version",
            Field::HappenedAt => "happened_at",
            Field::ErrorText => "error_text",
            Field::Screenshot => "screenshot",
            Field::ContactUsed => "contact_used",
            Field::Steps => "steps",
        }
    }

    /// Reads an identifier exactly as [`Field::as_str`] writes it.
    pub fn parse(s: &str) -> Result<Field, FormError> {
        Field::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or(FormError::UnknownField)
    }
}

/// A field of a form, standard or defined by an admin. Serialised as its
/// id alone (`"device_os"`, `"order_number"`): [`validate_spec`] keeps
/// custom ids from shadowing standard ones, so the id is unambiguous.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum FieldRef {
    /// One of Koban's own fields.
    Standard(Field),
    /// An admin-defined field, by its id.
    Custom(String),
}

impl FieldRef {
    /// The field's id as submitted and reported.
    pub fn id(&self) -> &str {
        match self {
            FieldRef::Standard(f) => f.as_str(),
            FieldRef::Custom(id) => id,
        }
    }
}

impl From<FieldRef> for String {
    fn from(f: FieldRef) -> String {
        f.id().to_string()
    }
}

impl From<String> for FieldRef {
    fn from(s: String) -> FieldRef {
        match Field::parse(&s) {
            Ok(f) => FieldRef::Standard(f),
            Err(_) => FieldRef::Custom(s),
        }
    }
}

/// What an admin-defined field holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CustomKind {
    /// Free text; `multiline` lets line breaks and tabs through.
    Text {
        /// Whether the value may span lines.
        multiline: bool,
    },
    /// A decimal number (`-12`, `3.5`); full-width digits are read too.
    Number,
    /// One of a fixed list of option ids.
    Choice {
        /// The option ids the value must be one of.
        options: Vec<String>,
    },
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A box ticked or not: `true` or `false`. A required one must be
    /// ticked (a consent, "I am the account owner").
    Checkbox,
}

impl CustomKind {
    /// The kinds' type names, as `type` holds them, in the order an admin
    /// picks from.
    pub const TYPES: [&'static str; 5] = ["text", "number", "choice", "date", "checkbox"];

    /// This kind's type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            CustomKind::Text { .. } => "text",
            CustomKind::Number => "number",
            CustomKind::Choice { .. } => "choice",
            CustomKind::Date => "date",
            CustomKind::Checkbox => "checkbox",
        }
    }
}

/// A field an admin added to a category's form (an order number, a member
/// count).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomField {
    /// Matches [`CUSTOM_ID_PATTERN`].
    pub id: String,
    /// What it holds.
    pub kind: CustomKind,
    /// Whether the form is incomplete without it.
    pub required: bool,
    /// The longest value accepted, in characters, whatever the kind.
    pub max_len: u32,
    /// The label by language tag (see [`LABEL_LANGUAGES`]); forms stored
    /// before labels existed have none and show the id.
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
    /// A hint shown under the field, by language tag.
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub hints: Labels,
    /// A choice field's options' labels: option id, then language tag. The
    /// stored value stays the option id whatever the requester read.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub option_labels: BTreeMap<String, Labels>,
}

/// A category's form: which standard fields it requires or offers, and the
/// admin's own fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormSpec {
    /// The category this form is for.
    pub category: Category,
    /// Standard fields that must be filled, including subject and body.
    pub required: Vec<Field>,
    /// Standard fields offered but not required.
    pub optional: Vec<Field>,
    /// Admin-defined fields.
    pub custom: Vec<CustomField>,
}
