//! netledger: exact CNN ledgers, literate reports and measured kernels.
//!
//! The engine (`model` + `count`) reads architecture files and counts; the
//! report (`report`, `chart`) turns pages and counts into a static site;
//! `bench` measures kernels on the reader's machine. Errors are typed in
//! [`error`] and rendered once by the binary.

pub mod bench;
pub mod catalog;
pub mod chart;
pub mod config;
pub mod count;
pub mod error;
pub mod escape;
pub mod init;
pub mod model;
pub mod numfmt;
pub mod onnx;
pub mod report;
pub mod serve;
pub mod source;

pub use error::{Error, Result};

/// Stack size of every thread that builds or counts (the CLI's worker and
/// `serve`'s rebuilder alike), so that what one accepts the other survives.
/// Input-driven recursion is bounded well below it.
pub const WORK_STACK: usize = 64 << 20;

/// Runs `work` on a thread with [`WORK_STACK`] bytes of stack and returns its result.
pub fn with_work_stack<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .name("netledger-work".into())
        .stack_size(WORK_STACK)
        .spawn(work)
        .expect("spawning the work thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
