//! A model's architecture as the diagrams draw it: sections of units, each
//! unit a layer or a block, read back from the layer paths alone.
//!
//! A layer at `section/NAME/...` (three or more path parts) belongs to the
//! block `section/NAME`, so this works the same for model files and ONNX
//! graphs. Inside a block, layers under `shortcut/` are its projection,
//! layers under `branchN/` are parallel branches, a merge at the block's own
//! level joins the paths, and what follows the merge runs after it.

use crate::count::{Analysis, Kind, Layer, Op};
use crate::model::file::Merge;
use crate::model::op::PoolKind;

/// A top-level section and what it is made of.
pub struct Section<'a> {
    pub name: &'a str,
    pub units: Vec<Unit<'a>>,
}

/// One step of a section.
pub enum Unit<'a> {
    /// A layer outside any block.
    Layer(&'a Layer),
    /// A block: parallel paths joined by a merge, or a named group.
    Block(Block<'a>),
}

/// How a block's input reaches its merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    /// The block has no merge of its input, or no merge at all.
    None,
    /// The input itself.
    Identity,
    /// Through layers of its own (`shortcut/`): a projection, or padding.
    Projection,
}

/// The layers of one block, by role.
pub struct Block<'a> {
    /// Path inside the model, e.g. `stage2/block0`.
    pub path: &'a str,
    /// The block's input shape.
    pub input: &'a [u64],
    /// The main path, up to the merge.
    pub body: Vec<&'a Layer>,
    /// Parallel branches (`branchN/`), each in order.
    pub branches: Vec<Vec<&'a Layer>>,
    /// The shortcut's own layers (empty for an identity).
    pub shortcut_layers: Vec<&'a Layer>,
    /// What the shortcut is.
    pub shortcut: Shortcut,
    /// The merge joining the paths.
    pub merge: Option<&'a Layer>,
    /// Layers after the merge.
    pub after: Vec<&'a Layer>,
    /// Every layer of the block, in order.
    pub layers: Vec<&'a Layer>,
}

impl Block<'_> {
    /// The block's output shape.
    pub fn output(&self) -> &[u64] {
        self.layers.last().map_or(self.input, |l| &l.cost.output)
    }

    /// The merge's word: `add`, `concat`, `mul`, `matmul`.
    pub fn merge_word(&self) -> Option<&'static str> {
        self.merge.map(|m| m.op.name())
    }

    /// The last part of its path, e.g. `block0`.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(self.path)
    }

    /// Trainable parameters of the whole block.
    pub fn params(&self) -> u64 {
        self.layers.iter().map(|l| l.params()).sum()
    }
}

impl Unit<'_> {
    /// The unit's output shape.
    pub fn output(&self) -> &[u64] {
        match self {
            Unit::Layer(l) => &l.cost.output,
            Unit::Block(b) => b.output(),
        }
    }

    /// Trainable parameters.
    pub fn params(&self) -> u64 {
        match self {
            Unit::Layer(l) => l.params(),
            Unit::Block(b) => b.params(),
        }
    }

    /// Multiply-accumulates.
    pub fn macs(&self) -> u64 {
        match self {
            Unit::Layer(l) => l.cost.macs,
            Unit::Block(b) => b.layers.iter().map(|l| l.cost.macs).sum(),
        }
    }
}

/// The sections of `a`, in order, each with its units.
pub fn sections(a: &Analysis) -> Vec<Section<'_>> {
    let mut out: Vec<Section> = Vec::new();
    let mut i = 0;
    while i < a.layers.len() {
        let layer = &a.layers[i];
        let path = layer.local_path();
        let section = path.split('/').next().unwrap_or(path);
        if out.last().is_none_or(|s| s.name != section) {
            out.push(Section {
                name: section,
                units: Vec::new(),
            });
        }
        let units = &mut out.last_mut().expect("pushed above").units;
        match block_of(path) {
            None => {
                units.push(Unit::Layer(layer));
                i += 1;
            }
            Some(block) => {
                let end = a.layers[i..]
                    .iter()
                    .position(|l| block_of(l.local_path()) != Some(block))
                    .map_or(a.layers.len(), |n| i + n);
                units.push(Unit::Block(split(block, &a.layers[i..end])));
                i = end;
            }
        }
    }
    out
}

