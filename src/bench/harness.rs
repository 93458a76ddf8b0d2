//! Timing harness: warm-up, repeated samples within a time budget, median
//! and spread, wall and process CPU time, load average.

use super::error::BenchError;
use std::time::{Duration, Instant};

/// How long and how often to measure one kernel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Untimed warm-up calls (stopped early if they exceed the budget).
    pub warmup: u32,
    /// Minimum number of timed samples.
    pub min_samples: u32,
    /// Maximum number of timed samples.
    pub max_samples: u32,
    /// Time after which sampling stops once `min_samples` are taken; sampling
    /// also stops at 3x this even below `min_samples` (at least one sample).
    pub max_time: Duration,
    /// Shortest duration of one sample; fast kernels are repeated inside it.
    pub min_sample_time: Duration,
}

impl Budget {
    /// Budget for `--quick` runs.
    pub fn quick() -> Self {
        Self {
            warmup: 1,
            min_samples: 3,
            max_samples: 30,
            max_time: Duration::from_millis(250),
            min_sample_time: Duration::from_millis(2),
        }
    }

    /// Budget for full runs.
    pub fn full() -> Self {
        Self {
            warmup: 2,
            min_samples: 7,
            max_samples: 200,
            max_time: Duration::from_millis(1500),
            min_sample_time: Duration::from_millis(5),
        }
    }
}

/// Statistics of one measured kernel (seconds per call).
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Seconds per call of each sample.
    pub samples: Vec<f64>,
    /// Median seconds per call.
    pub median_s: f64,
    /// Fastest sample.
    pub best_s: f64,
    /// Slowest sample.
    pub worst_s: f64,
    /// Median absolute deviation of the samples.
    pub mad_s: f64,
    /// Median process CPU seconds per call (all threads of the process).
    pub cpu_s: f64,
    /// Calls per sample.
    pub reps: u64,
}

/// Process CPU time in seconds (`CLOCK_PROCESS_CPUTIME_ID`), 0 if unavailable.
pub fn cpu_time_s() -> f64 {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: ts is a valid, writable timespec.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
        if rc == 0 {
            return ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9;
        }
    }
    0.0
}

/// The CPUs this process may run on, in order (Linux; `None` elsewhere or
/// if the kernel will not say).
pub fn allowed_cpus() -> Option<Vec<usize>> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: an all-zero cpu_set_t is a valid empty set, and
        // sched_getaffinity writes at most its size.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: set is a valid, writable cpu_set_t of `size` bytes.
        if unsafe { libc::sched_getaffinity(0, size, &mut set) } != 0 {
            return None;
        }
        let max = 8 * size;
        // SAFETY: CPU_ISSET reads the set for cpu < its capacity.
        Some(
            (0..max)
                .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
                .collect(),
        )
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Pins this process, and the threads and processes it starts, to `cpu`
/// (one of [`allowed_cpus`]): single-thread figures then never move between
/// CPUs that a shared host runs at different speeds.
pub fn pin_to_cpu(cpu: usize) -> Result<(), BenchError> {
    let err = |reason: String| BenchError::Pin { cpu, reason };
    let allowed = allowed_cpus().ok_or_else(|| err("this system cannot pin a process".into()))?;
    if !allowed.contains(&cpu) {
        let list: Vec<String> = allowed.iter().map(usize::to_string).collect();
        return Err(err(format!(
            "this process may run on CPUs {} only",
            list.join(", ")
        )));
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: as in allowed_cpus; cpu is below the set's capacity (it
        // came from it).
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        unsafe { libc::CPU_SET(cpu, &mut set) };
        let size = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: set is a valid cpu_set_t of `size` bytes.
        if unsafe { libc::sched_setaffinity(0, size, &set) } != 0 {
            return Err(err(std::io::Error::last_os_error().to_string()));
        }
    }
    Ok(())
}

/// The 1, 5 and 15 minute load averages from /proc/loadavg, if readable.
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// Median of a slice (0 for empty).
pub fn median(v: &[f64]) -> f64 {
    quartiles(v)[1]
}

/// First quartile, median and third quartile of a slice (zeros for an
/// empty one), interpolated between order statistics as Python's
/// `statistics.quantiles(method="inclusive")` does, so that they agree
/// with `benches/compare_torch.py`.
pub fn quartiles(v: &[f64]) -> [f64; 3] {
    if v.is_empty() {
        return [0.0; 3];
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    [0.25, 0.5, 0.75].map(|q| {
        let at = q * (s.len() - 1) as f64;
        let (lo, frac) = (at.floor() as usize, at.fract());
        let hi = (lo + 1).min(s.len() - 1);
        s[lo] + (s[hi] - s[lo]) * frac
    })
}

/// Which call a paired measurement asks for ([`measure_paired`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// The call being measured.
    Kernel,
    /// The probe that follows each sample.
    Probe,
}

/// Measure `f` under `budget`.
pub fn measure<F: FnMut()>(budget: &Budget, mut f: F) -> Measurement {
    sample(budget, |turn| {
        if turn == Turn::Kernel {
            f()
        }
    })
    .0
}

