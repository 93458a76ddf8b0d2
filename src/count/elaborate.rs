//! From a [`ModelSpec`] to a flat list of [`Layer`]s with shapes and costs.
//!
//! One walk expands blocks and repeats, evaluates argument expressions and
//! infers shapes together, because a block's `shortcut = "auto"` depends on
//! the shape its body produces. Layer paths name every step:
//! `resnet34/stage3/block0/conv2`, `.../block0/shortcut/conv1`,
//! `.../block0/add`, `inception3a/block0/branch2/conv1`.

use std::collections::{BTreeMap, BTreeSet};

use crate::count::op::{shape_str, Cost, Op, Shape};
use crate::error::{Error, Result};
use crate::model::expr::{Args, Expr};
use crate::model::file::{Merge, Shortcut};
use crate::model::item::{Groups, Item, LayerSpec, Pair, What};
use crate::model::{Block, ModelSpec};
use crate::source::Span;

/// How deep blocks may call blocks before we call it recursion.
const MAX_DEPTH: usize = 32;

/// More layers than any real network has: a runaway `*N` stops here
/// instead of exhausting memory.
pub const MAX_LAYERS: usize = 100_000;

/// One layer of the expanded network, with its shapes and costs.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Full path, e.g. `resnet34/stage3/block0/conv2`.
    pub path: String,
    /// The top-level section it belongs to.
    pub section: String,
    /// The evaluated operation.
    pub op: Op,
    /// Applied as a functional call, invisible to module hooks.
    pub functional: bool,
    /// Input shapes (several for a merge).
    pub inputs: Vec<Shape>,
    /// Output shape, trainable parameters and operation counts.
    pub cost: Cost,
    /// FLOPs: 2 x MACs + bias adds + element-wise operations.
    pub flops: u64,
    /// Where the layer was written.
    pub span: Span,
}

/// Expands `spec` for `input` (without batch) into its layers.
pub fn elaborate(spec: &ModelSpec, input: &[u64]) -> Result<Vec<Layer>> {
    let mut walk = Walk {
        spec,
        layers: Vec::new(),
        depth: 0,
    };
    if input.is_empty() || input.contains(&0) {
        return Err(Error::Shape {
            layer: spec.id.clone(),
            message: format!(
                "input shape {} needs at least one dimension and no zero size",
                shape_str(input)
            ),
            span: None,
        });
    }
    let mut shape = input.to_vec();
    for section in &spec.sections {
        let mut scope = Scope::new(format!("{}/{}", spec.id, section.name), &section.name);
        shape = walk.items(&section.items, &mut scope, shape, &Args::new())?;
    }
    Ok(walk.layers)
}

struct Walk<'a> {
    spec: &'a ModelSpec,
    layers: Vec<Layer>,
    depth: usize,
}

/// A naming scope: a section, a block instance or a branch.
struct Scope {
    prefix: String,
    section: String,
    counters: BTreeMap<&'static str, u64>,
    blocks: u64,
    used: BTreeSet<String>,
}

impl Scope {
    fn new(prefix: String, section: &str) -> Scope {
        Scope {
            prefix,
            section: section.to_string(),
            counters: BTreeMap::new(),
            blocks: 0,
            used: BTreeSet::new(),
        }
    }

    fn child(&self, name: &str) -> Scope {
        Scope::new(format!("{}/{name}", self.prefix), &self.section)
    }

    /// Claims `name` in this scope; duplicates are an error at `span`.
    fn claim(&mut self, name: String, span: &Span) -> Result<String> {
        if !self.used.insert(name.clone()) {
            return Err(Error::syntax_hint(
                span.clone(),
                format!("two layers are named `{}/{name}`", self.prefix),
                "give each named layer a distinct name within its section or block",
            ));
        }
        Ok(format!("{}/{name}", self.prefix))
    }

    fn auto_name(&mut self, word: &'static str) -> String {
        let n = self.counters.entry(word).or_insert(0);
        *n += 1;
        format!("{word}{n}")
    }
}

