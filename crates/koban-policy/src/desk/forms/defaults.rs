//! The forms a fresh install starts with, one per category.

use super::{Category, Field, FormSpec};

/// The form a category starts with before an admin edits it.
///
/// Each asks for what an agent needs to act without a round trip, and no
/// more: the contact used finds the account and its code deliveries; the
/// time finds the sign-in attempt or broadcast in the logs; the device and
/// error text tell a client bug from a policy refusal; steps reproduce an
/// enterprise problem. A screenshot is offered wherever a screen can show
/// the problem, never required, since many requesters write from another
/// device than the one in trouble.
pub fn default_form(category: Category) -> FormSpec {
    use Field::*;
    let (required, optional): (&[Field], &[Field]) = match category {
        Category::CodeNotReceived => (
            &[ContactUsed, HappenedAt],
            &[DeviceOs, ClientVersion, ErrorText, Screenshot],
        ),
        Category::CannotSignIn => (
            &[ContactUsed, DeviceOs, ErrorText, HappenedAt],
            &[DeviceOsVersion, ClientVersion, Screenshot, Steps],
        ),
        Category::ForgotPassword => (
            &[ContactUsed],
            &[HappenedAt, DeviceOs, ClientVersion, Screenshot],
        ),
        Category::DeviceSecurity => (
            &[DeviceOs, HappenedAt],
            &[
                DeviceOsVersion,
                ClientVersion,
                ContactUsed,
                Screenshot,
                Steps,
            ],
        ),
        // No screenshot asked: the thief holds the device; what matters is
        // which contact to recover through and since when.
        Category::AccountStolen => (&[ContactUsed, HappenedAt], &[DeviceOs, ErrorText, Steps]),
        Category::DuplicateContact => (&[ContactUsed], &[ErrorText, HappenedAt, Screenshot]),
        Category::EnterprisePermissions => (
            &[Steps],
            &[ErrorText, HappenedAt, ClientVersion, Screenshot],
        ),
        Category::BroadcastFailure => (
            &[ErrorText, HappenedAt, Steps],
            &[ClientVersion, Screenshot],
        ),
        // A privacy request is about an account, not a screen; the contact
        // identifies whose data it is.
        Category::Privacy => (&[ContactUsed], &[]),
        Category::Other => (&[], &[DeviceOs, ClientVersion, HappenedAt, Screenshot]),
    };
    FormSpec {
        category,
        required: Field::ALWAYS_REQUIRED
            .iter()
            .chain(required)
            .copied()
            .collect(),
        optional: optional.to_vec(),
        custom: Vec::new(),
    }
}
