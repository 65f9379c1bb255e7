//! CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`) for the IP allow and block
//! lists, over `std::net::IpAddr` so the policy crate needs no network crate.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:203.0.113.7`) are treated as the IPv4
//! address they carry, both in a listed block and in the address tested:
//! a dual-stack listener reports IPv4 clients in that form, and a block list
//! that a client could step around by changing notation would protect nothing.
//!
//! Hand-written rather than `ipnet`: ipnet's `contains` ran 0.22× the
//! allow/block-list lookups/s (16 blocks, after the same IPv4-mapped
//! unmapping), and its parser takes `10.0.0.1/8` silently, refuses a bare
//! address and keeps `::ffff:10.0.0.0/104` as IPv6, so the rules above would
//! stay hand-written anyway. `koban-bench cidr`, 2026-12-04, in
//! docs/benchmarks-history.md.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Longer inputs cannot be a CIDR block; refusing them early bounds the work.
const MAX_INPUT_CHARS: usize = 64;

/// Why a text is not a CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// Nothing but whitespace was given.
    #[error("the address block is empty")]
    Empty,
    /// The part before `/` is not an IPv4 or IPv6 address.
    #[error("the address block does not start with an IPv4 or IPv6 address")]
    BadAddress,
    /// The part after `/` is not a whole number.
    #[error("the prefix length after '/' must be a whole number")]
    BadPrefix,
    /// The prefix is longer than the address (over 32 for IPv4, 128 for IPv6).
    #[error("the prefix length is at most {max} for this kind of address")]
    PrefixTooLong {
        /// The longest prefix this address family allows.
        max: u8,
    },
    /// Bits below the prefix are set, as in `10.0.0.1/8`: rejected rather than
    /// silently masked, because it usually means a typo in the address or the
    /// prefix, and guessing which one is wrong on a block list is unsafe.
    #[error("the address has bits set below the prefix length; did you mean a different prefix?")]
    HostBitsSet,
}

/// One block of IP addresses: a network address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// A block from its network address and prefix length; the address must
    /// have no bits set below the prefix.
    pub fn new(address: IpAddr, prefix: u8) -> Result<Cidr, CidrError> {
        let (address, prefix) = canonical_block(address, prefix)?;
        let block = Cidr::masked(address, prefix);
        if block.network != address {
            return Err(CidrError::HostBitsSet);
        }
        Ok(block)
    }

    /// The block of the given prefix length that contains `ip` (the prefix is
    /// clipped to the address length). Used to ask "same /24?" or "same /64?".
    pub fn around(ip: IpAddr, prefix: u8) -> Cidr {
        Cidr::masked(ip.to_canonical(), prefix)
    }

    /// `ip` with the bits below `prefix` cleared, taken as written: unmapping
    /// is the callers' choice, since a block like `::ffff:0:0/95` is IPv6.
    fn masked(ip: IpAddr, prefix: u8) -> Cidr {
        let prefix = prefix.min(bit_len(ip));
        let network = match ip {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask_v4(prefix))),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask_v6(prefix))),
        };
        Cidr { network, prefix }
    }

    /// The network address (all bits below the prefix are zero).
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies inside this block. An IPv4 client (including one in
    /// IPv4-mapped form) never lies in an IPv6 block, and vice versa.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                u32::from(ip) & mask_v4(self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                u128::from(ip) & mask_v6(self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }
}

/// Whether any block in `list` contains `ip`.
pub fn any_contains(list: &[Cidr], ip: IpAddr) -> bool {
    list.iter().any(|block| block.contains(ip))
}

/// Rewrites a block written in IPv4-mapped IPv6 form (`::ffff:10.0.0.0/104`)
/// as the IPv4 block it means, so it matches IPv4 clients; checks the prefix.
fn canonical_block(address: IpAddr, prefix: u8) -> Result<(IpAddr, u8), CidrError> {
    let max = bit_len(address);
    if prefix > max {
        return Err(CidrError::PrefixTooLong { max });
    }
    if let IpAddr::V6(v6) = address {
        if let Some(v4) = v6.to_ipv4_mapped() {
            if prefix >= 96 {
                return Ok((IpAddr::V4(v4), prefix - 96));
            }
        }
    }
    Ok((address, prefix))
}

