//! The serde shape of a model file (`content/models/*.toml`), nothing more.
//!
//! Unknown fields are errors (`deny_unknown_fields`), so a typo is reported
//! with its line and column instead of being silently ignored. Meaning is
//! given to these values in `load.rs`.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// A whole model file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// Display name, e.g. "ResNet-34".
    pub name: Option<Spanned<String>>,
    /// One paragraph shown on the model's page.
    pub description: Option<String>,
    /// Another model (file stem in the same folder) this one starts from.
    pub extends: Option<Spanned<String>>,
    /// Input shape without the batch: `[C, H, W]`.
    pub input: Option<Spanned<Vec<Spanned<i64>>>>,
    /// Reusable parameterised blocks, by name.
    #[serde(default)]
    pub blocks: BTreeMap<String, Spanned<BlockFile>>,
    /// Named sections in order (`[[section]]`).
    #[serde(default, rename = "section")]
    pub sections: Vec<SectionFile>,
}

/// `[blocks.NAME]`: a parameterised sub-network.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockFile {
    /// Argument names, referred to as `$name` inside the block.
    #[serde(default)]
    pub args: Vec<String>,
    /// The main path.
    #[serde(default)]
    pub body: Vec<Spanned<String>>,
    /// Further parallel paths (inception branches).
    #[serde(default)]
    pub branches: Vec<Vec<Spanned<String>>>,
    /// Whether the block's input joins the merge, and how.
    pub shortcut: Option<Spanned<Shortcut>>,
    /// Layers of a projection shortcut.
    #[serde(default)]
    pub projection: Vec<Spanned<String>>,
    /// How parallel paths join.
    pub merge: Option<Merge>,
    /// Layers after the merge (e.g. the ReLU after a residual add).
    #[serde(default)]
    pub then: Vec<Spanned<String>>,
}

/// How a block's input takes part in its merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shortcut {
    /// The input itself is one of the merged paths.
    Identity,
    /// Identity when the body keeps the shape, else the `projection` layers (torchvision's rule).
    Auto,
    /// Always the `projection` layers.
    Projection,
    /// Identity when the body keeps the shape, else the input subsampled and
    /// zero-padded to the body's channels (option A of CIFAR ResNets).
    Pad,
}

/// How parallel paths join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Merge {
    /// Element-wise sum (residual connections): shapes must be equal.
    Add,
    /// Concatenation along channels (DenseNet, Inception).
    Concat,
    /// Element-wise product with broadcasting (squeeze-and-excitation gates).
    Mul,
    /// Matrix product of two paths, batched over leading dimensions.
    Matmul,
}

impl Merge {
    /// The layer name of the join (`add`, `concat`, `mul`, `matmul`).
    pub fn word(self) -> &'static str {
        match self {
            Merge::Add => "add",
            Merge::Concat => "concat",
            Merge::Mul => "mul",
            Merge::Matmul => "matmul",
        }
    }
}

/// `[[section]]`: a named, replaceable part of the network.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionFile {
    /// The section's name, e.g. `stem`, `stage3`, `head`.
    pub name: Spanned<String>,
    /// Its layers and block calls in order.
    pub layers: Vec<Spanned<String>>,
    /// In a variant: add this section after the base's instead of replacing
    /// one of the same name (without it, a name the base lacks is an error).
    #[serde(default)]
    pub append: bool,
}