/// Measure `f(Turn::Kernel)` under `budget`, calling `f(Turn::Probe)`
/// once right after each sample; returns the probe's seconds too, one per
/// sample. The probes' time counts against the budget, so a paired run
/// takes as long as an unpaired one, with fewer samples. On a shared machine
/// a ceiling measured minutes before a kernel says little about the
/// kernel's own minute: a probe of that ceiling right after each sample
/// does.
pub fn measure_paired<F: FnMut(Turn)>(budget: &Budget, f: F) -> (Measurement, Vec<f64>) {
    sample(budget, f)
}

/// The sampling loop of [`measure`] and [`measure_paired`].
fn sample<F: FnMut(Turn)>(budget: &Budget, mut f: F) -> (Measurement, Vec<f64>) {
    let start = Instant::now();
    let mut one = f64::INFINITY;
    for _ in 0..budget.warmup {
        let t = Instant::now();
        f(Turn::Kernel);
        one = one.min(t.elapsed().as_secs_f64());
        if start.elapsed() > budget.max_time {
            break;
        }
    }
    // Without warm-up there is no calibration: one call per sample.
    let reps = if !one.is_finite() {
        1
    } else if one > 0.0 {
        (budget.min_sample_time.as_secs_f64() / one)
            .ceil()
            .clamp(1.0, 1e6) as u64
    } else {
        1000
    };
    let begin = Instant::now();
    let (mut samples, mut cpus, mut probes) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        let c0 = cpu_time_s();
        let t = Instant::now();
        for _ in 0..reps {
            f(Turn::Kernel);
        }
        let wall = t.elapsed().as_secs_f64() / reps as f64;
        cpus.push((cpu_time_s() - c0) / reps as f64);
        samples.push(wall);
        let t = Instant::now();
        f(Turn::Probe);
        probes.push(t.elapsed().as_secs_f64());
        let n = samples.len() as u32;
        let el = begin.elapsed();
        let enough = n >= budget.min_samples && el >= budget.max_time;
        if enough || n >= budget.max_samples || el >= budget.max_time * 3 {
            break;
        }
    }
    let med = median(&samples);
    let dev: Vec<f64> = samples.iter().map(|s| (s - med).abs()).collect();
    let m = Measurement {
        median_s: med,
        best_s: samples.iter().copied().fold(f64::INFINITY, f64::min),
        worst_s: samples.iter().copied().fold(0.0, f64::max),
        mad_s: median(&dev),
        cpu_s: median(&cpus),
        reps,
        samples,
    };
    (m, probes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_pinned_to_one_cpu_is_recorded_as_pinned() {
        let Some(allowed) = allowed_cpus() else {
            return;
        };
        let last = *allowed.last().expect("some CPU");
        pin_to_cpu(last).expect("pin");
        assert_eq!(allowed_cpus(), Some(vec![last]));
        let m = crate::bench::runner::machine(crate::bench::Isa::Portable, None, None, false);
        assert_eq!(m.pinned_cpu, (m.cores > 1).then_some(last));
        assert!(matches!(
            pin_to_cpu(usize::MAX / 2),
            Err(BenchError::Pin { .. })
        ));
    }

    #[test]
    fn median_and_quartiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        // As Python's statistics.quantiles([...], n=4, method="inclusive").
        assert_eq!(quartiles(&[4.0, 1.0, 2.0, 3.0]), [1.75, 2.5, 3.25]);
        assert_eq!(quartiles(&[5.0, 1.0, 9.0, 3.0, 7.0]), [3.0, 5.0, 7.0]);
        assert_eq!(quartiles(&[2.0]), [2.0; 3]);
    }

    #[test]
    fn a_paired_measurement_probes_once_after_each_sample() {
        let b = Budget {
            warmup: 1,
            min_samples: 3,
            max_samples: 4,
            max_time: Duration::from_millis(1),
            min_sample_time: Duration::from_micros(10),
        };
        let mut turns = Vec::new();
        let (m, probes) = measure_paired(&b, |t| turns.push(t));
        assert_eq!(probes.len(), m.samples.len());
        let reps = m.reps as usize;
        // The warm-up call, then each sample's calls followed by one probe.
        let mut want = vec![Turn::Kernel];
        for _ in &m.samples {
            want.extend(std::iter::repeat_n(Turn::Kernel, reps));
            want.push(Turn::Probe);
        }
        assert_eq!(turns, want);
    }

    #[test]
    fn measure_counts_samples() {
        let b = Budget {
            warmup: 1,
            min_samples: 3,
            max_samples: 5,
            max_time: Duration::from_millis(1),
            min_sample_time: Duration::from_micros(10),
        };
        let mut calls = 0u64;
        let m = measure(&b, || calls += 1);
        assert!(m.samples.len() >= 3 && m.samples.len() <= 5);
        assert!(m.best_s <= m.median_s && m.median_s <= m.worst_s);
        assert!(calls >= 4);
        assert!(cpu_time_s() >= 0.0);
    }
}
