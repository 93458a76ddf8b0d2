//! The results file (`bench.json`): a versioned JSON contract read by the
//! site builder. [`load`] validates the schema version and names the file in
//! every error; [`save`] writes it pretty-printed.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::checked;
use super::error::BenchError;

/// Version of the JSON layout; bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole benchmark run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// Schema version, [`SCHEMA_VERSION`] when written by this build.
    pub schema: u32,
    /// The machine and build that measured.
    pub machine: Machine,
    /// Measured machine ceilings.
    pub ceilings: Ceilings,
    /// One entry per kernel case and variant.
    pub kernels: Vec<KernelResult>,
    /// Whether the run used the `--quick` budgets.
    #[serde(default)]
    pub quick: bool,
    /// Whole networks run end to end (`bench --network`).
    #[serde(default)]
    pub networks: Vec<NetworkResult>,
}

/// One network run end to end at one batch size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkResult {
    /// Model id, e.g. "vgg19".
    pub model: String,
    /// Display name.
    pub name: String,
    /// Images per run.
    #[serde(deserialize_with = "checked::batch")]
    pub batch: usize,
    /// Input shape without the batch.
    pub input: Vec<u64>,
    /// Conv and linear MACs of one run (all images).
    pub macs: u64,
    /// Instruction set of the kernels.
    pub isa: String,
    /// Median seconds per run.
    #[serde(deserialize_with = "checked::seconds")]
    pub median_s: f64,
    /// Fastest run.
    #[serde(deserialize_with = "checked::seconds")]
    pub best_s: f64,
    /// Slowest run.
    #[serde(deserialize_with = "checked::seconds")]
    pub worst_s: f64,
    /// Timed runs.
    pub samples: usize,
    /// Seconds by kind of step in the run whose total is the median (an
    /// even number of runs: the upper middle one), in network order of
    /// first use.
    pub by_op: Vec<OpTime>,
    /// How batch norm ran.
    pub batch_norm: String,
    /// The check against the scalar kernels.
    pub check: NetworkCheck,
}

/// Time of one kind of step in a network run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpTime {
    /// "conv" (bias included), "linear", "batch norm", "activation",
    /// "pooling", "merge" or "shortcut pad".
    pub op: String,
    /// Seconds in the median run.
    #[serde(deserialize_with = "checked::seconds_or_zero")]
    pub seconds: f64,
    /// Steps of this kind.
    pub layers: usize,
}

/// How a network's output was checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkCheck {
    /// The small input it ran on.
    pub input: Vec<u64>,
    /// Conv and linear layers checked against the scalar kernels.
    pub layers: usize,
    /// Largest output difference to the scalar forward pass, over the
    /// largest output.
    #[serde(deserialize_with = "checked::ratio")]
    pub output_error: f64,
}

/// Where and how the figures were measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model name from /proc/cpuinfo ("unknown" if unreadable).
    pub cpu_model: String,
    /// CPU family and model numbers from /proc/cpuinfo, where it has them.
    /// Virtual machines often give every CPU generation of a vendor one
    /// name ("Intel(R) Xeon(R) Processor"); these numbers tell them apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_family_model: Option<[u32; 2]>,
    /// Instruction-set features the SIMD variant used (["avx2","fma"] or
    /// ["portable"]), plus "avx512f" where the FMA ceiling was measured with it.
    pub features: Vec<String>,
    /// Logical CPUs online (the machine's, even in a run pinned to one).
    pub cores: usize,
    /// UTC date and time of the run, RFC 3339.
    pub date: String,
    /// Build profile of the measuring binary ("release" or "debug").
    pub build_profile: String,
    /// Operating system and architecture, e.g. "linux x86_64".
    pub os: String,
    /// Load average (1, 5, 15 min) at the start of the run, if known.
    #[serde(default, deserialize_with = "checked::opt_load")]
    pub load_avg_start: Option<[f64; 3]>,
    /// Load average at the end of the run, if known.
    #[serde(default, deserialize_with = "checked::opt_load")]
    pub load_avg_end: Option<[f64; 3]>,
    /// Whether huge pages were requested (madvise accepted) for big buffers.
    pub huge_pages: bool,
    /// The one CPU the run was pinned to (`bench --cpu`, or `taskset`), if
    /// it was pinned to one of several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_cpu: Option<usize>,
}

impl Machine {
    /// The CPU as a reader should see it: its name, then its family and
    /// model numbers where known, e.g. `Intel(R) Xeon(R) Processor (family 6,
    /// model 167)`.
    pub fn cpu(&self) -> String {
        match self.cpu_family_model {
            Some([f, m]) => format!("{} (family {f}, model {m})", self.cpu_model),
            None => self.cpu_model.clone(),
        }
    }

    /// The name of this machine's results file, without `.json`: CPU model,
    /// family and model numbers where known, instruction sets and cores, e.g.
    /// `amd-epyc-f25m1-avx2-fma-2c`. A new run replaces only the file of its
    /// own machine.
    pub fn key(&self) -> String {
        let mut key = String::new();
        let text = format!(
            "{} {} {} {}c",
            self.cpu_model,
            self.cpu_family_model
                .map_or(String::new(), |[f, m]| format!("f{f}m{m}")),
            self.features.join(" "),
            self.cores
        );
        for c in text.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                key.push(c);
            } else if !key.ends_with('-') && !key.is_empty() {
                key.push('-');
            }
        }
        key.trim_end_matches('-').chars().take(80).collect()
    }
}

