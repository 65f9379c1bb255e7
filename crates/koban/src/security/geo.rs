//! Country and location of an address from a MaxMind-format database. With
//! none configured every lookup answers "unknown", and the geographic risk
//! signals stay silent.

use koban_policy::risk::GeoPoint;
use std::net::IpAddr;

/// Where an address is, as far as the database knows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Place {
    /// ISO 3166 alpha-2, upper case.
    pub country: Option<String>,
    pub location: Option<GeoPoint>,
}

#[derive(serde::Deserialize)]
struct Record {
    country: Option<Country>,
    location: Option<Location>,
}

#[derive(serde::Deserialize)]
struct Country {
    iso_code: Option<String>,
}

#[derive(serde::Deserialize)]
struct Location {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

/// The optional geo database.
pub struct Geo {
    reader: Option<maxminddb::Reader<Vec<u8>>>,
}

impl Geo {
    /// Opens `path`; an empty path means no database.
    pub fn open(path: &str) -> Result<Geo, String> {
        if path.trim().is_empty() {
            return Ok(Geo { reader: None });
        }
        let reader = maxminddb::Reader::open_readfile(path)
            .map_err(|e| format!("geoip_database {path}: {e}"))?;
        Ok(Geo {
            reader: Some(reader),
        })
    }

    /// Looks `ip` up; anything missing or unreadable is simply unknown.
    pub fn locate(&self, ip: IpAddr) -> Place {
        let Some(reader) = &self.reader else {
            return Place::default();
        };
        let record: Option<Record> = reader
            .lookup(ip)
            .ok()
            .and_then(|r| r.decode::<Record>().ok().flatten());
        let Some(record) = record else {
            return Place::default();
        };
        Place {
            country: record
                .country
                .and_then(|c| c.iso_code)
                .filter(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()))
                .map(|c| c.to_ascii_uppercase()),
            location: record
                .location
                .and_then(|l| GeoPoint::new(l.latitude?, l.longitude?)),
        }
    }
}