fn bit_len(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// The top `prefix` bits set. `checked_shl` answers `None` for a shift by the
/// full width (prefix 0), whose mask is empty.
fn mask_v4(prefix: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0)
}

fn mask_v6(prefix: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(prefix.min(128)))
        .unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// Parses `address/prefix`, or a bare address as a single-host block.
    fn from_str(text: &str) -> Result<Cidr, CidrError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CidrError::Empty);
        }
        if text.len() > MAX_INPUT_CHARS {
            return Err(CidrError::BadAddress);
        }
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.parse().map_err(|_| CidrError::BadAddress)?;
        let prefix = match prefix {
            // `u8::from_str` accepts a leading '+'; a block list should not.
            Some(p) if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(CidrError::BadPrefix)
            }
            Some(p) => p.parse::<u8>().map_err(|_| CidrError::PrefixTooLong {
                max: bit_len(address),
            })?,
            None => bit_len(address),
        };
        Cidr::new(address, prefix)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl TryFrom<String> for Cidr {
    type Error = CidrError;

    fn try_from(text: String) -> Result<Cidr, CidrError> {
        text.parse()
    }
}

impl From<Cidr> for String {
    fn from(block: Cidr) -> String {
        block.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::value::{Error as DeError, StrDeserializer};
    use serde::de::IntoDeserializer;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }

    #[test]
    fn parse_table() {
        let cases: [(&str, Result<&str, CidrError>); 16] = [
            ("10.0.0.0/8", Ok("10.0.0.0/8")),
            (" 192.168.1.0/24 ", Ok("192.168.1.0/24")),
            ("203.0.113.7", Ok("203.0.113.7/32")),
            ("0.0.0.0/0", Ok("0.0.0.0/0")),
            ("2001:db8::/32", Ok("2001:db8::/32")),
            ("::1", Ok("::1/128")),
            ("::/0", Ok("::/0")),
            ("::ffff:10.0.0.0/104", Ok("10.0.0.0/8")),
            ("", Err(CidrError::Empty)),
            ("/8", Err(CidrError::BadAddress)),
            ("10.0.0/8", Err(CidrError::BadAddress)),
            ("10.0.0.0/", Err(CidrError::BadPrefix)),
            ("10.0.0.0/+8", Err(CidrError::BadPrefix)),
            ("10.0.0.0/33", Err(CidrError::PrefixTooLong { max: 32 })),
            ("2001:db8::/999", Err(CidrError::PrefixTooLong { max: 128 })),
            ("10.0.0.1/8", Err(CidrError::HostBitsSet)),
        ];
        for (text, want) in cases {
            let got = text.parse::<Cidr>().map(|c| c.to_string());
            assert_eq!(got, want.map(str::to_string), "{text:?}");
        }
        assert_eq!("fe80::1%eth0".parse::<Cidr>(), Err(CidrError::BadAddress));
    }

    #[test]
    fn contains_table() {
        let cases = [
            ("10.0.0.0/8", "10.255.3.4", true),
            ("10.0.0.0/8", "11.0.0.0", false),
            ("192.168.1.0/24", "192.168.1.255", true),
            ("192.168.1.0/24", "192.168.2.0", false),
            ("0.0.0.0/0", "8.8.8.8", true),
            ("0.0.0.0/0", "2001:db8::1", false),
            ("203.0.113.7", "203.0.113.7", true),
            ("203.0.113.7", "203.0.113.8", false),
            ("2001:db8::/32", "2001:db8:ffff::1", true),
            ("2001:db8::/32", "2001:db9::1", false),
            ("::/0", "10.0.0.1", false),
            // A mapped client address matches the IPv4 block, and a mapped
            // block matches plain IPv4 clients.
            ("10.0.0.0/8", "::ffff:10.1.2.3", true),
            ("::ffff:10.0.0.0/104", "10.1.2.3", true),
            ("::ffff:0:0/96", "198.51.100.1", true),
        ];
        for (block, addr, want) in cases {
            let block: Cidr = block.parse().expect("test block");
            assert_eq!(block.contains(ip(addr)), want, "{block} ∋ {addr}");
        }
    }

