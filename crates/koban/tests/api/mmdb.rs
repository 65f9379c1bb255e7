//! A small MaxMind DB writer, so the tests can build their own tiny `.mmdb`
//! instead of shipping a real GeoLite2 file; and tests that read what it
//! writes back with the `maxminddb` crate.
//!
//! Format (MaxMind DB 2.0): a binary search tree of `node_count` nodes, each
//! two records (bit 0, bit 1) of 24, 28 or 32 bits; 16 zero bytes; the data
//! section; then `\xAB\xCD\xEFMaxMind.com` and the metadata map. A record
//! below `node_count` is a node, equal to it means "not found", above it
//! points into the data section at `record - node_count - 16`.
//!
//! IPv6 databases hold IPv4 networks at `::/96`, as GeoIP2-City does; that
//! is where the reader looks IPv4 addresses up.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

/// A value of the MaxMind data section.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Map(Vec<(String, Value)>),
    Str(String),
    Double(f64),
    U16(u16),
    U32(u32),
    U64(u64),
    Array(Vec<Value>),
    Bool(bool),
}

impl Value {
    /// A map from `(key, value)` pairs.
    pub fn map<const N: usize>(pairs: [(&str, Value); N]) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    /// A UTF-8 string.
    pub fn str(text: &str) -> Value {
        Value::Str(text.to_string())
    }
}

