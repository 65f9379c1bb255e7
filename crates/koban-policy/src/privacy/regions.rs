//! Regional rules (issue 15 §5): an operator names regions whose data is
//! kept shorter, or whose tickets must not leave in an export. An account's
//! region is the one Koban already knows it by (the announcements use the
//! same): its phone number's country, else the country of its latest
//! successful sign-in.
//!
//! The rules are one configuration value, so they can be set from a file,
//! a variable or a flag alike:
//!
//! ```text
//! TH: tickets=90, sign_in_history=30; CN HK: export_tickets=false
//! ```
//!
//! Rules are separated by `;`; each names ISO 3166-1 alpha-2 regions
//! (spaces or commas between them), a `:`, then settings (spaces or commas
//! between them): `<kind>=<days>` for a shorter retention, at least 1 day,
//! or `export_tickets=false`. A region appears in one rule at most.

use crate::announce::{parse_region, region_of_phone};
use std::collections::BTreeMap;

/// The kinds of data with a retention, as named in configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    SignInHistory,
    Tickets,
    Attachments,
    IdentityDocuments,
    DeliveryRecords,
    AuditLog,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::SignInHistory,
        Kind::Tickets,
        Kind::Attachments,
        Kind::IdentityDocuments,
        Kind::DeliveryRecords,
        Kind::AuditLog,
    ];

    /// The name in configuration and documentation.
    pub fn name(self) -> &'static str {
        match self {
            Kind::SignInHistory => "sign_in_history",
            Kind::Tickets => "tickets",
            Kind::Attachments => "attachments",
            Kind::IdentityDocuments => "identity_documents",
            Kind::DeliveryRecords => "delivery_records",
            Kind::AuditLog => "audit_log",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether a region can shorten it: the audit log is one hash chain
    /// per scope, pruned only from its start behind a checkpoint, so no
    /// account's entries can go before another's.
    pub fn regional(self) -> bool {
        self != Kind::AuditLog
    }
}

/// What one region's rule says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    /// Shorter retentions, in days (each at least 1).
    pub days: BTreeMap<Kind, i64>,
    /// Whether the region's tickets may be exported (default: yes).
    pub export_tickets: bool,
}

/// Every region's rule, by upper-case region code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    pub by_region: BTreeMap<String, Rule>,
}

/// Parses the configuration value; the message names the first problem.
pub fn parse(text: &str) -> Result<Rules, String> {
    let mut rules = Rules::default();
    for (n, part) in text.split(';').enumerate() {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let n = n + 1;
        let Some((regions, settings)) = part.split_once(':') else {
            return Err(format!(
                "rule {n} (`{part}`) needs regions, a colon, then settings, such as `TH: tickets=90`"
            ));
        };
        let mut rule = Rule {
            export_tickets: true,
            ..Rule::default()
        };
        let mut any = false;
        for setting in words(settings) {
            any = true;
            let Some((key, value)) = setting.split_once('=') else {
                return Err(format!(
                    "rule {n}: `{setting}` is not `kind=days` or `export_tickets=false`"
                ));
            };
            if key == "export_tickets" {
                rule.export_tickets = match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(format!("rule {n}: export_tickets must be true or false")),
                };
                continue;
            }
            let Some(kind) = Kind::parse(key) else {
                let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                return Err(format!(
                    "rule {n}: unknown setting `{key}` (kinds: {}; or export_tickets)",
                    kinds.join(", ")
                ));
            };
            if !kind.regional() {
                return Err(format!(
                    "rule {n}: the audit log has no region (its retention is audit_log's key alone)"
                ));
            }
            let days: i64 = value
                .parse()
                .map_err(|_| format!("rule {n}: {key}: `{value}` is not a number of days"))?;
            if days < 1 {
                return Err(format!(
                    "rule {n}: {key}: {days} days; a regional retention is at least 1 day"
                ));
            }
            if rule.days.insert(kind, days).is_some() {
                return Err(format!("rule {n}: {key} is set twice"));
            }
        }
        if !any {
            return Err(format!("rule {n} (`{part}`) has no settings"));
        }
        let mut named = false;
        for code in words(regions) {
            named = true;
            let Some(region) = parse_region(code) else {
                return Err(format!(
                    "rule {n}: `{code}` is not an ISO 3166-1 alpha-2 region code"
                ));
            };
            if rules
                .by_region
                .insert(region.clone(), rule.clone())
                .is_some()
            {
                return Err(format!("rule {n}: region {region} already has a rule"));
            }
        }
        if !named {
            return Err(format!("rule {n} (`{part}`) names no region"));
        }
    }
    Ok(rules)
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
}

/// Days of `global` and `regional` retention (0: kept for ever) combined:
/// a region may only shorten what everyone has.
pub fn shorter(global: i64, regional: Option<i64>) -> i64 {
    match regional {
        Some(days) if days > 0 && (global <= 0 || days < global) => days,
        _ => global.max(0),
    }
}

impl Rules {
    /// The retention in days (0: for ever) of `kind` for an account of
    /// `region` (None: unknown, so only `global` holds).
    pub fn effective_days(&self, region: Option<&str>, kind: Kind, global: i64) -> i64 {
        let regional = region
            .and_then(|r| self.by_region.get(&r.to_ascii_uppercase()))
            .and_then(|rule| rule.days.get(&kind).copied());
        shorter(global, regional)
    }

    /// Whether the tickets of an account of `region` may be exported.
    pub fn may_export_tickets(&self, region: Option<&str>) -> bool {
        region
            .and_then(|r| self.by_region.get(&r.to_ascii_uppercase()))
            .is_none_or(|rule| rule.export_tickets)
    }

