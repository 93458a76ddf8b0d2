//! From a [`ModelSpec`] to a flat list of [`Layer`]s with shapes and costs.
//!
//! One walk expands blocks and repeats, evaluates argument expressions and
//! infers shapes together, because a block's `shortcut = "auto"` depends on
//! the shape its body produces. Layer paths name every step:
//! `resnet34/stage3/block0/conv2`, `.../block0/shortcut/conv1`,
//! `.../block0/add`, `inception3a/block0/branch2/conv1`.

use std::collections::{BTreeMap, BTreeSet};

use crate::count::attention;
use crate::count::op::{shape_str, Cost, Op, Shape};
use crate::error::{Error, Result};
use crate::model::expr::{Args, Expr, WithChannels};
use crate::model::file::Shortcut;
use crate::model::item::{CallArg, Item, LayerSpec, What};
use crate::model::op::Field;
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
    /// Runs inside torch's fused attention kernel (invisible to fvcore).
    pub fused: bool,
    /// Input shapes (several for a merge).
    pub inputs: Vec<Shape>,
    /// Where each input comes from: the index of the layer that made it,
    /// or `None` for the model's input. Empty when the dataflow is not
    /// known (imported graphs).
    pub sources: Vec<Option<usize>>,
    /// Output shape, trainable parameters and operation counts.
    pub cost: Cost,
    /// FLOPs: 2 x MACs + bias adds + element-wise operations.
    pub flops: u64,
    /// Where the layer was written (none for an imported graph).
    pub span: Option<Span>,
}

impl Layer {
    /// Counts `op` on `inputs`: the one place a layer gets its cost.
    pub fn new(
        path: String,
        section: &str,
        op: Op,
        functional: bool,
        fused: bool,
        inputs: Vec<Shape>,
        span: Option<Span>,
    ) -> Result<Layer> {
        let fail = |message: String, path: &str| Error::Shape {
            message,
            layer: path.to_string(),
            span: span.clone(),
        };
        let cost = op.apply(&inputs).map_err(|message| {
            // Merge messages already list every input shape.
            let message = match (&op, inputs.first()) {
                (Op::Merge { .. }, _) | (_, None) => message,
                (_, Some(first)) => format!("{message} (input {})", shape_str(first)),
            };
            fail(message, &path)
        })?;
        let flops = cost
            .macs
            .checked_mul(2)
            .and_then(|f| f.checked_add(cost.bias_adds))
            .and_then(|f| f.checked_add(cost.elementwise))
            .ok_or_else(|| fail("arithmetic overflow: FLOPs exceed 64 bits".into(), &path))?;
        if cost.output.contains(&0) {
            return Err(fail(
                format!("output shape {} has a zero size", shape_str(&cost.output)),
                &path,
            ));
        }
        Ok(Layer {
            path,
            section: section.to_string(),
            op,
            functional,
            fused,
            inputs,
            sources: Vec::new(),
            cost,
            flops,
            span,
        })
    }
}

/// A tensor on its way through the walk: its shape and the layer that made
/// it (`None`: the model's input).
#[derive(Debug, Clone, PartialEq)]
struct Value {
    shape: Shape,
    from: Option<usize>,
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
    let mut value = Value {
        shape: input.to_vec(),
        from: None,
    };
    for section in &spec.sections {
        let mut scope = Scope::new(format!("{}/{}", spec.id, section.name), &section.name);
        value = walk.items(&section.items, &mut scope, value, &Env::default())?;
    }
    Ok(walk.layers)
}

/// How a layer is called, for the tools that count by module hooks or ops.
#[derive(Debug, Clone, Copy)]
struct Flags {
    functional: bool,
    fused: bool,
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

fn counter_word(op: &Op) -> &'static str {
    match op {
        Op::Linear { .. } => "fc",
        Op::Pool { .. } | Op::Adaptive { .. } => "pool",
        Op::Attention { .. } => "attn",
        _ => op.name(),
    }
}

/// What is in scope inside a block: numbers and layers passed as arguments.
#[derive(Clone, Default)]
struct Env {
    nums: Args,
    layers: BTreeMap<String, Item>,
}