/// Measured single-thread machine ceilings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ceilings {
    /// Peak fp32 FMA throughput of the best instruction set this machine
    /// has, 12 independent accumulators (GFLOP/s): every "% of peak" is of this.
    #[serde(deserialize_with = "checked::gflops")]
    pub fma_peak_gflops: f64,
    /// The same with 256-bit AVX2 FMAs, where the machine has them.
    #[serde(default, deserialize_with = "checked::opt_gflops")]
    pub fma_peak_avx2_gflops: Option<f64>,
    /// The same with 512-bit AVX-512F FMAs, where the machine has them.
    #[serde(default, deserialize_with = "checked::opt_gflops")]
    pub fma_peak_avx512_gflops: Option<f64>,
    /// Peak fp32 scalar FMA throughput (GFLOP/s).
    #[serde(deserialize_with = "checked::gflops")]
    pub fma_scalar_gflops: f64,
    /// DRAM read bandwidth used as the memory ceiling: a buffer of fc6's size
    /// read 4 rows at a time like the GEMV, huge pages requested (GB/s).
    #[serde(deserialize_with = "checked::gbs")]
    pub read_bandwidth_gbs: f64,
    /// Triad a = b + s c over arrays far larger than L3, counting 12 bytes per element (GB/s).
    #[serde(deserialize_with = "checked::gbs")]
    pub triad_bandwidth_gbs: f64,
    /// Read bandwidth, 1 stream, huge pages requested (GB/s).
    #[serde(deserialize_with = "checked::gbs")]
    pub read_bandwidth_1stream_gbs: f64,
    /// Read bandwidth, 4 streams, huge pages requested (GB/s).
    #[serde(deserialize_with = "checked::gbs")]
    pub read_bandwidth_4stream_gbs: f64,
    /// Read bandwidth, 4 streams, 4 KiB pages (GB/s).
    #[serde(deserialize_with = "checked::gbs")]
    pub read_bandwidth_4stream_small_pages_gbs: f64,
    /// Read bandwidth of fc6-sized rows (equals `read_bandwidth_gbs`) (GB/s).
    #[serde(deserialize_with = "checked::gbs")]
    pub read_bandwidth_fc6_gbs: f64,
    /// Read bandwidth from an L1-resident buffer (GB/s).
    #[serde(deserialize_with = "checked::gbs")]
    pub read_bandwidth_l1_gbs: f64,
    /// Read bandwidth from an L2-resident buffer (GB/s).
    #[serde(deserialize_with = "checked::gbs")]
    pub read_bandwidth_l2_gbs: f64,
    /// Read bandwidth from an L3-resident buffer, where the machine has an
    /// L3 (GB/s).
    #[serde(default, deserialize_with = "checked::opt_gbs")]
    pub read_bandwidth_l3_gbs: Option<f64>,
    /// Cache sizes by level (L1 data, L2, L3) in bytes, as the OS reports them.
    #[serde(default)]
    pub cache_bytes: Vec<u64>,
    /// Bytes of the big buffers used for the DRAM measurements.
    pub dram_buffer_bytes: u64,
}

impl Ceilings {
    /// Ridge point of the roofline: FLOP per byte where compute and memory meet.
    pub fn ridge_intensity(&self) -> f64 {
        if self.read_bandwidth_gbs > 0.0 {
            self.fma_peak_gflops / self.read_bandwidth_gbs
        } else {
            0.0
        }
    }
}

/// Which ceiling bounds a kernel on the roofline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bound {
    /// Intensity above the ridge: fraction is of `fma_peak_gflops`.
    Compute,
    /// Intensity below the ridge: fraction is of `read_bandwidth_gbs`.
    Memory,
}

/// Kernel variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// Plain-Rust reference.
    Scalar,
    /// Explicit SIMD (or the portable fallback; see `machine.features`).
    Simd,
    /// A third-party crate on the same shape (criterion/example runs only).
    Peer,
}

impl Variant {
    /// Lower-case name as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Scalar => "scalar",
            Variant::Simd => "simd",
            Variant::Peer => "peer",
        }
    }
}