    /// The regions whose rule shortens `kind` below `global`, with their
    /// days: the retention job's extra passes.
    pub fn shortened(&self, kind: Kind, global: i64) -> Vec<(&str, i64)> {
        self.by_region
            .iter()
            .filter_map(|(region, rule)| {
                let days = rule.days.get(&kind).copied()?;
                (global <= 0 || days < global).then_some((region.as_str(), days))
            })
            .collect()
    }
}

/// The region an account is known by: its phone number's country, else the
/// country of its latest successful sign-in (as the sign-in recorded it).
pub fn account_region(phone: Option<&str>, last_sign_in_country: Option<&str>) -> Option<String> {
    phone
        .and_then(region_of_phone)
        .or_else(|| last_sign_in_country.and_then(parse_region))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_rules() {
        let rules =
            parse("th: tickets=90, sign_in_history=30; CN HK: export_tickets=false ;").unwrap();
        assert_eq!(rules.by_region.len(), 3);
        assert_eq!(rules.by_region["TH"].days[&Kind::Tickets], 90);
        assert!(rules.by_region["TH"].export_tickets);
        assert!(!rules.by_region["HK"].export_tickets);
        assert!(!rules.may_export_tickets(Some("cn")));
        assert!(rules.may_export_tickets(Some("TH")));
        assert!(rules.may_export_tickets(None));
        assert_eq!(rules.effective_days(Some("TH"), Kind::Tickets, 0), 90);
        assert_eq!(rules.effective_days(Some("TH"), Kind::Tickets, 30), 30);
        assert_eq!(rules.effective_days(Some("JP"), Kind::Tickets, 0), 0);
        assert_eq!(rules.effective_days(None, Kind::SignInHistory, 180), 180);
        assert_eq!(rules.shortened(Kind::SignInHistory, 180), vec![("TH", 30)]);
        assert!(rules.shortened(Kind::SignInHistory, 20).is_empty());
        assert_eq!(parse("").unwrap(), Rules::default());
        assert_eq!(parse("  ; ").unwrap(), Rules::default());
    }

    #[test]
    fn refuses_bad_rules_with_a_reason() {
        for (text, says) in [
            ("XX: tickets=3", "`XX` is not an ISO 3166-1"),
            ("TH tickets=3", "needs regions, a colon"),
            ("TH: tickets=-3", "at least 1 day"),
            ("TH: tickets=0", "at least 1 day"),
            ("TH: tickets=abc", "not a number of days"),
            ("TH: tickets", "is not `kind=days`"),
            ("TH: parcels=3", "unknown setting `parcels`"),
            ("TH: audit_log=30", "the audit log has no region"),
            ("TH: export_tickets=no", "must be true or false"),
            ("TH: tickets=3 tickets=4", "set twice"),
            (
                "TH: tickets=3; th: attachments=4",
                "region TH already has a rule",
            ),
            ("TH:", "has no settings"),
            (": tickets=3", "names no region"),
        ] {
            let error = parse(text).expect_err(text);
            assert!(error.contains(says), "{text}: {error}");
        }
    }

    #[test]
    fn regions_of_accounts() {
        assert_eq!(
            account_region(Some("+66812345678"), Some("JP")),
            Some("TH".into())
        );
        assert_eq!(account_region(None, Some("jp")), Some("JP".into()));
        assert_eq!(account_region(Some("garbage"), Some("ZZ")), None);
        assert_eq!(account_region(None, None), None);
    }

    fn kind() -> impl Strategy<Value = Kind> {
        prop::sample::select(Kind::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn a_region_never_lengthens_retention(global in 0i64..2_000, regional in proptest::option::of(-5i64..2_000)) {
            let days = shorter(global, regional);
            // Never kept longer than everyone's, and never for ever when
            // either keeps it a limited time.
            if global > 0 {
                prop_assert!(days > 0 && days <= global);
            }
            if let Some(r) = regional.filter(|r| *r > 0) {
                prop_assert!(days > 0 && days <= r);
            }
            prop_assert!(days >= 0);
        }

        #[test]
        fn parsed_days_are_what_applies(days in 1i64..5_000, global in 0i64..5_000, k in kind()) {
            prop_assume!(k.regional());
            let rules = parse(&format!("TH: {}={days}", k.name())).unwrap();
            let want = if global == 0 { days } else { days.min(global) };
            prop_assert_eq!(rules.effective_days(Some("th"), k, global), want);
            // Other regions and unknown ones keep everyone's.
            prop_assert_eq!(rules.effective_days(Some("JP"), k, global), global);
            prop_assert_eq!(rules.effective_days(None, k, global), global);
            let listed = rules.shortened(k, global);
            prop_assert_eq!(listed.is_empty(), want == global);
            prop_assert!(rules.may_export_tickets(Some("TH")));
        }

        #[test]
        fn any_text_parses_or_is_refused_without_panicking(text in ".{0,80}") {
            let _ = parse(&text);
        }

        #[test]
        fn export_refusal_holds_for_every_named_region(codes in prop::sample::subsequence(vec!["TH", "JP", "CN", "TW", "US"], 1..5)) {
            let rules = parse(&format!("{}: export_tickets=false", codes.join(","))).unwrap();
            for code in ["TH", "JP", "CN", "TW", "US"] {
                prop_assert_eq!(rules.may_export_tickets(Some(code)), !codes.contains(&code));
            }
        }
    }
}