/// A GeoIP2-City-shaped record: country code and location.
pub fn city(iso_code: &str, latitude: f64, longitude: f64) -> Value {
    Value::map([
        ("country", Value::map([("iso_code", Value::str(iso_code))])),
        (
            "location",
            Value::map([
                ("latitude", Value::Double(latitude)),
                ("longitude", Value::Double(longitude)),
            ]),
        ),
    ])
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Record {
    Empty,
    Node(usize),
    Data(usize),
}

/// Builds a database in memory; networks may nest (the more specific wins).
pub struct Writer {
    pub ip_version: u16,
    pub record_size: u16,
    pub database_type: String,
    pub description: String,
    pub build_epoch: u64,
    networks: Vec<(u128, u8, Value)>,
}

impl Writer {
    /// An empty database. `ip_version` is 4 or 6; `record_size` 24, 28 or 32.
    pub fn new(ip_version: u16, record_size: u16) -> Writer {
        assert!(matches!(ip_version, 4 | 6), "ip_version {ip_version}");
        assert!(
            matches!(record_size, 24 | 28 | 32),
            "record_size {record_size}"
        );
        Writer {
            ip_version,
            record_size,
            database_type: "Koban-Test-City".into(),
            description: "Koban test geography".into(),
            build_epoch: 1_767_225_600,
            networks: Vec::new(),
        }
    }

    fn depth(&self) -> u8 {
        if self.ip_version == 6 {
            128
        } else {
            32
        }
    }

    /// Adds `cidr` (`"203.0.113.0/24"`, `"2001:db8::/32"`) with `value`.
    /// In an IPv6 database an IPv4 network goes under `::/96`.
    pub fn insert(&mut self, cidr: &str, value: Value) -> &mut Writer {
        let (address, length) = cidr.split_once('/').unwrap_or((cidr, ""));
        let ip: IpAddr = address.parse().unwrap_or_else(|e| panic!("{cidr}: {e}"));
        let length: u8 = match (length, ip) {
            ("", IpAddr::V4(_)) => 32,
            ("", IpAddr::V6(_)) => 128,
            (l, _) => l.parse().unwrap_or_else(|e| panic!("{cidr}: {e}")),
        };
        let (bits, length) = match (ip, self.ip_version) {
            (IpAddr::V4(v4), 4) => (u128::from(u32::from(v4)), length),
            (IpAddr::V4(v4), _) => (u128::from(u32::from(v4)), length + 96),
            (IpAddr::V6(v6), 6) => (u128::from(v6), length),
            (IpAddr::V6(_), _) => panic!("{cidr}: an IPv6 network in an IPv4 database"),
        };
        assert!(
            (1..=self.depth()).contains(&length),
            "{cidr}: prefix length out of range"
        );
        self.networks.push((bits, length, value));
        self
    }

    /// The database file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let depth = self.depth();
        // Data section: each distinct value once.
        let mut data = Vec::new();
        let mut offsets: HashMap<Vec<u8>, usize> = HashMap::new();
        // Tree: node 0 is the root. Shorter prefixes first, so that a more
        // specific network splits the record of the one containing it.
        let mut nodes: Vec<[Record; 2]> = vec![[Record::Empty; 2]];
        let mut order: Vec<usize> = (0..self.networks.len()).collect();
        order.sort_by_key(|&i| self.networks[i].1);
        for i in order {
            let (bits, length, value) = &self.networks[i];
            let mut encoded = Vec::new();
            encode(&mut encoded, value);
            let offset = *offsets.entry(encoded).or_insert_with_key(|bytes| {
                let at = data.len();
                data.extend_from_slice(bytes);
                at
            });
            let bit = |i: u8| ((bits >> (depth - 1 - i)) & 1) as usize;
            let mut node = 0;
            for i in 0..length - 1 {
                let side = bit(i);
                node = match nodes[node][side] {
                    Record::Node(next) => next,
                    inherited => {
                        let next = nodes.len();
                        let split = match inherited {
                            Record::Data(d) => [Record::Data(d); 2],
                            _ => [Record::Empty; 2],
                        };
                        nodes.push(split);
                        nodes[node][side] = Record::Node(next);
                        next
                    }
                };
            }
            nodes[node][bit(length - 1)] = Record::Data(offset);
        }

        let node_count = nodes.len();
        let value_of = |r: Record| -> u64 {
            let v = match r {
                Record::Empty => node_count,
                Record::Node(n) => n,
                Record::Data(offset) => node_count + 16 + offset,
            } as u64;
            assert!(
                v < 1u64 << self.record_size,
                "record {v} does not fit in {} bits",
                self.record_size
            );
            v
        };
        let mut out = Vec::with_capacity(node_count * usize::from(self.record_size) / 4);
        for [left, right] in &nodes {
            let (l, r) = (value_of(*left), value_of(*right));
            match self.record_size {
                24 => {
                    out.extend_from_slice(&l.to_be_bytes()[5..]);
                    out.extend_from_slice(&r.to_be_bytes()[5..]);
                }
                28 => {
                    out.extend_from_slice(&l.to_be_bytes()[5..]);
                    out.push((((l >> 24) & 0x0F) << 4 | ((r >> 24) & 0x0F)) as u8);
                    out.extend_from_slice(&r.to_be_bytes()[5..]);
                }
                _ => {
                    out.extend_from_slice(&l.to_be_bytes()[4..]);
                    out.extend_from_slice(&r.to_be_bytes()[4..]);
                }
            }
        }
        out.extend_from_slice(&[0u8; 16]);
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
        let metadata = Value::map([
            ("node_count", Value::U32(node_count as u32)),
            ("record_size", Value::U16(self.record_size)),
            ("ip_version", Value::U16(self.ip_version)),
            ("database_type", Value::str(&self.database_type)),
            ("languages", Value::Array(vec![Value::str("en")])),
            ("binary_format_major_version", Value::U16(2)),
            ("binary_format_minor_version", Value::U16(0)),
            ("build_epoch", Value::U64(self.build_epoch)),
            (
                "description",
                Value::map([("en", Value::str(&self.description))]),
            ),
        ]);
        encode(&mut out, &metadata);
        out
    }

    /// Writes the database to `path`.
    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.to_bytes()).expect("write .mmdb");
    }
}

