//! Points on the globe and the distance between them, for the
//! impossible-travel signal. Locations come from a geo-IP lookup, which is
//! city-level at best, so metre precision is neither available nor needed.

/// Mean Earth radius (IUGG), in kilometres. The sphere is off from the
/// ellipsoid by under 0.5%, far less than geo-IP error.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A latitude and longitude in degrees, known to be finite and in range.
/// The fields are private so that a NaN or an out-of-range value from a
/// broken geo-IP row can never reach the arithmetic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    lat: f64,
    lon: f64,
}

impl GeoPoint {
    /// A point from degrees; `None` unless latitude is in -90..=90 and
    /// longitude in -180..=180 (both finite).
    pub fn new(lat_deg: f64, lon_deg: f64) -> Option<GeoPoint> {
        let ok = (-90.0..=90.0).contains(&lat_deg) && (-180.0..=180.0).contains(&lon_deg);
        ok.then_some(GeoPoint {
            lat: lat_deg,
            lon: lon_deg,
        })
    }

    /// Latitude in degrees, north positive.
    pub fn lat(&self) -> f64 {
        self.lat
    }

    /// Longitude in degrees, east positive.
    pub fn lon(&self) -> f64 {
        self.lon
    }
}

/// Great-circle distance in kilometres (haversine), from 0 up to about
/// 20,015 km for antipodes.
pub fn great_circle_km(a: GeoPoint, b: GeoPoint) -> f64 {
    let (phi1, phi2) = (a.lat.to_radians(), b.lat.to_radians());
    let d_phi = (b.lat - a.lat).to_radians();
    let d_lambda = (b.lon - a.lon).to_radians();
    let h = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    // Rounding can push h a hair outside 0..=1 near antipodes, where sqrt or
    // asin would answer NaN.
    2.0 * EARTH_RADIUS_KM * h.clamp(0.0, 1.0).sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(lat: f64, lon: f64) -> GeoPoint {
        GeoPoint::new(lat, lon).expect("test point")
    }

    #[test]
    fn known_distances() {
        let tokyo = p(35.6762, 139.6503);
        let osaka = p(34.6937, 135.5023);
        let london = p(51.5074, -0.1278);
        let paris = p(48.8566, 2.3522);
        let taipei = p(25.0330, 121.5654);
        let cases = [
            (tokyo, osaka, 392.4),
            (london, paris, 344.0),
            (tokyo, taipei, 2_100.0),
            (tokyo, london, 9_560.0),
            // Across the antimeridian: two degrees of longitude on the equator.
            (p(0.0, 179.0), p(0.0, -179.0), 222.4),
            (p(90.0, 0.0), p(-90.0, 0.0), 20_015.1),
        ];
        for (a, b, want) in cases {
            let got = great_circle_km(a, b);
            assert!((got - want).abs() / want < 0.01, "{a:?} {b:?}: {got}");
        }
    }

    #[test]
    fn out_of_range_or_not_finite_points_are_refused() {
        for (lat, lon) in [
            (90.1, 0.0),
            (-91.0, 0.0),
            (0.0, 180.5),
            (f64::NAN, 0.0),
            (0.0, f64::INFINITY),
        ] {
            assert_eq!(GeoPoint::new(lat, lon), None, "{lat} {lon}");
        }
    }

    fn any_point() -> impl Strategy<Value = GeoPoint> {
        (-90.0f64..=90.0, -180.0f64..=180.0).prop_map(|(lat, lon)| p(lat, lon))
    }

    proptest! {
        #[test]
        fn distance_is_symmetric_bounded_and_zero_on_itself(a in any_point(), b in any_point()) {
            let (ab, ba) = (great_circle_km(a, b), great_circle_km(b, a));
            prop_assert!((ab - ba).abs() <= 1e-9, "{} vs {}", ab, ba);
            prop_assert!((0.0..=20_016.0).contains(&ab));
            prop_assert_eq!(great_circle_km(a, a), 0.0);
        }

        #[test]
        fn any_floats_make_a_point_or_none(lat in any::<f64>(), lon in any::<f64>()) {
            if let Some(point) = GeoPoint::new(lat, lon) {
                prop_assert!(great_circle_km(point, point) == 0.0);
            }
        }
    }
}