/// `stage1/block0` for `stage1/block0/conv1` (and deeper); `None` for a
/// layer directly in its section.
fn block_of(path: &str) -> Option<&str> {
    let mut cut = path.match_indices('/').map(|(i, _)| i);
    let _section = cut.next()?;
    let block_end = cut.next()?;
    Some(&path[..block_end])
}

/// Sorts a block's layers by role.
fn split<'a>(path: &'a str, layers: &'a [Layer]) -> Block<'a> {
    let inner = |l: &'a Layer| -> &'a str {
        l.local_path()
            .get(path.len() + 1..)
            .unwrap_or_else(|| l.local_path())
    };
    let merge_at = layers
        .iter()
        .position(|l| matches!(l.op, Op::Merge { .. }) && !inner(l).contains('/'));
    let mut block = Block {
        path,
        input: layers
            .first()
            .and_then(|l| l.inputs.first())
            .map_or(&[], |s| s),
        body: Vec::new(),
        branches: Vec::new(),
        shortcut_layers: Vec::new(),
        shortcut: Shortcut::None,
        merge: merge_at.map(|m| &layers[m]),
        after: Vec::new(),
        layers: layers.iter().collect(),
    };
    let mut branch_names: Vec<&str> = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let rel = inner(l);
        if merge_at.is_some_and(|m| i > m) {
            block.after.push(l);
        } else if Some(i) == merge_at {
        } else if rel.starts_with("shortcut/") {
            block.shortcut_layers.push(l);
        } else if let Some(name) = rel
            .split_once('/')
            .map(|(b, _)| b)
            .filter(|b| b.starts_with("branch"))
        {
            match branch_names.iter().position(|n| *n == name) {
                Some(k) => block.branches[k].push(l),
                None => {
                    branch_names.push(name);
                    block.branches.push(vec![l]);
                }
            }
        } else {
            block.body.push(l);
        }
    }
    if let Some(m) = block.merge {
        let joins_input = m.inputs.len() > block.branches.len() + 1;
        block.shortcut = if !block.shortcut_layers.is_empty() {
            Shortcut::Projection
        } else if joins_input {
            Shortcut::Identity
        } else {
            Shortcut::None
        };
    }
    block
}

/// A short description of a layer, e.g. `3x3 conv 64, stride 2`, `fc 1000`,
/// `max-pool 3x3`; `None` for a layer the diagrams fold into its
/// neighbour (norms, activations, reshapes).
pub fn describe(l: &Layer) -> Option<String> {
    Some(match &l.op {
        Op::Conv {
            out,
            kernel,
            stride,
            groups,
            ..
        } => {
            let mut s = format!("{}x{} conv {out}", kernel[0], kernel[1]);
            if *groups > 1 {
                if l.inputs.first().and_then(|i| i.first()) == Some(groups) {
                    s = format!("{}x{} depthwise conv {out}", kernel[0], kernel[1]);
                } else {
                    s.push_str(&format!(", {groups} groups"));
                }
            }
            if stride[0] > 1 || stride[1] > 1 {
                s.push_str(&format!(", stride {}", stride[0]));
            }
            s
        }
        Op::Linear { out, .. } => format!("fc {out}"),
        Op::Pool { pool, kernel, .. } => {
            let word = if *pool == PoolKind::Max {
                "max-pool"
            } else {
                "avg-pool"
            };
            format!("{word} {}x{}", kernel[0], kernel[1])
        }
        Op::Adaptive { size: [1, 1], .. } => "global pool".into(),
        Op::Adaptive { size, .. } => format!("pool to {}x{}", size[0], size[1]),
        Op::Attention { heads, .. } => format!("attention, {heads} heads"),
        Op::Merge { merge } => match merge {
            Merge::Add => "add".into(),
            _ => l.op.name().into(),
        },
        _ if l.op.kind() == Kind::Tensor => "parameter".into(),
        Op::Mean { .. } | Op::PatchMerge => l.op.name().into(),
        _ => return None,
    })
}

