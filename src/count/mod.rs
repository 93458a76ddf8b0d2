//! The counting engine: shapes, parameters, MACs, FLOPs and tool conventions.
//!
//! It reads [`crate::model::ModelSpec`]s and knows nothing of HTML or TOML.

pub mod analysis;
pub mod attention;
pub mod convention;
pub mod diff;
pub mod elaborate;
pub mod op;
pub mod output;

pub use analysis::{analyze, check_input_channels, About, Analysis, Totals};
pub use convention::Convention;
pub use elaborate::Layer;
pub use op::{Kind, Op, Shape};
