//! Error type of the benchmark subsystem: invalid shapes, I/O, schema problems.

use std::path::PathBuf;

/// Everything that can go wrong while benchmarking or reading/writing results.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A workload shape is invalid (zero dimension, overflow, kernel larger than input, ...).
    #[error("invalid shape for {what}: {reason}")]
    InvalidShape {
        /// Which workload or kernel rejected the shape.
        what: String,
        /// Human-readable reason.
        reason: String,
    },
    /// A buffer passed to a kernel has the wrong length.
    #[error("buffer `{name}` has length {got}, expected {expected}")]
    BufferSize {
        /// Name of the buffer argument.
        name: &'static str,
        /// Actual length.
        got: usize,
        /// Required length.
        expected: usize,
    },
    /// A buffer could not be allocated.
    #[error("cannot allocate {bytes} bytes")]
    Alloc {
        /// Requested size in bytes.
        bytes: usize,
    },
    /// A network has a layer the forward runner has no kernel for.
    #[error("{layer}: the forward runner cannot run it: {reason}")]
    Unsupported {
        /// Layer path.
        layer: String,
        /// What is missing.
        reason: String,
    },
    /// A request of `bench --sample-stdin` cannot be served.
    #[error("stdin:{line}: {message}")]
    Request {
        /// 1-based line of the request.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// `bench --cpu` cannot pin the process.
    #[error("--cpu {cpu}: {reason}")]
    Pin {
        /// The CPU asked for.
        cpu: usize,
        /// Why not.
        reason: String,
    },
    /// The filter matched no case.
    #[error("filter `{0}` matches no benchmark case")]
    NoMatch(String),
    /// The SIMD kernel disagrees with the scalar reference.
    #[error("kernel `{name}` ({variant}) disagrees with the scalar reference: max error {max_err:e} exceeds tolerance at index {index}")]
    Mismatch {
        /// Kernel case name.
        name: String,
        /// Variant that failed.
        variant: String,
        /// Largest error / tolerance ratio seen (as absolute error).
        max_err: f64,
        /// Index of the worst element.
        index: usize,
    },
    /// Reading or writing a results file failed.
    #[error("{path}: {source}")]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A results file is not valid JSON or does not match the schema.
    #[error("{path}:{line}:{column}: invalid benchmark results: {message}")]
    Json {
        /// File concerned.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// Parser message.
        message: String,
    },
    /// A results file has an unsupported schema version.
    #[error("{path}: benchmark results have schema version {found}, this build reads version {expected}; re-run `netledger bench`")]
    Schema {
        /// File concerned.
        path: PathBuf,
        /// Version found in the file (0 when absent).
        found: u64,
        /// Version this build understands.
        expected: u32,
    },
}

/// Shorthand for an [`BenchError::InvalidShape`].
pub(crate) fn shape_err(what: &str, reason: impl Into<String>) -> BenchError {
    BenchError::InvalidShape {
        what: what.to_string(),
        reason: reason.into(),
    }
}

/// Check a buffer length.
pub(crate) fn check_len(name: &'static str, got: usize, expected: usize) -> Result<(), BenchError> {
    if got == expected {
        Ok(())
    } else {
        Err(BenchError::BufferSize {
            name,
            got,
            expected,
        })
    }
}
