//! Range checks applied while `bench.json` is read (`deserialize_with`).
//!
//! The results file may come from another machine or another person. Every
//! figure must be finite and within physically sane bounds before any table
//! or chart sees it: a value raised here becomes a JSON error with the
//! file's line and column, just after the offending value.

use serde::de::{Deserializer, Error};
use serde::Deserialize;

/// Longest plausible time of one kernel call (about 11 days), seconds.
const MAX_SECONDS: f64 = 1e6;
/// Beyond any single core's compute rate, GFLOP/s.
const MAX_GFLOPS: f64 = 1e7;
/// Beyond any single core's memory rate, GB/s.
const MAX_GBS: f64 = 1e6;
/// Beyond any kernel's work or traffic, FLOPs or bytes.
const MAX_AMOUNT: f64 = 1e18;
/// Largest batch a case may report.
const MAX_BATCH: usize = 1 << 20;

fn in_range<'de, D: Deserializer<'de>>(
    d: D,
    what: &str,
    zero_ok: bool,
    max: f64,
) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    let low_ok = if zero_ok { v >= 0.0 } else { v > 0.0 };
    if v.is_finite() && low_ok && v <= max {
        Ok(v)
    } else {
        let low = if zero_ok { "at least 0" } else { "above 0" };
        let got = if v.is_finite() && (v == 0.0 || (1e-3..1e6).contains(&v.abs())) {
            format!("{v}")
        } else {
            format!("{v:e}")
        };
        Err(D::Error::custom(format!(
            "{what} must be finite, {low} and at most {max:e}, got {got}"
        )))
    }
}

/// A duration of one call, above 0 s.
pub fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    in_range(d, "a time in seconds", false, MAX_SECONDS)
}

/// A spread or CPU time, 0 s or more.
pub fn seconds_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    in_range(d, "a time in seconds", true, MAX_SECONDS)
}

/// A compute rate or peak, above 0.
pub fn gflops<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    in_range(d, "a rate in GFLOP/s", false, MAX_GFLOPS)
}

/// A bandwidth ceiling, above 0.
pub fn gbs<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    in_range(d, "a bandwidth in GB/s", false, MAX_GBS)
}

/// Work, traffic, intensity or a ratio: 0 or more.
pub fn amount<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    in_range(d, "an amount", true, MAX_AMOUNT)
}

/// A fraction of the problem that was timed: above 0, at most 1.
pub fn fraction<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    in_range(d, "a fraction", false, 1.0)
}

/// An optional speed-up, above 0.
pub fn opt_ratio<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    struct Ratio(#[serde(deserialize_with = "amount")] f64);
    let v = Option::<Ratio>::deserialize(d)?.map(|r| r.0);
    match v {
        Some(0.0) => Err(D::Error::custom("a speed-up must be above 0, got 0")),
        _ => Ok(v),
    }
}

/// Optional load averages, each 0 or more.
pub fn opt_load<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[f64; 3]>, D::Error> {
    #[derive(Deserialize)]
    struct Load(#[serde(deserialize_with = "amount")] f64);
    Ok(Option::<[Load; 3]>::deserialize(d)?.map(|l| l.map(|x| x.0)))
}

/// A batch size from 1 to [`MAX_BATCH`].
pub fn batch<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let v = usize::deserialize(d)?;
    if (1..=MAX_BATCH).contains(&v) {
        Ok(v)
    } else {
        Err(D::Error::custom(format!(
            "a batch size must be from 1 to {MAX_BATCH}, got {v}"
        )))
    }
}