    #[test]
    fn around_gives_the_enclosing_network() {
        assert_eq!(
            Cidr::around(ip("192.0.2.77"), 24).to_string(),
            "192.0.2.0/24"
        );
        assert_eq!(
            Cidr::around(ip("2001:db8:1:2:3::9"), 64).to_string(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            Cidr::around(ip("192.0.2.77"), 200).to_string(),
            "192.0.2.77/32"
        );
    }

    #[test]
    fn deserializes_from_a_string_and_refuses_bad_blocks() {
        let good: StrDeserializer<DeError> = "10.0.0.0/8".into_deserializer();
        assert_eq!(
            Cidr::deserialize(good).map(|c| c.to_string()),
            Ok("10.0.0.0/8".to_string())
        );
        let bad: StrDeserializer<DeError> = "10.0.0.1/8".into_deserializer();
        assert!(Cidr::deserialize(bad).is_err());
    }

    /// The reference: compare the first `prefix` bits one at a time, most
    /// significant first, with no masks or shifts by computed widths.
    fn naive_contains(network: IpAddr, prefix: u8, ip: IpAddr) -> bool {
        fn bits(ip: IpAddr) -> Vec<bool> {
            let bytes = match ip {
                IpAddr::V4(v4) => v4.octets().to_vec(),
                IpAddr::V6(v6) => v6.octets().to_vec(),
            };
            bytes
                .iter()
                .flat_map(|b| (0..8).rev().map(move |i| b >> i & 1 == 1))
                .collect()
        }
        let ip = ip.to_canonical();
        if network.is_ipv4() != ip.is_ipv4() {
            return false;
        }
        let (n, a) = (bits(network), bits(ip));
        (0..usize::from(prefix)).all(|i| n[i] == a[i])
    }

    fn any_ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<u32>().prop_map(|b| IpAddr::V4(Ipv4Addr::from(b))),
            any::<u128>().prop_map(|b| IpAddr::V6(Ipv6Addr::from(b))),
            // Mapped addresses, so the unmapping path is exercised too.
            any::<u32>().prop_map(|b| IpAddr::V6(Ipv4Addr::from(b).to_ipv6_mapped())),
        ]
    }

    proptest! {
        #[test]
        fn matching_agrees_with_a_bitwise_reference(base in any_ip(), prefix in 0u8..=128, probe in any_ip(), share in 0u8..=128) {
            let block = Cidr::around(base, prefix);
            // Half the probes share the block's leading bits, so matches are
            // common enough to test; the rest are random.
            let probe = if share % 2 == 0 { probe } else {
                let keep = Cidr::around(probe, share).network();
                match (block.network(), keep) {
                    (IpAddr::V4(n), IpAddr::V4(k)) => IpAddr::V4(Ipv4Addr::from(u32::from(n) | (u32::from(k) & !mask_v4(block.prefix())))),
                    (IpAddr::V6(n), IpAddr::V6(k)) => IpAddr::V6(Ipv6Addr::from(u128::from(n) | (u128::from(k) & !mask_v6(block.prefix())))),
                    _ => probe,
                }
            };
            prop_assert_eq!(block.contains(probe), naive_contains(block.network(), block.prefix(), probe));
            prop_assert!(block.contains(base));
        }

        #[test]
        fn parsing_never_panics_and_round_trips(text in ".{0,80}") {
            if let Ok(block) = text.parse::<Cidr>() {
                prop_assert_eq!(block.to_string().parse::<Cidr>(), Ok(block));
            }
        }

        #[test]
        fn printed_blocks_parse_back(base in any_ip(), prefix in 0u8..=128) {
            let block = Cidr::around(base, prefix);
            prop_assert_eq!(block.to_string().parse::<Cidr>(), Ok(block));
        }
    }
}