impl Walk<'_> {
    fn items(
        &mut self,
        items: &[Item],
        scope: &mut Scope,
        mut value: Value,
        env: &Env,
    ) -> Result<Value> {
        for item in items {
            value = self.item(item, scope, value, env)?;
        }
        Ok(value)
    }

    fn item(
        &mut self,
        item: &Item,
        scope: &mut Scope,
        mut value: Value,
        env: &Env,
    ) -> Result<Value> {
        let repeat = match &item.repeat {
            Some(e) => e.eval(&env.nums)?,
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
            value = match &item.what {
                What::Layer(spec) => self.layer(
                    spec,
                    explicit,
                    item.functional,
                    scope,
                    value,
                    env,
                    &item.span,
                )?,
                What::Arg { name } => {
                    let Some(passed) = env.layers.get(name) else {
                        return Err(Error::syntax_hint(
                            item.span.clone(),
                            format!("`${name}` is not a layer argument here"),
                            "pass a layer kind word, such as `relu` or `bn`, or a block name for it in the block call",
                        ));
                    };
                    // The passed layer or block, named and flagged as written here.
                    let mut inner = passed.clone();
                    inner.name = explicit.or(inner.name);
                    inner.repeat = None;
                    inner.functional |= item.functional;
                    self.item(&inner, scope, value, &Env::default())?
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
                                format!("layer kinds: {}", crate::model::item::keyword_list())
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
                    let mut inner = Env::default();
                    for (name, arg) in def.args.iter().zip(call_args) {
                        match arg {
                            CallArg::Layer(layer) => {
                                inner.layers.insert(name.clone(), (**layer).clone());
                            }
                            CallArg::Num(expr) => {
                                match expr.as_var().and_then(|v| env.layers.get(v)) {
                                    Some(layer) => {
                                        inner.layers.insert(name.clone(), layer.clone());
                                    }
                                    None => {
                                        inner.nums.insert(name.clone(), expr.eval(&env.nums)?);
                                    }
                                }
                            }
                        }
                    }
                    // The block's input: `$in_c $in_h $in_w` for CxHxW, and
                    // `$in_last` for the features of tokens or channels-last maps.
                    for (key, at) in ["in_c", "in_h", "in_w"].into_iter().zip(&value.shape) {
                        inner.nums.entry(key.to_string()).or_insert(*at);
                    }
                    if let Some(last) = value.shape.last() {
                        inner.nums.entry("in_last".to_string()).or_insert(*last);
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
                    let out = self.block(def, &mut block_scope, value, &inner);
                    self.depth -= 1;
                    out?
                }
            };
        }
        Ok(value)
    }

    /// Evaluates one layer at `shape` and pushes it (or its parts).
    #[allow(clippy::too_many_arguments)]
    fn layer(
        &mut self,
        spec: &LayerSpec,
        explicit: Option<String>,
        functional: bool,
        scope: &mut Scope,
        value: Value,
        env: &Env,
        span: &Span,
    ) -> Result<Value> {
        let shape = &value.shape;
        let nums = WithChannels(&env.nums, shape.first().copied().unwrap_or(0));
        let op = spec.try_map(&mut |e: &Expr, field: Field| {
            let v = e.eval(&nums)?;
            if v == 0 && !field.zero_ok {
                return Err(Error::syntax(
                    e.span().clone(),
                    format!("{} must be positive", field.what),
                ));
            }
            Ok(v)
        })?;
        let name = explicit.unwrap_or_else(|| scope.auto_name(counter_word(&op)));
        let path = scope.claim(name, span)?;
        if let Op::Attention {
            heads,
            window,
            bias,
        } = op
        {
            let (parts, output) =
                attention::parts(heads, window, bias, shape).map_err(|message| Error::Shape {
                    message: format!("{message} (input {})", shape_str(shape)),
                    layer: path.clone(),
                    span: Some(span.clone()),
                })?;
            // The parts' own dataflow is not recorded: they all read the
            // attention's input, and the last one stands for its output.
            let mut from = value.from;
            for part in parts {
                let inputs = part
                    .inputs
                    .into_iter()
                    .map(|shape| Value {
                        shape,
                        from: value.from,
                    })
                    .collect();
                from = self
                    .push(
                        format!("{path}/{}", part.name),
                        &scope.section,
                        part.op,
                        Flags {
                            functional,
                            fused: part.fused,
                        },
                        inputs,
                        span,
                    )?
                    .from;
            }
            return Ok(Value {
                shape: output,
                from,
            });
        }
        let flags = Flags {
            functional,
            fused: false,
        };
        self.push(path, &scope.section, op, flags, vec![value], span)
    }

    fn block(&mut self, def: &Block, scope: &mut Scope, input: Value, env: &Env) -> Result<Value> {
        let Some(merge) = def.merge else {
            let shape = self.items(&def.body, scope, input, env)?;
            return self.items(&def.then, scope, shape, env);
        };
        let mut outputs = Vec::new();
        if !def.body.is_empty() {
            outputs.push(self.items(&def.body, scope, input.clone(), env)?);
        }
        for (i, branch) in def.branches.iter().enumerate() {
            let mut branch_scope = scope.child(&format!("branch{}", i + 1));
            outputs.push(self.items(branch, &mut branch_scope, input.clone(), env)?);
        }
        let keeps_shape = outputs.first().map(|v: &Value| &v.shape) == Some(&input.shape);
        match def.shortcut {
            None => {}
            Some(Shortcut::Identity) => outputs.push(input.clone()),
            Some(Shortcut::Auto | Shortcut::Pad) if keeps_shape => outputs.push(input.clone()),
            Some(Shortcut::Pad) => {
                let body = outputs.first().map(|v| v.shape.clone()).unwrap_or_default();
                let (Some(&channels), Some(&h), Some(&out_h)) =
                    (body.first(), input.shape.get(1), body.get(1))
                else {
                    return Err(Error::Shape {
                        message: "a zero-padding shortcut needs CxHxW paths".into(),
                        layer: scope.prefix.clone(),
                        span: Some(def.span.clone()),
                    });
                };
                let mut shortcut_scope = scope.child("shortcut");
                let path = shortcut_scope.claim("pad".into(), &def.span)?;
                let op = Op::ZeroPad {
                    channels,
                    stride: h.div_ceil(out_h.max(1)),
                };
                let flags = Flags {
                    functional: true,
                    fused: false,
                };
                outputs.push(self.push(
                    path,
                    &scope.section,
                    op,
                    flags,
                    vec![input.clone()],
                    &def.span,
                )?);
            }
            Some(Shortcut::Auto | Shortcut::Projection) => {
                let mut shortcut_scope = scope.child("shortcut");
                outputs.push(self.items(
                    &def.projection,
                    &mut shortcut_scope,
                    input.clone(),
                    env,
                )?);
            }
        }
        let path = scope.claim(merge.word().to_string(), &def.span)?;
        let flags = Flags {
            functional: false,
            fused: false,
        };
        let shape = self.push(
            path,
            &scope.section,
            Op::Merge { merge },
            flags,
            outputs,
            &def.span,
        )?;
        self.items(&def.then, scope, shape, env)
    }

    fn push(
        &mut self,
        path: String,
        section: &str,
        op: Op,
        flags: Flags,
        inputs: Vec<Value>,
        span: &Span,
    ) -> Result<Value> {
        if self.layers.len() >= MAX_LAYERS {
            return Err(Error::Shape {
                message: format!("the model has more than {MAX_LAYERS} layers (a runaway `*N`?)"),
                layer: path,
                span: Some(span.clone()),
            });
        }
        let (shapes, sources) = inputs.into_iter().map(|v| (v.shape, v.from)).unzip();
        let mut layer = Layer::new(
            path,
            section,
            op,
            flags.functional,
            flags.fused,
            shapes,
            Some(span.clone()),
        )?;
        layer.sources = sources;
        let shape = layer.cost.output.clone();
        self.layers.push(layer);
        Ok(Value {
            shape,
            from: Some(self.layers.len() - 1),
        })
    }
}