fn counter_word(spec: &LayerSpec, keyword: &'static str) -> &'static str {
    match spec {
        LayerSpec::Linear { .. } => "fc",
        LayerSpec::Pool { .. } | LayerSpec::Adaptive { .. } | LayerSpec::GlobalAvgPool => "pool",
        _ => keyword,
    }
}

impl Walk<'_> {
    fn items(
        &mut self,
        items: &[Item],
        scope: &mut Scope,
        mut shape: Shape,
        args: &Args,
    ) -> Result<Shape> {
        for item in items {
            shape = self.item(item, scope, shape, args)?;
        }
        Ok(shape)
    }

    fn item(
        &mut self,
        item: &Item,
        scope: &mut Scope,
        mut shape: Shape,
        args: &Args,
    ) -> Result<Shape> {
        let repeat = match &item.repeat {
            Some(e) => e.eval(args)?,
            None => 1,
        };
        if repeat == 0 {
            return Err(Error::syntax(
                item.span.clone(),
                "repeat count must be at least 1",
            ));
        }
        for i in 0..repeat {
            let explicit = item.name.as_ref().map(|n| {
                if repeat > 1 {
                    format!("{n}{i}")
                } else {
                    n.clone()
                }
            });
            shape = match &item.what {
                What::Layer(spec) => {
                    let op = evaluate(spec, args, &shape, item)?;
                    let name =
                        explicit.unwrap_or_else(|| scope.auto_name(counter_word(spec, op.name())));
                    let path = scope.claim(name, &item.span)?;
                    self.push(
                        path,
                        &scope.section,
                        op,
                        item.functional,
                        vec![shape],
                        &item.span,
                    )?
                }
                What::Call {
                    block,
                    block_span,
                    args: call_args,
                } => {
                    let def = self.spec.blocks.get(block).ok_or_else(|| {
                        let known: Vec<_> = self.spec.blocks.keys().cloned().collect();
                        Error::syntax_hint(
                            block_span.clone(),
                            format!("unknown layer kind or block `{block}`"),
                            if known.is_empty() {
                                format!("layer kinds: {}", crate::model::item::LAYER_KEYWORDS)
                            } else {
                                format!("blocks defined: {}", known.join(", "))
                            },
                        )
                    })?;
                    if def.args.len() != call_args.len() {
                        return Err(Error::syntax_hint(
                            item.span.clone(),
                            format!(
                                "block `{block}` takes {} argument(s), got {}",
                                def.args.len(),
                                call_args.len()
                            ),
                            format!(
                                "`{block} {}`",
                                def.args
                                    .iter()
                                    .map(|a| format!("<{a}>"))
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            ),
                        ));
                    }
                    let mut inner = Args::new();
                    for (name, expr) in def.args.iter().zip(call_args) {
                        inner.insert(name.clone(), expr.eval(args)?);
                    }
                    let name = explicit.unwrap_or_else(|| {
                        scope.blocks += 1;
                        format!("block{}", scope.blocks - 1)
                    });
                    let path = scope.claim(name, &item.span)?;
                    let mut block_scope = Scope::new(path, &scope.section);
                    self.depth += 1;
                    if self.depth > MAX_DEPTH {
                        return Err(Error::syntax_hint(
                            block_span.clone(),
                            format!("blocks nest deeper than {MAX_DEPTH} levels at `{block}`"),
                            "a block probably calls itself, directly or through another block",
                        ));
                    }
                    let out = self.block(def, &mut block_scope, shape, &inner);
                    self.depth -= 1;
                    out?
                }
            };
        }
        Ok(shape)
    }

    fn block(
        &mut self,
        def: &Block,
        scope: &mut Scope,
        input: Shape,
        args: &Args,
    ) -> Result<Shape> {
        let Some(merge) = def.merge else {
            let shape = self.items(&def.body, scope, input, args)?;
            return self.items(&def.then, scope, shape, args);
        };
        let mut outputs = Vec::new();
        if !def.body.is_empty() {
            outputs.push(self.items(&def.body, scope, input.clone(), args)?);
        }
        for (i, branch) in def.branches.iter().enumerate() {
            let mut branch_scope = scope.child(&format!("branch{}", i + 1));
            outputs.push(self.items(branch, &mut branch_scope, input.clone(), args)?);
        }
        match def.shortcut {
            None => {}
            Some(Shortcut::Identity) => outputs.push(input.clone()),
            Some(kind @ (Shortcut::Auto | Shortcut::Projection)) => {
                let keeps_shape = outputs.first() == Some(&input);
                if kind == Shortcut::Auto && keeps_shape {
                    outputs.push(input.clone());
                } else {
                    let mut shortcut_scope = scope.child("shortcut");
                    outputs.push(self.items(
                        &def.projection,
                        &mut shortcut_scope,
                        input.clone(),
                        args,
                    )?);
                }
            }
        }
        let word = match merge {
            Merge::Add => "add",
            Merge::Concat => "concat",
        };
        let path = scope.claim(word.to_string(), &def.span)?;
        let shape = self.push(
            path,
            &scope.section,
            Op::Merge { merge },
            false,
            outputs,
            &def.span,
        )?;
        self.items(&def.then, scope, shape, args)
    }

    fn push(
        &mut self,
        path: String,
        section: &str,
        op: Op,
        functional: bool,
        inputs: Vec<Shape>,
        span: &Span,
    ) -> Result<Shape> {
        if self.layers.len() >= MAX_LAYERS {
            return Err(Error::Shape {
                message: format!("the model has more than {MAX_LAYERS} layers (a runaway `*N`?)"),
                layer: path,
                span: Some(span.clone()),
            });
        }
        let cost = op.apply(&inputs).map_err(|message| Error::Shape {
            // Merge messages already list every input shape.
            message: if matches!(op, Op::Merge { .. }) {
                message
            } else {
                format!("{message} (input {})", shape_str(&inputs[0]))
            },
            layer: path.clone(),
            span: Some(span.clone()),
        })?;
        let flops = cost
            .macs
            .checked_mul(2)
            .and_then(|f| f.checked_add(cost.bias_adds))
            .and_then(|f| f.checked_add(cost.elementwise));
        let Some(flops) = flops else {
            return Err(Error::Shape {
                message: "arithmetic overflow: FLOPs exceed 64 bits".into(),
                layer: path,
                span: Some(span.clone()),
            });
        };
        let shape = cost.output.clone();
        if shape.contains(&0) {
            return Err(Error::Shape {
                message: format!("output shape {} has a zero size", shape_str(&shape)),
                layer: path,
                span: Some(span.clone()),
            });
        }
        self.layers.push(Layer {
            path,
            section: section.to_string(),
            op,
            functional,
            inputs,
            cost,
            flops,
            span: span.clone(),
        });
        Ok(shape)
    }
}