/// One measured kernel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelResult {
    /// Case name (unique per case, shared by its variants).
    pub name: String,
    /// Model layer path, e.g. "vgg19/classifier.0", where the case is one.
    pub layer: Option<String>,
    /// Variant measured.
    pub variant: Variant,
    /// Batch size.
    #[serde(deserialize_with = "checked::batch")]
    pub batch: usize,
    /// Workload kind and shape, e.g. "conv 64->64 224x224 k3 s1 p1".
    pub workload: String,
    /// Median seconds per call (for the whole problem).
    #[serde(deserialize_with = "checked::seconds")]
    pub median_s: f64,
    /// Fastest sample, seconds per call.
    #[serde(deserialize_with = "checked::seconds")]
    pub best_s: f64,
    /// Slowest sample, seconds per call.
    #[serde(deserialize_with = "checked::seconds")]
    pub worst_s: f64,
    /// Median absolute deviation of the samples (seconds).
    #[serde(deserialize_with = "checked::seconds_or_zero")]
    pub mad_s: f64,
    /// Number of timed samples.
    pub samples: usize,
    /// Median process CPU seconds per call.
    #[serde(deserialize_with = "checked::seconds_or_zero")]
    pub cpu_s: f64,
    /// FLOPs of the whole problem (a multiply-add counts 2).
    #[serde(deserialize_with = "checked::amount")]
    pub flops: f64,
    /// Minimum bytes moved: inputs, weights and outputs once each (fp32).
    #[serde(deserialize_with = "checked::amount")]
    pub bytes: f64,
    /// GFLOP/s at the median time.
    #[serde(deserialize_with = "checked::rate_or_zero")]
    pub gflops: f64,
    /// GB/s (of `bytes`) at the median time.
    #[serde(deserialize_with = "checked::rate_or_zero")]
    pub gbs: f64,
    /// Arithmetic intensity, FLOP per byte.
    #[serde(deserialize_with = "checked::ratio")]
    pub intensity: f64,
    /// Ceiling the kernel is held to (by intensity versus the ridge point).
    pub bound: Bound,
    /// Achieved fraction of the bounding ceiling (gflops / peak or gbs / read bandwidth).
    #[serde(deserialize_with = "checked::ratio")]
    pub fraction_of_ceiling: f64,
    /// SIMD variant only: quartiles (first, median, third) of the samples'
    /// fractions of the bounding ceiling, each against a probe of that
    /// ceiling run right after the sample (the FMA peak loop, or a pure read
    /// of the operand the kernel streams). On a shared machine this is the
    /// fair figure: `fraction_of_ceiling` divides a median by a best sample
    /// taken minutes earlier. Files made before it have none.
    #[serde(default, deserialize_with = "checked::opt_quartiles")]
    pub fraction_of_ceiling_paired: Option<[f64; 3]>,
    /// SIMD variant only: scalar median time over this variant's median time.
    #[serde(default, deserialize_with = "checked::opt_ratio")]
    pub speedup_vs_scalar: Option<f64>,
    /// Scalar variant only: fraction of the output computed and timed; the
    /// times are scaled up by its inverse (1.0 = whole problem).
    #[serde(deserialize_with = "checked::fraction")]
    pub measured_fraction: f64,
}

/// Write a report as pretty JSON, naming the file on error.
pub fn save(report: &BenchReport, path: &Path) -> Result<(), BenchError> {
    let io = |source| BenchError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text = serde_json::to_string_pretty(report).map_err(|e| io(std::io::Error::other(e)))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, text + "\n").map_err(io)
}

/// Read and validate a report; errors name the file, with line:column for
/// bad JSON and the version found for an old schema.
pub fn load(path: &Path) -> Result<BenchReport, BenchError> {
    let text = std::fs::read_to_string(path).map_err(|source| BenchError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Parse report text (as [`load`] does), using `path` in error messages.
pub fn parse(text: &str, path: &Path) -> Result<BenchReport, BenchError> {
    let json_err = |e: serde_json::Error| BenchError::Json {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(json_err)?;
    let found = value
        .get("schema")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    if found != u64::from(SCHEMA_VERSION) {
        return Err(BenchError::Schema {
            path: path.to_path_buf(),
            found,
            expected: SCHEMA_VERSION,
        });
    }
    serde_json::from_str(text).map_err(json_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_machines_key_names_its_cpu_instruction_sets_and_cores() {
        let m = |cpu: &str, features: &[&str], cores| Machine {
            cpu_model: cpu.into(),
            cpu_family_model: None,
            features: features.iter().map(|f| f.to_string()).collect(),
            cores,
            date: "2026-12-01T00:00:00Z".into(),
            build_profile: "release".into(),
            os: "linux x86_64".into(),
            load_avg_start: None,
            load_avg_end: None,
            huge_pages: true,
            pinned_cpu: None,
        };
        assert_eq!(
            m("AMD EPYC", &["avx2", "fma", "avx512f"], 2).key(),
            "amd-epyc-avx2-fma-avx512f-2c"
        );
        assert_eq!(
            m(
                "Intel(R) Xeon(R) Platinum 8480+",
                &["avx2", "fma", "avx512f"],
                4
            )
            .key(),
            "intel-r-xeon-r-platinum-8480-avx2-fma-avx512f-4c"
        );
        assert_eq!(
            m("../../etc", &["portable"], 1).key(),
            "etc-portable-1c",
            "no path parts"
        );
        assert!(m(&"x".repeat(500), &[], 1).key().len() <= 80);
        let vm = Machine {
            cpu_family_model: Some([6, 167]),
            ..m("Intel(R) Xeon(R) Processor", &["avx2", "fma", "avx512f"], 2)
        };
        assert_eq!(
            vm.key(),
            "intel-r-xeon-r-processor-f6m167-avx2-fma-avx512f-2c",
            "two generations behind one generic name get two files"
        );
    }
}
