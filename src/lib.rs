//! netledger: exact CNN ledgers, literate reports and measured kernels.
pub mod bench;
