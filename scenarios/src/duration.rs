//! Durations in scenario files: a fixed number of milliseconds, or a range the seed draws from.

use rand::Rng;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A duration in milliseconds that is either fixed (`at_ms = 120000`) or drawn from the seed
/// (`at_ms = { min = 120000, max = 360000 }`, both ends inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum MillisSpec {
    Fixed(u64),
    Range { min: u64, max: u64 },
}

impl MillisSpec {
    /// Draws a concrete value. A fixed value consumes no randomness, so adding a fixed fault never shifts the
    /// draws of the others.
    pub fn draw(&self, rng: &mut impl Rng) -> u64 {
        match *self {
            MillisSpec::Fixed(value) => value,
            MillisSpec::Range { min, max } => rng.random_range(min..=max),
        }
    }

    /// The largest value the spec can produce.
    pub fn max(&self) -> u64 {
        match *self {
            MillisSpec::Fixed(value) => value,
            MillisSpec::Range { max, .. } => max,
        }
    }
}

impl<'de> Deserialize<'de> for MillisSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpecVisitor;

        impl<'de> Visitor<'de> for SpecVisitor {
            type Value = MillisSpec;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("milliseconds as an integer, or a table { min = MS, max = MS }")
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<MillisSpec, E> {
                u64::try_from(value)
                    .map(MillisSpec::Fixed)
                    .map_err(|_| E::custom("expected a non-negative number of milliseconds"))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<MillisSpec, E> {
                Ok(MillisSpec::Fixed(value))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MillisSpec, A::Error> {
                let mut min = None;
                let mut max = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "min" => min = Some(map.next_value::<u64>()?),
                        "max" => max = Some(map.next_value::<u64>()?),
                        other => {
                            return Err(de::Error::unknown_field(other, &["min", "max"]));
                        }
                    }
                }
                let min = min.ok_or_else(|| de::Error::missing_field("min"))?;
                let max = max.ok_or_else(|| de::Error::missing_field("max"))?;
                if min > max {
                    return Err(de::Error::custom(format!(
                        "expected min <= max, found min = {min} and max = {max}"
                    )));
                }
                Ok(MillisSpec::Range { min, max })
            }
        }

        deserializer.deserialize_any(SpecVisitor)
    }
}