/// Appends a control byte (and extended type and size bytes) for `kind`.
fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    let (size_bits, extra): (u8, Vec<u8>) = match size {
        0..=28 => (size as u8, vec![]),
        29..=284 => (29, vec![(size - 29) as u8]),
        285..=65_820 => (30, ((size - 285) as u16).to_be_bytes().to_vec()),
        65_821..=16_843_036 => (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec()),
        _ => panic!("a value of {size} is too long for the format"),
    };
    if kind <= 7 {
        out.push(kind << 5 | size_bits);
    } else {
        out.push(size_bits);
        out.push(kind - 7);
    }
    out.extend_from_slice(&extra);
}

/// An unsigned integer in as few big-endian bytes as it needs.
fn unsigned(out: &mut Vec<u8>, kind: u8, value: u64) {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    control(out, kind, 8 - skip);
    out.extend_from_slice(&bytes[skip..]);
}

/// Appends `value` in the MaxMind DB data encoding.
fn encode(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Str(s) => {
            control(out, 2, s.len());
            out.extend_from_slice(s.as_bytes());
        }
        Value::Double(d) => {
            control(out, 3, 8);
            out.extend_from_slice(&d.to_be_bytes());
        }
        Value::U16(n) => unsigned(out, 5, u64::from(*n)),
        Value::U32(n) => unsigned(out, 6, u64::from(*n)),
        Value::Map(pairs) => {
            control(out, 7, pairs.len());
            for (key, value) in pairs {
                encode(out, &Value::Str(key.clone()));
                encode(out, value);
            }
        }
        Value::U64(n) => unsigned(out, 9, *n),
        Value::Array(items) => {
            control(out, 11, items.len());
            for item in items {
                encode(out, item);
            }
        }
        Value::Bool(b) => control(out, 14, usize::from(*b)),
    }
}

/// The places the tests sign in from, with an address inside each network.
pub struct Place {
    pub network: &'static str,
    pub ip: &'static str,
    pub country: &'static str,
    pub latitude: f64,
    pub longitude: f64,
}

pub const TOKYO: Place = Place {
    network: "198.51.100.0/24",
    ip: "198.51.100.7",
    country: "JP",
    latitude: 35.68,
    longitude: 139.69,
};
pub const SAO_PAULO: Place = Place {
    network: "203.0.113.0/24",
    ip: "203.0.113.9",
    country: "BR",
    latitude: -23.55,
    longitude: -46.63,
};
/// Basel and Saint-Louis sit a few kilometres apart across a border: a new
/// country without any impossible travel.
pub const BASEL: Place = Place {
    network: "192.0.2.0/25",
    ip: "192.0.2.10",
    country: "CH",
    latitude: 47.56,
    longitude: 7.59,
};
pub const SAINT_LOUIS: Place = Place {
    network: "192.0.2.128/25",
    ip: "192.0.2.200",
    country: "FR",
    latitude: 47.59,
    longitude: 7.56,
};
pub const PLACES: [&Place; 4] = [&TOKYO, &SAO_PAULO, &BASEL, &SAINT_LOUIS];

/// Writes the tests' tiny city database (IPv6 tree, 24-bit records) with
/// every place of [`PLACES`] into `dir`; returns its path.
pub fn tiny_city_db(dir: &Path) -> std::path::PathBuf {
    let mut writer = Writer::new(6, 24);
    for place in PLACES {
        writer.insert(
            place.network,
            city(place.country, place.latitude, place.longitude),
        );
    }
    let path = dir.join("tiny-city.mmdb");
    writer.write(&path);
    path
}

// ---------------------------------------------------------------------------
// Reading back what the writer wrote.

#[derive(serde::Deserialize, Debug, PartialEq)]
struct Country {
    iso_code: String,
}

#[derive(serde::Deserialize, Debug, PartialEq)]
struct Location {
    latitude: f64,
    longitude: f64,
}

#[derive(serde::Deserialize, Debug, PartialEq)]
struct CityRecord {
    country: Country,
    location: Location,
}

