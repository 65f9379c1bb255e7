//! Dotted client versions (`13.4.2`), compared number by number, for the
//! outdated-client signal: an old app may lack security fixes.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Longer inputs are not a version string; refusing them bounds the work.
const MAX_INPUT_CHARS: usize = 64;
/// More components than this is not a version either.
const MAX_COMPONENTS: usize = 8;

/// The text is not a dotted version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a version is dotted numbers such as 13.4.2")]
pub struct VersionError;

/// A dotted version such as `13.4.2`. An optional leading `v` and anything
/// from the first `-` or `+` on (a pre-release or build tag) are ignored, so
/// `v13.4.2-beta` reads as 13.4.2; trailing zero components do not count, so
/// `13.4` equals `13.4.0`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientVersion {
    // Trailing zeros are trimmed at parse time, which makes the derived
    // (lexicographic) order agree with "pad the shorter one with zeros".
    parts: Vec<u32>,
}

impl FromStr for ClientVersion {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<ClientVersion, VersionError> {
        let text = text.trim();
        if text.len() > MAX_INPUT_CHARS {
            return Err(VersionError);
        }
        let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
        let core = text.split(['-', '+']).next().unwrap_or(text);
        let mut parts = Vec::new();
        for part in core.split('.') {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(VersionError);
            }
            parts.push(part.parse::<u32>().map_err(|_| VersionError)?);
        }
        if parts.len() > MAX_COMPONENTS {
            return Err(VersionError);
        }
        while parts.last() == Some(&0) {
            parts.pop();
        }
        Ok(ClientVersion { parts })
    }
}

impl fmt::Display for ClientVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.parts.is_empty() {
            return f.write_str("0");
        }
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{part}")?;
        }
        Ok(())
    }
}

impl TryFrom<String> for ClientVersion {
    type Error = VersionError;

    fn try_from(text: String) -> Result<ClientVersion, VersionError> {
        text.parse()
    }
}

impl From<ClientVersion> for String {
    fn from(version: ClientVersion) -> String {
        version.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cmp::Ordering;

    fn v(text: &str) -> ClientVersion {
        text.parse().expect("test version")
    }

    #[test]
    fn parse_table() {
        let cases = [
            ("13.4.2", Some("13.4.2")),
            (" v2.0 ", Some("2")),
            ("1.2.3-beta.1", Some("1.2.3")),
            ("1.2.3+build.9", Some("1.2.3")),
            ("0", Some("0")),
            ("1.2.3.4.5.6.7.8", Some("1.2.3.4.5.6.7.8")),
            ("1.2.3.4.5.6.7.8.9", None),
            ("", None),
            ("1..2", None),
            ("1.2.", None),
            ("1.x", None),
            ("1.2.3 (456)", None),
            ("99999999999", None),
            ("-1.2", None),
        ];
        for (text, want) in cases {
            let got = text.parse::<ClientVersion>().ok().map(|v| v.to_string());
            assert_eq!(got.as_deref(), want, "{text:?}");
        }
    }

    #[test]
    fn order_table() {
        let cases = [
            ("1.2.10", "1.2.9", Ordering::Greater),
            ("1.10", "1.9.9", Ordering::Greater),
            ("13.4", "13.4.0", Ordering::Equal),
            ("13.4", "13.4.0.1", Ordering::Less),
            ("2", "10", Ordering::Less),
            ("1.0.0-rc1", "1", Ordering::Equal),
        ];
        for (a, b, want) in cases {
            assert_eq!(v(a).cmp(&v(b)), want, "{a} vs {b}");
        }
    }

    proptest! {
        #[test]
        fn order_matches_zero_padded_comparison(a in proptest::collection::vec(0u32..5, 1..6), b in proptest::collection::vec(0u32..5, 1..6)) {
            let text = |p: &[u32]| p.iter().map(u32::to_string).collect::<Vec<_>>().join(".");
            let len = a.len().max(b.len());
            let pad = |p: &[u32]| { let mut p = p.to_vec(); p.resize(len, 0); p };
            prop_assert_eq!(v(&text(&a)).cmp(&v(&text(&b))), pad(&a).cmp(&pad(&b)));
        }

        #[test]
        fn parsing_never_panics(text in ".{0,80}") {
            let _ = text.parse::<ClientVersion>();
        }
    }
}
