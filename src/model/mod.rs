//! Model files: their syntax, loading, `extends` and the layer shorthand.
//!
//! This module knows TOML and the shorthand; it knows nothing of shapes or
//! counts (that is `count`) and nothing of HTML.

pub mod expr;
pub mod file;
pub mod item;
pub mod load;
pub mod op;

pub use load::{load, load_path, load_with, model_names, Block, Loader, ModelSpec, Section};
