//! Range checks applied while `bench.json` is read (`deserialize_with`).
//!
//! The results file may come from another machine or another person. Every
//! figure must be finite and within physically sane bounds before any table
//! or chart sees it: a value raised here becomes a JSON error with the
//! file's line and column, just after the offending value.

use serde::de::{Deserializer, Error};
use serde::Deserialize;

/// Shortest plausible time of one kernel call, seconds.
const MIN_SECONDS: f64 = 1e-12;
/// Longest plausible time of one kernel call (about 11 days), seconds.
const MAX_SECONDS: f64 = 1e6;
/// Slowest plausible ceiling, GFLOP/s or GB/s.
const MIN_RATE: f64 = 1e-6;
/// Bounds of ratios (intensity, fractions of a ceiling, speed-ups, load).
const MAX_RATIO: f64 = 1e9;
/// Smallest fraction of a problem, or speed-up, taken as real.
const MIN_FRACTION: f64 = 1e-9;
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
    min: f64,
    max: f64,
) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if v.is_finite() && v >= min && v <= max {
        Ok(v)
    } else {
        let show = |x: f64| {
            if x.is_finite() && (x == 0.0 || (1e-3..1e6).contains(&x.abs())) {
                format!("{x}")
            } else {
                format!("{x:e}")
            }
        };
        Err(D::Error::custom(format!(
            "{what} must be from {} to {}, got {}",
            show(min),
            show(max),
            show(v)
        )))
    }
}

/// A duration of one call: at least a picosecond.
pub fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    in_range(d, "a time in seconds", MIN_SECONDS, MAX_SECONDS)
}

/// A spread or CPU time, 0 s or more.
pub fn seconds_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    in_range(d, "a time in seconds", 0.0, MAX_SECONDS)
}

/// A compute rate or peak.
pub fn gflops<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    in_range(d, "a rate in GFLOP/s", MIN_RATE, MAX_GFLOPS)
}

/// An optional duration (absent in older files).
pub fn opt_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    struct Secs(#[serde(deserialize_with = "seconds")] f64);
    Ok(Option::<Secs>::deserialize(d)?.map(|r| r.0))
}

/// An optional compute peak (an instruction set the machine may lack).
pub fn opt_gflops<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    struct Rate(#[serde(deserialize_with = "gflops")] f64);
    Ok(Option::<Rate>::deserialize(d)?.map(|r| r.0))
}

/// An optional bandwidth ceiling (absent in older result files).
pub fn opt_gbs<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    struct Rate(#[serde(deserialize_with = "gbs")] f64);
    Ok(Option::<Rate>::deserialize(d)?.map(|r| r.0))
}

/// A bandwidth ceiling.
pub fn gbs<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    in_range(d, "a bandwidth in GB/s", MIN_RATE, MAX_GBS)
}

/// A kernel's achieved rate (GFLOP/s or GB/s): 0 or more.
pub fn rate_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    in_range(d, "a rate", 0.0, MAX_GFLOPS)
}

/// Work or traffic of a kernel: 0 or more.
pub fn amount<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    in_range(d, "an amount of FLOPs or bytes", 0.0, MAX_AMOUNT)
}

/// A ratio: arithmetic intensity, a fraction of a ceiling, a speed-up.
pub fn ratio<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    in_range(d, "a ratio", 0.0, MAX_RATIO)
}

/// A fraction of the problem that was timed.
pub fn fraction<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    in_range(d, "a fraction", MIN_FRACTION, 1.0)
}

/// An optional speed-up.
pub fn opt_ratio<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    struct Speedup(#[serde(deserialize_with = "speedup")] f64);
    fn speedup<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        in_range(d, "a speed-up", MIN_FRACTION, MAX_RATIO)
    }
    Ok(Option::<Speedup>::deserialize(d)?.map(|r| r.0))
}

/// Optional quartiles of a ratio (first, median, third), each a positive
/// ratio and in order.
pub fn opt_quartiles<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[f64; 3]>, D::Error> {
    #[derive(Deserialize)]
    struct Q(#[serde(deserialize_with = "quartile")] f64);
    fn quartile<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        in_range(d, "a ratio", MIN_FRACTION, MAX_RATIO)
    }
    let Some([a, b, c]) = Option::<[Q; 3]>::deserialize(d)? else {
        return Ok(None);
    };
    if a.0 <= b.0 && b.0 <= c.0 {
        Ok(Some([a.0, b.0, c.0]))
    } else {
        Err(D::Error::custom(format!(
            "quartiles must be in order, got {}, {}, {}",
            a.0, b.0, c.0
        )))
    }
}

/// Optional load averages, each 0 or more.
pub fn opt_load<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[f64; 3]>, D::Error> {
    #[derive(Deserialize)]
    struct Load(#[serde(deserialize_with = "load")] f64);
    fn load<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        in_range(d, "a load average", 0.0, MAX_RATIO)
    }
    Ok(Option::<[Load; 3]>::deserialize(d)?.map(|l| l.map(|x| x.0)))
}

/// A batch size from 1 to `MAX_BATCH`.
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
