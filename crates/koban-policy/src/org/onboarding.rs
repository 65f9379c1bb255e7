//! Member security onboarding: the checklist a new member works through
//! (the source's "train staff" as software), and when each item is done.
//!
//! Two items are facts of the account, never a click: two-step
//! verification is on, and unused recovery codes exist. Two are
//! acknowledgements, and each goes stale when what it acknowledged
//! changed: the device list reviewed (a device added since undoes it) and
//! the organization's security notice read (a new version undoes it).

/// One item of the checklist, in the order a member meets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    TwoFactor,
    RecoveryCodes,
    DevicesReviewed,
    SecurityNotice,
}

impl Item {
    pub const ALL: [Item; 4] = [
        Item::TwoFactor,
        Item::RecoveryCodes,
        Item::DevicesReviewed,
        Item::SecurityNotice,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Item::TwoFactor => "two_factor",
            Item::RecoveryCodes => "recovery_codes",
            Item::DevicesReviewed => "devices_reviewed",
            Item::SecurityNotice => "security_notice",
        }
    }

    pub fn parse(name: &str) -> Option<Item> {
        Item::ALL.into_iter().find(|i| i.as_str() == name)
    }

    /// Whether a member completes it by saying so; the others are done by
    /// doing them in the security center.
    pub const fn acknowledged(self) -> bool {
        matches!(self, Item::DevicesReviewed | Item::SecurityNotice)
    }
}

/// What the checklist is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Facts {
    pub two_factor: bool,
    pub unused_recovery_codes: i64,
    /// When the member last said they reviewed their devices.
    pub devices_reviewed_at: Option<i64>,
    /// When their newest device was first seen.
    pub newest_device_at: Option<i64>,
    /// The notice version the member read, and the current one.
    pub notice_read_version: Option<i64>,
    pub notice_version: i64,
}

/// Whether one item is done.
pub fn done(item: Item, facts: &Facts) -> bool {
    match item {
        Item::TwoFactor => facts.two_factor,
        Item::RecoveryCodes => facts.unused_recovery_codes > 0,
        Item::DevicesReviewed => match (facts.devices_reviewed_at, facts.newest_device_at) {
            (Some(reviewed), Some(newest)) => reviewed >= newest,
            (Some(_), None) => true,
            (None, _) => false,
        },
        Item::SecurityNotice => facts
            .notice_read_version
            .is_some_and(|read| read >= facts.notice_version),
    }
}

/// Every item with whether it is done, in order.
pub fn checklist(facts: &Facts) -> [(Item, bool); 4] {
    Item::ALL.map(|item| (item, done(item, facts)))
}

/// Whether the whole checklist is done.
pub fn complete(facts: &Facts) -> bool {
    Item::ALL.into_iter().all(|item| done(item, facts))
}
