//! A short per-process memory of refusals the database already decided, so
//! a credential-stuffing run against locked accounts and throttled networks
//! is answered from memory instead of with four queries per attempt.
//!
//! The database stays the only source of truth: an entry is made only after
//! the full pre-check refused, and lives at most `ttl` (and never past the
//! lock's own end). Unlocks on this node forget everything at once; an unlock
//! on another node is seen here when the entry runs out, which is why `ttl`
//! is seconds, not minutes. Nothing is ever *allowed* from memory.

use koban_policy::risk::Refusal;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Beyond this many entries, expired ones are swept, and if that is not
/// enough the memory starts over: an attacker rotating identifiers can cost
/// us database reads, never unbounded memory.
const MAX_ENTRIES: usize = 200_000;

#[derive(Debug, Clone, Copy)]
struct Remembered {
    refusal: Refusal,
    account_id: Option<i64>,
    reference: Option<i64>,
    expires_at: i64,
}

/// What a remembered refusal says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub refusal: Refusal,
    /// The account the refused identifier belongs to, for the login history.
    pub account_id: Option<i64>,
    /// The lock's reference, which the answer quotes for a support lock.
    pub reference: Option<i64>,
}

/// Refusals remembered for a few seconds, by sign-in name and by address.
pub struct RefusalCache {
    ttl_ms: i64,
    entries: Mutex<HashMap<Key, Remembered>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// An identifier tried with no device the client presented (or with the
    /// hash of the one it presented: a known device has its own lock).
    Identifier(String, Option<String>),
    Address(IpAddr),
}

/// Until when a refusal decided at `now` may be answered from memory.
fn expiry(refusal: Refusal, now: i64, ttl_ms: i64) -> i64 {
    let by_ttl = now.saturating_add(ttl_ms);
    match refusal {
        Refusal::Locked { until_ms } => by_ttl.min(until_ms),
        _ => by_ttl,
    }
}

impl RefusalCache {
    /// A cache keeping refusals `ttl_ms`; zero turns it off.
    pub fn new(ttl_ms: i64) -> RefusalCache {
        RefusalCache {
            ttl_ms: ttl_ms.max(0),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Remembered>> {
        // A panic elsewhere while holding the lock leaves a map that is still
        // consistent (every write is a single insert or clear).
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A refusal still remembered for this attempt, the identifier's before
    /// the address's, in the order the full pre-check applies them.
    pub fn check(
        &self,
        identifier: &str,
        device_hash: Option<&str>,
        ip: IpAddr,
        now: i64,
    ) -> Option<Hit> {
        if self.ttl_ms == 0 {
            return None;
        }
        let entries = self.entries();
        let key = Key::Identifier(identifier.to_string(), device_hash.map(str::to_string));
        [key, Key::Address(ip)]
            .iter()
            .filter_map(|k| entries.get(k))
            .find(|r| r.expires_at > now)
            .map(|r| Hit {
                refusal: r.refusal,
                account_id: r.account_id,
                reference: r.reference,
            })
    }

    /// Remembers a refusal the database decided for this attempt: an address
    /// refusal under the address, a lock under the identifier and device.
    pub fn remember(
        &self,
        identifier: &str,
        device_hash: Option<&str>,
        ip: IpAddr,
        hit: Hit,
        now: i64,
    ) {
        if self.ttl_ms == 0 {
            return;
        }
        let key = match hit.refusal {
            Refusal::IpThrottled | Refusal::IpBlocked => Key::Address(ip),
            Refusal::Locked { .. } | Refusal::LockedForSupport => {
                Key::Identifier(identifier.to_string(), device_hash.map(str::to_string))
            }
        };
        let remembered = Remembered {
            refusal: hit.refusal,
            account_id: hit.account_id,
            reference: hit.reference,
            expires_at: expiry(hit.refusal, now, self.ttl_ms),
        };
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, r| r.expires_at > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, remembered);
    }

    /// Forgets every remembered refusal: called when a lock is lifted here,
    /// so its owner is not refused from memory a moment later.
    pub fn forget_all(&self) {
        self.entries().clear();
    }

    /// How many refusals are remembered (expired ones included until swept).
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    const IP: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
    const OTHER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 8));

    fn hit(refusal: Refusal) -> Hit {
        Hit {
            refusal,
            account_id: Some(7),
            reference: None,
        }
    }

    #[test]
    fn a_lock_is_remembered_for_its_identifier_and_device_only() {
        let cache = RefusalCache::new(2_000);
        let locked = hit(Refusal::Locked { until_ms: 60_000 });
        cache.remember("mei@example.com", None, IP, locked, 0);
        assert_eq!(
            cache.check("mei@example.com", None, OTHER_IP, 1),
            Some(locked)
        );
        // The owner's own device has a lock of its own, decided by the database.
        assert_eq!(cache.check("mei@example.com", Some("d1"), IP, 1), None);
        assert_eq!(cache.check("li@example.com", None, IP, 1), None);
    }

    #[test]
    fn a_throttled_address_refuses_every_identifier() {
        let cache = RefusalCache::new(2_000);
        let throttled = hit(Refusal::IpThrottled);
        cache.remember("mei@example.com", None, IP, throttled, 0);
        assert_eq!(
            cache.check("li@example.com", Some("d"), IP, 1),
            Some(throttled)
        );
        assert_eq!(cache.check("li@example.com", None, OTHER_IP, 1), None);
    }

    #[test]
    fn the_identifier_lock_is_reported_before_the_address() {
        let cache = RefusalCache::new(2_000);
        let locked = hit(Refusal::LockedForSupport);
        cache.remember("mei@example.com", None, IP, hit(Refusal::IpThrottled), 0);
        cache.remember("mei@example.com", None, IP, locked, 0);
        assert_eq!(cache.check("mei@example.com", None, IP, 1), Some(locked));
    }

    #[test]
    fn entries_end_with_the_ttl_or_the_lock_whichever_is_first() {
        let cache = RefusalCache::new(2_000);
        cache.remember("a", None, IP, hit(Refusal::Locked { until_ms: 500 }), 0);
        assert!(cache.check("a", None, OTHER_IP, 499).is_some());
        assert!(cache.check("a", None, OTHER_IP, 500).is_none());
        cache.remember("b", None, IP, hit(Refusal::LockedForSupport), 0);
        assert!(cache.check("b", None, OTHER_IP, 1_999).is_some());
        assert!(cache.check("b", None, OTHER_IP, 2_000).is_none());
    }

    #[test]
    fn forgetting_and_a_zero_ttl_remember_nothing() {
        let cache = RefusalCache::new(2_000);
        cache.remember("a", None, IP, hit(Refusal::IpThrottled), 0);
        cache.forget_all();
        assert!(cache.is_empty());
        let off = RefusalCache::new(0);
        off.remember("a", None, IP, hit(Refusal::IpThrottled), 0);
        assert!(off.check("a", None, IP, 1).is_none());
        assert!(off.is_empty());
    }

    proptest! {
        /// Memory never outlives the lock it remembers nor the ttl.
        #[test]
        fn never_refuses_past_the_lock_or_the_ttl(
            now in 0i64..1_000_000,
            until in 0i64..2_000_000,
            ttl in 0i64..10_000,
            later in 0i64..2_000_000,
        ) {
            let cache = RefusalCache::new(ttl);
            cache.remember("a", None, IP, hit(Refusal::Locked { until_ms: until }), now);
            let refused = cache.check("a", None, OTHER_IP, later).is_some();
            prop_assert!(!refused || (later < until && later < now + ttl));
        }
    }
}
