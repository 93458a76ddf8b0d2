//! Numbers in page-function arguments, as Tera hands them over.
//!
//! Tera 2 evaluates `100+12` to a 128-bit integer and `224/2` to a float, so
//! an argument typed `u64` or `f64` would reject values an author reasonably
//! writes. Every numeric argument goes through [`Num`] instead, and is
//! checked for range here, with a message that says what was expected.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A number of any width Tera produces: an integer or a float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// Any integer literal or integer arithmetic.
    Int(i128),
    /// A float literal, or division.
    Float(f64),
}

impl Num {
    /// The value as a whole number in `min..=max`, or a message naming `what`.
    pub fn whole(self, what: &str, min: u64, max: u64) -> Result<u64, String> {
        let value = match self {
            Num::Int(i) => u64::try_from(i).ok(),
            Num::Float(f) if f.is_finite() && f.fract() == 0.0 && (0.0..1.8e19).contains(&f) => {
                Some(f as u64)
            }
            Num::Float(_) => None,
        };
        value.filter(|v| (min..=max).contains(v)).ok_or_else(|| {
            format!(
                "`{what}` must be a whole number from {min} to {max}, got {}",
                self
            )
        })
    }
}

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Num::Int(i) => write!(f, "{i}"),
            Num::Float(x) => write!(f, "{x}"),
        }
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Num, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num::Int(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num::Int(v.into()))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Num, E> {
                Ok(Num::Int(v))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Num, E> {
                Ok(i128::try_from(v).map_or(Num::Float(v as f64), Num::Int))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num::Float(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// Largest size of one input dimension a page may ask for.
pub const MAX_DIM: u64 = 1 << 40;

/// An `input=[3, H, W]` argument as positive whole sizes.
pub fn dims(input: &Option<Vec<Num>>) -> Result<Option<Vec<u64>>, String> {
    let Some(values) = input else { return Ok(None) };
    values
        .iter()
        .map(|v| v.whole("input", 1, MAX_DIM))
        .collect::<Result<Vec<u64>, String>>()
        .map(Some)
}

/// For `#[serde(deserialize_with)]`: an optional list of positive whole numbers.
pub fn opt_whole_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u64>>, D::Error> {
    let list: Option<Vec<Num>> = Option::deserialize(d)?;
    list.map(|l| {
        l.iter()
            .map(|n| n.whole("sizes", 1, MAX_DIM))
            .collect::<Result<Vec<_>, _>>()
    })
    .transpose()
    .map_err(de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_of_any_width_and_whole_floats_are_accepted() {
        assert_eq!(
            Num::Int(112).whole("input", 1, 10),
            Err("`input` must be a whole number from 1 to 10, got 112".into())
        );
        assert_eq!(Num::Int(7).whole("x", 1, 10), Ok(7));
        assert_eq!(Num::Float(112.0).whole("x", 1, 200), Ok(112));
        assert!(Num::Float(1.5).whole("x", 0, 9).is_err());
        assert!(Num::Float(f64::NAN).whole("x", 0, 9).is_err());
        assert!(Num::Int(-1).whole("x", 0, 9).is_err());
    }
}