/// `3x3 conv 64, 3x3 conv 64`, collapsed into `2 x 3x3 conv 64` where
/// neighbours repeat.
pub fn summary(parts: &[String]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let n = parts[i..].iter().take_while(|p| **p == parts[i]).count();
        out.push(if n > 1 {
            format!("{n} x {}", parts[i])
        } else {
            parts[i].clone()
        });
        i += n;
    }
    out.join(", ")
}

/// `64x56x56` (no batch).
pub fn shape_text(shape: &[u64]) -> String {
    shape
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("x")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analysis(text: &str) -> Analysis {
        let spec = crate::model::Loader::default()
            .load_text(std::path::Path::new("t.toml"), text)
            .unwrap();
        crate::count::analyze(&spec, None).unwrap()
    }

    #[test]
    fn blocks_shortcuts_and_branches_are_read_from_paths() {
        let a = analysis(
            r#"
name = "t"
input = [3, 32, 32]
[blocks.basic]
args = ["c", "s"]
body = ["conv $c k3 s$s p1 nobias", "bn", "relu", "conv $c k3 p1 nobias", "bn"]
merge = "add"
shortcut = "auto"
projection = ["conv $c k1 s$s nobias", "bn"]
then = ["relu"]
[blocks.fire]
args = ["c"]
body = ["conv $c k1", "relu"]
branches = [["conv $c k3 p1", "relu"]]
merge = "concat"
[[section]]
name = "stem"
layers = ["conv 16 k3 p1", "relu"]
[[section]]
name = "stage"
layers = ["basic 16 1", "basic 32 2", "fire 8"]
[[section]]
name = "head"
layers = ["gap", "flatten", "fc: linear 10"]
"#,
        );
        let sections = sections(&a);
        let names: Vec<_> = sections.iter().map(|s| s.name).collect();
        assert_eq!(names, ["stem", "stage", "head"]);
        assert_eq!(sections[0].units.len(), 2);
        let blocks: Vec<&Block> = sections[1]
            .units
            .iter()
            .filter_map(|u| match u {
                Unit::Block(b) => Some(b),
                Unit::Layer(_) => None,
            })
            .collect();
        assert_eq!(blocks.len(), 3);
        assert_eq!(blocks[0].shortcut, Shortcut::Identity);
        assert_eq!(blocks[0].input, [16, 32, 32]);
        assert_eq!(blocks[0].body.len(), 5);
        assert_eq!(blocks[0].after.len(), 1);
        assert_eq!(blocks[1].shortcut, Shortcut::Projection);
        assert_eq!(blocks[1].shortcut_layers.len(), 2);
        assert_eq!(blocks[1].output(), [32, 16, 16]);
        assert_eq!(blocks[1].merge_word(), Some("add"));
        assert_eq!(blocks[2].shortcut, Shortcut::None);
        assert_eq!(blocks[2].branches.len(), 1);
        assert_eq!(blocks[2].merge_word(), Some("concat"));
        assert_eq!(blocks[2].output(), [16, 16, 16]);
        let parts: Vec<String> = blocks[1].body.iter().filter_map(|l| describe(l)).collect();
        assert_eq!(parts, ["3x3 conv 32, stride 2", "3x3 conv 32"]);
        assert_eq!(
            summary(&["a".into(), "a".into(), "b".into(), "a".into()]),
            "2 x a, b, a"
        );
    }
}