fn positive(expr: &Expr, args: &Args, what: &str) -> Result<u64> {
    match expr.eval(args)? {
        0 => Err(Error::syntax(
            expr.span().clone(),
            format!("{what} must be positive"),
        )),
        v => Ok(v),
    }
}

fn pair(
    p: &Option<Pair>,
    default: [u64; 2],
    args: &Args,
    what: &str,
    allow_zero: bool,
) -> Result<[u64; 2]> {
    match p {
        None => Ok(default),
        Some((h, w)) if allow_zero => Ok([h.eval(args)?, w.eval(args)?]),
        Some((h, w)) => Ok([positive(h, args, what)?, positive(w, args, what)?]),
    }
}

/// Evaluates a layer's expressions under `args`; `input` resolves `dw`.
fn evaluate(spec: &LayerSpec, args: &Args, input: &Shape, item: &Item) -> Result<Op> {
    Ok(match spec {
        LayerSpec::Conv {
            out,
            kernel,
            stride,
            padding,
            dilation,
            groups,
            bias,
        } => Op::Conv {
            out: positive(out, args, "output channels")?,
            kernel: pair(&Some(kernel.clone()), [1, 1], args, "kernel size", false)?,
            stride: pair(stride, [1, 1], args, "stride", false)?,
            padding: pair(padding, [0, 0], args, "padding", true)?,
            dilation: pair(dilation, [1, 1], args, "dilation", false)?,
            groups: match groups {
                Groups::Count(g) => positive(g, args, "groups")?,
                Groups::Depthwise => *input.first().ok_or_else(|| {
                    Error::syntax(item.span.clone(), "`dw` needs an input with channels")
                })?,
            },
            bias: *bias,
        },
        LayerSpec::Linear { out, bias } => Op::Linear {
            out: positive(out, args, "output features")?,
            bias: *bias,
        },
        LayerSpec::BatchNorm { affine } => Op::BatchNorm { affine: *affine },
        LayerSpec::Activation { act, params } => Op::Activation {
            act: *act,
            params: match params {
                Some(p) => positive(p, args, "prelu parameters")?,
                None if *act == crate::model::item::Activation::Prelu => 1,
                None => 0,
            },
        },
        LayerSpec::Pool {
            pool,
            kernel,
            stride,
            padding,
            dilation,
            ceil,
        } => {
            let kernel = pair(&Some(kernel.clone()), [1, 1], args, "window size", false)?;
            Op::Pool {
                pool: *pool,
                stride: pair(stride, kernel, args, "stride", false)?,
                padding: pair(padding, [0, 0], args, "padding", true)?,
                dilation: pair(dilation, [1, 1], args, "dilation", false)?,
                kernel,
                ceil: *ceil,
            }
        }
        LayerSpec::Adaptive { pool, size } => Op::Adaptive {
            pool: *pool,
            size: pair(&Some(size.clone()), [1, 1], args, "output size", false)?,
        },
        LayerSpec::GlobalAvgPool => Op::Adaptive {
            pool: crate::model::item::PoolKind::Avg,
            size: [1, 1],
        },
        LayerSpec::Flatten => Op::Flatten,
        LayerSpec::Dropout => Op::Dropout,
    })
}
