//! What makes a new password acceptable. NIST SP 800-63B: a minimum length,
//! a generous maximum, and refusal of known-common passwords; no composition
//! rules, which only push people to `Password1!`.

use unicode_normalization::UnicodeNormalization;

/// Shortest accepted password, in characters.
pub const MIN_CHARS: usize = 8;
/// Longest accepted password. Argon2 handles long inputs, but a bound keeps a
/// megabyte "password" from being a cheap way to burn CPU.
pub const MAX_CHARS: usize = 256;

/// What a new password may not contain (control characters), as a regular
/// expression for API documents; length and the common-password list are
/// checked apart.
pub const NEW_PASSWORD_PATTERN: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";

static COMMON: &str = include_str!("../data/common-passwords.txt");

/// Why a new password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("the password must be at least {MIN_CHARS} characters")]
    TooShort,
    #[error("the password must be at most {MAX_CHARS} characters")]
    TooLong,
    #[error("this password is on the list of commonly used passwords")]
    Common,
    #[error("the password must not contain your phone number or email address")]
    ContainsIdentifier,
    #[error("the password contains a control character")]
    ControlCharacter,
}

impl PasswordProblem {
    /// Stable machine-readable reason.
    pub fn code(self) -> &'static str {
        match self {
            PasswordProblem::TooShort => "too_short",
            PasswordProblem::TooLong => "too_long",
            PasswordProblem::Common => "common",
            PasswordProblem::ContainsIdentifier => "contains_identifier",
            PasswordProblem::ControlCharacter => "control_character",
        }
    }
}

/// The form a password is hashed in: NFKC, so that the same password typed
/// on a full-width keyboard still matches.
pub fn normalize(password: &str) -> String {
    password.nfkc().collect()
}

fn is_common(candidate: &str) -> bool {
    let lower = candidate.to_lowercase();
    COMMON
        .lines()
        .filter(|l| !l.starts_with('#'))
        .any(|l| l == lower)
}

/// Checks a new password against the policy. `identifiers` are the account's
/// phone and email, which must not appear inside it.
pub fn check_new_password(password: &str, identifiers: &[&str]) -> Result<(), PasswordProblem> {
    let normalized = normalize(password);
    let chars = normalized.chars().count();
    if chars < MIN_CHARS {
        return Err(PasswordProblem::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(PasswordProblem::TooLong);
    }
    if normalized.chars().any(char::is_control) {
        return Err(PasswordProblem::ControlCharacter);
    }
    if is_common(&normalized) {
        return Err(PasswordProblem::Common);
    }
    let lower = normalized.to_lowercase();
    for id in identifiers {
        let core = id.trim_start_matches('+');
        let core = core.split('@').next().unwrap_or(core).to_lowercase();
        if core.len() >= 4 && lower.contains(&core) {
            return Err(PasswordProblem::ContainsIdentifier);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn policy_table() {
        let cases = [
            ("short", Err(PasswordProblem::TooShort)),
            ("password", Err(PasswordProblem::Common)),
            ("PASSWORD1", Err(PasswordProblem::Common)),
            ("5201314abc", Ok(())),
            ("woaini1314", Err(PasswordProblem::Common)),
            ("mei-lin-2026!", Err(PasswordProblem::ContainsIdentifier)),
            ("tab\there-long", Err(PasswordProblem::ControlCharacter)),
            ("correct horse battery staple", Ok(())),
            ("パスワードは長いほうがいい", Ok(())),
        ];
        for (pw, want) in cases {
            assert_eq!(
                check_new_password(pw, &["mei-lin@example.com", "+819012345678"]),
                want,
                "{pw}"
            );
        }
        assert_eq!(
            check_new_password(&"x".repeat(MAX_CHARS + 1), &[]),
            Err(PasswordProblem::TooLong)
        );
    }

    #[test]
    fn full_width_and_ascii_forms_normalize_alike() {
        assert_eq!(normalize("Ｓｅｃｒｅｔ１２３"), "Secret123");
    }

    proptest! {
        #[test]
        fn anything_shorter_than_the_minimum_is_refused(pw in "[a-zA-Z0-9]{0,7}") {
            prop_assert_eq!(check_new_password(&pw, &[]), Err(PasswordProblem::TooShort));
        }

        #[test]
        fn verdicts_never_panic(pw in any::<String>()) {
            let _ = check_new_password(&pw, &["a@b.co"]);
        }
    }
}