/// The country and network of `ip`, or None where the database has nothing.
fn lookup(reader: &maxminddb::Reader<Vec<u8>>, ip: &str) -> Option<(String, String)> {
    let result = reader.lookup(ip.parse().expect("ip")).expect("lookup");
    let network = result.network().expect("network").to_string();
    let record = result.decode::<CityRecord>().expect("decode")?;
    Some((record.country.iso_code, network))
}

fn sample(ip_version: u16, record_size: u16) -> Writer {
    let mut writer = Writer::new(ip_version, record_size);
    writer
        .insert("10.0.0.0/8", city("AA", 1.0, 1.0))
        // Nested inside 10/8: the more specific wins, the rest of 10/8 stays AA.
        .insert("10.1.0.0/16", city("BB", 2.0, 2.0))
        .insert("10.1.2.3/32", city("CC", 3.0, 3.0))
        .insert("128.0.0.0/1", city("DD", 4.0, 4.0))
        .insert(TOKYO.network, city("JP", 35.68, 139.69));
    if ip_version == 6 {
        writer.insert("2001:db8::/32", city("EE", 5.0, 5.0));
        writer.insert("2001:db8:1::/48", city("FF", 6.0, 6.0));
    }
    writer
}

#[test]
fn written_databases_read_back_with_every_record_size() {
    for ip_version in [4, 6] {
        for record_size in [24, 28, 32] {
            let bytes = sample(ip_version, record_size).to_bytes();
            let case = format!("ip_version {ip_version}, record_size {record_size}");
            let reader =
                maxminddb::Reader::from_source(bytes).unwrap_or_else(|e| panic!("{case}: {e}"));
            reader.verify().unwrap_or_else(|e| panic!("{case}: {e}"));
            let meta = reader.metadata();
            assert_eq!(meta.ip_version, ip_version);
            assert_eq!(meta.record_size, record_size);
            assert_eq!(meta.binary_format_major_version, 2);
            assert_eq!(meta.database_type, "Koban-Test-City");
            assert_eq!(meta.languages, vec!["en".to_string()]);
            assert_eq!(meta.description["en"], "Koban test geography");
            assert_eq!(meta.build_epoch, 1_767_225_600);

            let at = |ip: &str| lookup(&reader, ip);
            let expect = |code: &str, net: &str| Some((code.to_string(), net.to_string()));
            assert_eq!(at("10.0.0.1"), expect("AA", "10.0.0.0/16"));
            assert_eq!(at("10.200.3.4").map(|g| g.0), Some("AA".into()));
            assert_eq!(at("10.1.9.9"), expect("BB", "10.1.8.0/21"));
            assert_eq!(at("10.1.2.3"), expect("CC", "10.1.2.3/32"));
            assert_eq!(at("10.1.2.4").map(|g| g.0), Some("BB".into()));
            assert_eq!(at("200.1.2.3"), expect("DD", "200.0.0.0/5"));
            assert_eq!(at("198.51.100.255"), expect("JP", "198.51.100.0/24"));
            for outside in ["11.0.0.1", "127.0.0.1", "9.255.255.255", "100.64.0.1"] {
                assert_eq!(at(outside), None, "{outside}");
            }
            let jp = reader
                .lookup(TOKYO.ip.parse().expect("ip"))
                .expect("lookup")
                .decode::<CityRecord>()
                .expect("decode")
                .expect("found");
            assert_eq!(
                jp.location,
                Location {
                    latitude: 35.68,
                    longitude: 139.69
                }
            );
            // The crate's own GeoIP2 model reads the records too.
            let model = reader
                .lookup(TOKYO.ip.parse().expect("ip"))
                .expect("lookup")
                .decode::<maxminddb::geoip2::City>()
                .expect("decode")
                .expect("found");
            assert_eq!(model.country.iso_code, Some("JP"));
            assert_eq!(model.location.longitude, Some(139.69));

            if ip_version == 6 {
                assert_eq!(at("2001:db8::1"), expect("EE", "2001:db8::/48"));
                assert_eq!(at("2001:db8:1::1"), expect("FF", "2001:db8:1::/48"));
                assert_eq!(at("2001:db9::1"), None);
                assert_eq!(at("::1"), None);
                // IPv4 networks live at ::/96.
                assert_eq!(at("::10.1.2.3").map(|g| g.0), Some("CC".into()));
            }
        }
    }
}

