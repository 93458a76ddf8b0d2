//! netledger: exact CNN ledgers, literate reports and measured kernels.
//!
//! The engine (`model` + `count`) reads architecture files and counts; the
//! report (`report`, `chart`) turns pages and counts into a static site;
//! `bench` measures kernels on the reader's machine. Errors are typed in
//! [`error`] and rendered once by the binary.

pub mod bench;
pub mod chart;
pub mod count;
pub mod error;
pub mod model;
pub mod numfmt;
pub mod report;
pub mod serve;
pub mod source;

pub use error::{Error, Result};