/// Records past 2^24 use the high nibbles of 28-bit nodes; values longer
/// than 65,820 bytes use the longest size encoding.
#[test]
fn large_pointers_use_the_28_bit_nibbles() {
    let mut writer = Writer::new(6, 28);
    // One string longer than the largest 3-byte size moves the next record
    // past 2^24 (and uses the longest size encoding).
    let padding = "x".repeat(16_800_000);
    writer
        .insert("10.0.0.0/8", Value::map([("padding", Value::Str(padding))]))
        .insert(TOKYO.network, city("JP", 35.68, 139.69));
    let reader = maxminddb::Reader::from_source(writer.to_bytes()).expect("opens");
    assert_eq!(
        lookup(&reader, TOKYO.ip),
        Some(("JP".into(), TOKYO.network.into()))
    );
    // The padding itself is longer than the reader decodes (it limits
    // values), but it is found where it should be.
    let padded = reader
        .lookup("10.9.9.9".parse().expect("ip"))
        .expect("lookup");
    assert!(padded.has_data());
    assert_eq!(padded.network().expect("network").to_string(), "10.0.0.0/8");
    // The same database does not fit 24-bit records.
    writer.record_size = 24;
    let refused = std::panic::catch_unwind(|| writer.to_bytes());
    assert!(refused.is_err(), "24-bit records cannot point that far");
}

/// Every kind of value and size encoding the writer knows decodes to what
/// went in, and the tests' own database holds the places they use.
#[test]
fn values_round_trip_and_the_tiny_city_db_has_its_places() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct All {
        short: String,
        medium: String,
        long: String,
        double: f64,
        small: u16,
        zero: u32,
        big: u32,
        huge: u64,
        list: Vec<u16>,
        yes: bool,
        no: bool,
    }
    let medium = "m".repeat(200);
    let long = "l".repeat(70_000);
    let mut writer = Writer::new(4, 32);
    writer.insert(
        "1.2.3.4/32",
        Value::map([
            ("short", Value::str("東京")),
            ("medium", Value::Str(medium.clone())),
            ("long", Value::Str(long.clone())),
            ("double", Value::Double(-46.63)),
            ("small", Value::U16(300)),
            ("zero", Value::U32(0)),
            ("big", Value::U32(u32::MAX)),
            ("huge", Value::U64(u64::MAX - 1)),
            ("list", Value::Array(vec![Value::U16(1), Value::U16(65535)])),
            ("yes", Value::Bool(true)),
            ("no", Value::Bool(false)),
        ]),
    );
    let reader = maxminddb::Reader::from_source(writer.to_bytes()).expect("opens");
    reader.verify().expect("verifies");
    let all = reader
        .lookup("1.2.3.4".parse().expect("ip"))
        .expect("lookup")
        .decode::<All>()
        .expect("decode")
        .expect("found");
    assert_eq!(
        all,
        All {
            short: "東京".into(),
            medium,
            long,
            double: -46.63,
            small: 300,
            zero: 0,
            big: u32::MAX,
            huge: u64::MAX - 1,
            list: vec![1, 65535],
            yes: true,
            no: false,
        }
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let path = tiny_city_db(dir.path());
    let reader = maxminddb::Reader::open_readfile(&path).expect("opens");
    reader.verify().expect("verifies");
    for place in PLACES {
        assert_eq!(
            lookup(&reader, place.ip),
            Some((place.country.to_string(), place.network.to_string()))
        );
    }
    assert_eq!(lookup(&reader, "127.0.0.1"), None, "loopback is nowhere");
}
