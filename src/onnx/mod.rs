//! ONNX graphs as models: read in Rust, mapped onto the same layers as
//! model files, counted by the same analysis.
//!
//! Only dims are needed, so a file whose weights live in an external `.data`
//! file that is absent counts the same as one with its weights inline. Shapes
//! are propagated here, node by node (TorchScript exports record almost none,
//! and ONNX's own inference cannot resolve many), and small integer tensors
//! (a Reshape's target, a Slice's bounds) are evaluated on the way.
//!
//! What becomes a layer: every op with parameters or arithmetic that a model
//! file would write as a layer (Conv, Gemm and MatMul with a weight, norms,
//! activations, pooling, means, merges, and learnable tensors used by Add,
//! Mul or Concat). Data movement (Reshape, Transpose, Gather, Slice ...) only
//! shapes values. A float initializer is a parameter when a layer uses it as
//! a weight, a bias or a learnable tensor; scalars and integer tensors are
//! constants.

pub mod proto;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use prost::Message;

use crate::count::analysis::About;
use crate::count::op::{broadcast, shape_str, Op, Shape};
use crate::count::{Analysis, Layer};
use crate::error::{Error, Result};
use crate::model::file::Merge;
use crate::model::op::{Activation, ParamUse, PoolKind};

/// The opsets of the default domain this importer reads.
pub const OPSETS: std::ops::RangeInclusive<i64> = 13..=20;

/// Files larger than this are refused (protobuf's own limit is 2 GiB).
pub const MAX_FILE: u64 = 2 << 30;

/// Ops the importer understands, for the error that lists them.
pub const SUPPORTED: &[&str] = &[
    "Add",
    "AveragePool",
    "BatchNormalization",
    "Cast",
    "Clip",
    "Concat",
    "Constant",
    "ConstantOfShape",
    "Conv",
    "Div",
    "Dropout",
    "Elu",
    "Equal",
    "Erf",
    "Expand",
    "Flatten",
    "Gather",
    "Gelu",
    "Gemm",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "HardSigmoid",
    "HardSwish",
    "Identity",
    "LayerNormalization",
    "LeakyRelu",
    "MatMul",
    "MaxPool",
    "Mod",
    "Mul",
    "Neg",
    "Pow",
    "PRelu",
    "Range",
    "ReduceMean",
    "Relu",
    "Reshape",
    "Shape",
    "Sigmoid",
    "Slice",
    "Softmax",
    "Split",
    "Sqrt",
    "Squeeze",
    "Sub",
    "Tanh",
    "Transpose",
    "Unsqueeze",
    "Where",
];

/// An imported graph, ready to analyse.
#[derive(Debug, Clone)]
pub struct OnnxModel {
    /// What the analysis says about it.
    pub about: About,
    /// Its input without the batch.
    pub input: Shape,
    /// Its layers.
    pub layers: Vec<Layer>,
    /// Top-level scopes of the node names, in order.
    pub sections: Vec<String>,
}

impl OnnxModel {
    /// The analysis of the graph (its shapes are static, so there is one).
    pub fn analyze(&self) -> Result<Analysis> {
        Analysis::of_layers(
            self.about.clone(),
            self.input.clone(),
            self.layers.clone(),
            self.sections.clone(),
        )
    }
}

/// Reads and imports the ONNX file at `path`, naming its model `id`.
pub fn load(path: &Path, id: &str) -> Result<OnnxModel> {
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io("read", path, e))?
        .len();
    let fail = |message: String| Error::Render {
        message,
        span: None,
        location: Some(path.display().to_string()),
    };
    if size > MAX_FILE {
        return Err(fail(format!(
            "the file is {size} bytes, more than ONNX's 2 GiB limit"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    from_bytes(&bytes, id).map_err(|e| match e {
        Error::Render {
            message,
            location,
            span,
        } => Error::Render {
            message,
            span,
            location: Some(match location {
                Some(at) => format!("{}, {at}", path.display()),
                None => path.display().to_string(),
            }),
        },
        other => other,
    })
}

/// Imports an ONNX model held in memory (what `load` does after reading).
pub fn from_bytes(bytes: &[u8], id: &str) -> Result<OnnxModel> {
    let model = proto::Model::decode(bytes).map_err(|e| Error::Render {
        message: format!(
            "not a readable ONNX model ({e}); the file may be truncated or not ONNX at all"
        ),
        span: None,
        location: None,
    })?;
    import(&model, id)
}

/// A value flowing through the graph.
#[derive(Debug, Clone)]
struct Val<'a> {
    /// Its shape, batch included, as ONNX has it.
    shape: Shape,
    /// Its integers, when they are known without running the model.
    ints: Option<Vec<i64>>,
    /// Its floats, for small constants (Clip bounds).
    floats: Option<Vec<f64>>,
    /// The float initializer it is, or that it was moved from.
    param: Option<&'a str>,
    /// The layer that produced it, if any.
    layer: Option<usize>,
    /// Where its data, in this order, comes from: `Some(Some(i))` layer i
    /// (through reshapes), `Some(None)` the graph's input; `None` unknown.
    from: Option<Option<usize>>,
}

impl<'a> Val<'a> {
    fn shaped(shape: Shape) -> Val<'a> {
        Val {
            shape,
            ints: None,
            floats: None,
            param: None,
            layer: None,
            from: None,
        }
    }

    fn ints(values: Vec<i64>, shape: Shape) -> Val<'a> {
        Val {
            ints: Some(values),
            ..Val::shaped(shape)
        }
    }
}

struct Importer<'a> {
    id: &'a str,
    vals: HashMap<&'a str, Val<'a>>,
    /// Float initializers by name: their dims.
    inits: HashMap<&'a str, Shape>,
    layers: Vec<Layer>,
    sections: Vec<String>,
    section_set: HashSet<String>,
    /// Local layer paths taken.
    paths: HashSet<String>,
    /// Scopes that hold layers, as slices of node names.
    scopes: HashSet<&'a str>,
    /// Index and description of the node being imported.
    /// The node being imported, for messages.
    at: Option<usize>,
    graph: &'a proto::Graph,
}

/// Where a node is, for messages.
fn node_at(index: usize, node: &proto::Node) -> String {
    if node.name.is_empty() {
        format!("node {index} ({})", node.op_type)
    } else {
        format!("node {index} `{}` ({})", node.name, node.op_type)
    }
}

fn import(model: &proto::Model, id: &str) -> Result<OnnxModel> {
    let fail = |message: String| Error::Render {
        message,
        span: None,
        location: Some("graph".into()),
    };
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map_or(1, |o| o.version);
    if !OPSETS.contains(&opset) {
        return Err(fail(format!(
            "opset {opset} is not supported: netledger reads opsets {} to {}; export with opset_version={}",
            OPSETS.start(),
            OPSETS.end(),
            opset.clamp(*OPSETS.start(), *OPSETS.end())
        )));
    }
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| fail("the file holds no graph".into()))?;
    let mut imp = Importer {
        id,
        vals: HashMap::with_capacity(graph.node.len() * 2 + graph.initializer.len()),
        inits: HashMap::with_capacity(graph.initializer.len()),
        layers: Vec::with_capacity(graph.node.len().min(crate::count::elaborate::MAX_LAYERS)),
        sections: Vec::new(),
        section_set: HashSet::new(),
        paths: HashSet::new(),
        scopes: HashSet::new(),
        at: None,
        graph,
    };
    let mut notes = Vec::new();
    for t in &graph.initializer {
        let shape = dims(&t.dims).map_err(|m| fail(format!("initializer `{}`: {m}", t.name)))?;
        let val = match t.data_type {
            proto::INT64 | proto::INT32 => {
                Val::ints(tensor_ints(t).unwrap_or_default(), shape.clone())
            }
            _ => Val {
                floats: tensor_floats(t),
                param: Some(t.name.as_str()),
                ..Val::shaped(shape.clone())
            },
        };
        let val = if val
            .ints
            .as_ref()
            .is_some_and(|v| v.len() as u64 != numel(&shape))
        {
            Val::shaped(shape.clone())
        } else {
            val
        };
        if !matches!(t.data_type, proto::INT64 | proto::INT32) {
            imp.inits.insert(t.name.as_str(), shape);
        }
        imp.vals.insert(t.name.as_str(), val);
    }
    let inputs: Vec<&proto::ValueInfo> = graph
        .input
        .iter()
        .filter(|i| !imp.vals.contains_key(i.name.as_str()))
        .collect();
    let [input] = inputs[..] else {
        return Err(fail(format!(
            "the graph has {} inputs; netledger counts graphs with one input",
            inputs.len()
        )));
    };
    let mut shape = Vec::new();
    let dims_of = input
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .and_then(|t| t.shape.as_ref())
        .ok_or_else(|| fail(format!("input `{}` has no shape", input.name)))?;
    for (i, d) in dims_of.dim.iter().enumerate() {
        match (d.dim_value, &d.dim_param) {
            (Some(v), _) if v > 0 => shape.push(v as u64),
            (_, Some(name)) if i == 0 => {
                notes.push(format!("the batch dimension `{name}` is counted as 1"));
                shape.push(1);
            }
            (_, name) => {
                return Err(fail(format!(
                    "input `{}` has a dynamic size{} at dimension {i} with no static value; export with a fixed input shape (no dynamic_axes or dynamic_shapes)",
                    input.name,
                    name.as_ref().map_or(String::new(), |n| format!(" `{n}`"))
                )))
            }
        }
    }
    if shape.first() != Some(&1) {
        return Err(fail(format!(
            "input `{}` has shape {shape:?}: netledger counts batch 1",
            input.name
        )));
    }
    imp.vals.insert(
        input.name.as_str(),
        Val {
            from: Some(None),
            ..Val::shaped(shape.clone())
        },
    );

    let mut bn_nodes = 0;
    for (index, node) in graph.node.iter().enumerate() {
        imp.at = Some(index);
        if !node.domain.is_empty() && node.domain != "ai.onnx" {
            return Err(imp.fail(format!(
                "operators of domain `{}` are not supported",
                node.domain
            )));
        }
        bn_nodes += usize::from(node.op_type == "BatchNormalization");
        let outputs = imp.node(node)?;
        for (name, val) in node.output.iter().zip(outputs) {
            if !name.is_empty() {
                imp.vals.insert(name.as_str(), val);
            }
        }
    }
    let folded = folded_batch_norms(graph);
    if folded > 0 {
        notes.push(format!(
            "this export folded batch norm into {folded} convolution(s){}, so it holds fewer parameters than the model had (each folded batch norm of C channels loses 2C parameters and its convolution gains a C bias, and the running statistics are gone); to keep BatchNormalization nodes, export with training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False",
            if bn_nodes > 0 {
                format!(" ({bn_nodes} BatchNormalization nodes remain)")
            } else {
                String::new()
            }
        ));
    }
    let name = if graph.name.is_empty() || graph.name == "main_graph" {
        id.to_string()
    } else {
        graph.name.clone()
    };
    Ok(OnnxModel {
        about: About {
            id: id.to_string(),
            name,
            description: format!(
                "Imported from ONNX (opset {opset}{}): {} nodes, {} layers counted.",
                if model.producer_name.is_empty() {
                    String::new()
                } else {
                    format!(", exported by {}", model.producer_name)
                },
                graph.node.len(),
                imp.layers.len()
            ),
            extends: None,
            notes,
        },
        input: shape[1..].to_vec(),
        layers: imp.layers,
        sections: imp.sections,
    })
}

/// Convolutions whose biases carry the names exporters give folded ones:
/// TorchScript's `onnx::Conv_N`, dynamo's `NAME.weight_bias` or `val_N`.
fn folded_batch_norms(graph: &proto::Graph) -> usize {
    graph
        .node
        .iter()
        .filter(|n| n.op_type == "Conv")
        .filter(|n| {
            n.input.get(2).is_some_and(|b| {
                (b.starts_with("onnx::Conv_") || b.ends_with("_bias") || b.starts_with("val_"))
                    && !b.ends_with(".bias")
            })
        })
        .count()
}

fn dims(d: &[i64]) -> std::result::Result<Shape, String> {
    d.iter()
        .map(|&v| u64::try_from(v).map_err(|_| format!("negative dimension {v}")))
        .collect()
}

fn numel(shape: &[u64]) -> u64 {
    shape.iter().fold(1u64, |a, &b| a.saturating_mul(b))
}

fn tensor_ints(t: &proto::Tensor) -> Option<Vec<i64>> {
    if t.data_location == 1 {
        return None;
    }
    if !t.int64_data.is_empty() {
        return Some(t.int64_data.clone());
    }
    if !t.int32_data.is_empty() {
        return Some(t.int32_data.iter().map(|&v| i64::from(v)).collect());
    }
    let width = if t.data_type == proto::INT64 { 8 } else { 4 };
    if !t.raw_data.len().is_multiple_of(width) {
        return None;
    }
    Some(
        t.raw_data
            .chunks_exact(width)
            .map(|c| match width {
                8 => i64::from_le_bytes(c.try_into().unwrap_or([0; 8])),
                _ => i64::from(i32::from_le_bytes(c.try_into().unwrap_or([0; 4]))),
            })
            .collect(),
    )
}

fn tensor_floats(t: &proto::Tensor) -> Option<Vec<f64>> {
    if t.data_location == 1 {
        return None;
    }
    if !t.float_data.is_empty() {
        return Some(t.float_data.iter().map(|&v| f64::from(v)).collect());
    }
    if t.data_type == proto::FLOAT && !t.raw_data.is_empty() && t.raw_data.len().is_multiple_of(4) {
        return Some(
            t.raw_data
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap_or([0; 4]))))
                .collect(),
        );
    }
    None
}

fn attr<'n>(node: &'n proto::Node, name: &str) -> Option<&'n proto::Attribute> {
    node.attribute.iter().find(|a| a.name == name)
}

fn attr_i(node: &proto::Node, name: &str, default: i64) -> i64 {
    attr(node, name).map_or(default, |a| a.i)
}

fn attr_ints(node: &proto::Node, name: &str) -> Option<Vec<i64>> {
    attr(node, name).map(|a| a.ints.clone())
}

/// A shape without its leading batch 1, as layers count.
fn unbatched(shape: &[u64]) -> Shape {
    match shape {
        [1, rest @ ..] if !rest.is_empty() => rest.to_vec(),
        _ => shape.to_vec(),
    }
}

/// A negative axis counted from the end, as ONNX allows.
fn axis(a: i64, rank: usize) -> std::result::Result<usize, String> {
    let r = rank as i64;
    let v = if a < 0 { a + r } else { a };
    if (0..r).contains(&v) {
        Ok(v as usize)
    } else {
        Err(format!("axis {a} is out of range for rank {rank}"))
    }
}

/// `axes` resolved against `rank`, sorted, each once.
fn sorted_axes(axes: &[i64], rank: usize) -> std::result::Result<Vec<usize>, String> {
    let mut at = axes
        .iter()
        .map(|a| axis(*a, rank))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    at.sort_unstable();
    at.dedup();
    Ok(at)
}

fn to_u64(values: &[i64], what: &str) -> std::result::Result<Vec<u64>, String> {
    values
        .iter()
        .map(|&v| u64::try_from(v).map_err(|_| format!("{what} {v} is negative")))
        .collect()
}

/// Symmetric 2-D padding from ONNX's `[top, left, bottom, right]`.
fn pads2(node: &proto::Node) -> std::result::Result<[u64; 2], String> {
    if let Some(a) = attr(node, "auto_pad") {
        if !matches!(&a.s[..], b"" | b"NOTSET" | b"VALID") {
            return Err(format!(
                "auto_pad={} is not supported; torch exports explicit pads",
                String::from_utf8_lossy(&a.s)
            ));
        }
    }
    match attr(node, "pads").map(|a| &a.ints[..]) {
        None | Some([]) => Ok([0, 0]),
        Some([t, l, b, r]) if t == b && l == r => {
            let p = to_u64(&[*t, *l], "padding")?;
            Ok([p[0], p[1]])
        }
        Some(other) => Err(format!(
            "pads {other:?} are not symmetric 2-D padding, which is all a model layer can hold"
        )),
    }
}

fn pair(node: &proto::Node, name: &str, default: u64) -> std::result::Result<[u64; 2], String> {
    match attr(node, name).map(|a| &a.ints[..]) {
        None | Some([]) => Ok([default, default]),
        Some([h, w]) => {
            let v = to_u64(&[*h, *w], name)?;
            Ok([v[0], v[1]])
        }
        Some(other) => Err(format!("{name} {other:?}: only 2-D is supported")),
    }
}

impl<'a> Importer<'a> {
    fn fail(&self, message: String) -> Error {
        Error::Render {
            message,
            span: None,
            location: Some(match self.at {
                Some(i) => node_at(i, &self.graph.node[i]),
                None => "graph".into(),
            }),
        }
    }

    fn val(&self, node: &'a proto::Node, i: usize) -> Result<Val<'a>> {
        self.get(node, i).cloned()
    }

    /// The value of input `i`, borrowed.
    fn get(&self, node: &'a proto::Node, i: usize) -> Result<&Val<'a>> {
        let name = node
            .input
            .get(i)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| self.fail(format!("input {i} is missing")))?;
        self.vals.get(name.as_str()).ok_or_else(|| {
            self.fail(format!(
                "input `{name}` is produced by no earlier node (the graph is not in topological order, or uses a subgraph)"
            ))
        })
    }

    fn opt_val(&self, node: &'a proto::Node, i: usize) -> Option<Val<'a>> {
        node.input
            .get(i)
            .filter(|n| !n.is_empty())
            .and_then(|n| self.vals.get(n.as_str()).cloned())
    }

    /// The layer path of a node: its name's scopes, e.g. `layer1/layer1.0/conv1`.
    fn path(&mut self, node: &'a proto::Node) -> (String, String) {
        let trimmed = node.name.trim_matches('/');
        let op_part = |p: &str| p.split('_').next() == Some(node.op_type.as_str());
        // The module scope: TorchScript names a module's node
        // `/scope/module/Conv`, and the module path is the layer's.
        let (scope, last) = match trimmed.rsplit_once('/') {
            Some((scope, last)) if op_part(last) && !scope.is_empty() => (scope, Some(last)),
            _ => (trimmed, None),
        };
        let lower = |s: &str| s.to_lowercase();
        // A node of a scope's own (`/layer1/layer1.0/Add`, after the
        // scope's layers) keeps its op, in lower case, under the scope.
        let base = match last {
            Some(op) if self.scopes.contains(scope) => format!("{scope}/{}", lower(op)),
            _ if scope.is_empty() => lower(&node.op_type),
            _ if !scope.contains('/') && op_part(scope) => lower(scope),
            _ => scope.to_string(),
        };
        let mut at = 0;
        while let Some(i) = scope[at..].find('/') {
            self.scopes.insert(&scope[..at + i]);
            at += i + 1;
        }
        if last.is_some() {
            self.scopes.insert(scope);
        }
        // Scoped names (TorchScript's) give sections; flat ones (dynamo's) do not.
        let section = match trimmed.split_once('/') {
            Some((first, _)) if !first.is_empty() => first,
            _ => "graph",
        };
        let mut local = base.clone();
        let mut n = 2;
        while self.paths.contains(&local) {
            local = format!("{base}_{n}");
            n += 1;
        }
        let path = format!("{}/{local}", self.id);
        self.paths.insert(local);
        if !self.section_set.contains(section) {
            self.section_set.insert(section.to_string());
            self.sections.push(section.to_string());
        }
        (path, section.to_string())
    }

    /// Where a node's activation inputs come from (the layer that made
    /// each, or `None` for the graph's input), if that is known for all `n`
    /// of them; otherwise nothing (the forward runner then refuses).
    fn sources(&self, node: &'a proto::Node, n: usize) -> Vec<Option<usize>> {
        let activations = node
            .input
            .iter()
            .filter(|name| !name.is_empty())
            .filter_map(|name| self.vals.get(name.as_str()))
            .filter(|v| v.param.is_none() && v.ints.is_none() && v.floats.is_none());
        let known: Option<Vec<Option<usize>>> = activations.map(|v| v.from).collect();
        known.filter(|s| s.len() == n).unwrap_or_default()
    }

    /// Adds a layer and returns its output value (with the batch back on).
    fn layer(
        &mut self,
        node: &'a proto::Node,
        op: Op,
        inputs: Vec<Shape>,
        batched: bool,
    ) -> Result<Val<'a>> {
        if self.layers.len() >= crate::count::elaborate::MAX_LAYERS {
            return Err(self.fail("the graph has more layers than any real network".into()));
        }
        let (path, section) = self.path(node);
        let sources = self.sources(node, inputs.len());
        let mut layer = Layer::new(path, &section, op, false, false, inputs, None)?;
        layer.sources = sources;
        let mut shape = layer.cost.output.clone();
        if batched {
            shape.insert(0, 1);
        }
        self.layers.push(layer);
        Ok(Val {
            layer: Some(self.layers.len() - 1),
            from: Some(Some(self.layers.len() - 1)),
            ..Val::shaped(shape)
        })
    }

    /// A layer on one activation input.
    fn unary(&mut self, node: &'a proto::Node, op: Op) -> Result<Vec<Val<'a>>> {
        let x = self.val(node, 0)?;
        let batched = x.shape.len() > 1 && x.shape[0] == 1;
        Ok(vec![self.layer(
            node,
            op,
            vec![unbatched(&x.shape)],
            batched,
        )?])
    }

    fn weight(&self, node: &'a proto::Node, i: usize, what: &str) -> Result<Shape> {
        let v = self.get(node, i)?;
        match &v.param {
            Some(name) => Ok(self.inits.get(name).unwrap_or(&v.shape).clone()),
            None => Err(self.fail(format!(
                "its {what} is computed, not stored in the file: netledger counts weights that are initializers"
            ))),
        }
    }

    /// Axes given as an attribute (opsets < 13/18) or as input 1 (later).
    fn axes_of(&self, node: &'a proto::Node) -> Option<Vec<i64>> {
        attr_ints(node, "axes").or_else(|| self.opt_val(node, 1).and_then(|v| v.ints))
    }

    fn node(&mut self, node: &'a proto::Node) -> Result<Vec<Val<'a>>> {
        let op = node.op_type.as_str();
        let e = |m: String| self.fail(m);
        match op {
            "Conv" => {
                let w = self.weight(node, 1, "weight")?;
                let [out, _, kh, kw] = w[..] else {
                    return Err(e(format!(
                        "weight of shape {w:?}: only 2-D convolutions are supported"
                    )));
                };
                let conv = Op::Conv {
                    out,
                    kernel: [kh, kw],
                    stride: pair(node, "strides", 1).map_err(e)?,
                    padding: pads2(node).map_err(e)?,
                    dilation: pair(node, "dilations", 1).map_err(e)?,
                    groups: u64::try_from(attr_i(node, "group", 1)).unwrap_or(0),
                    bias: self.opt_val(node, 2).is_some(),
                };
                self.unary(node, conv)
            }
            "Gemm" => {
                let w = self.weight(node, 1, "weight")?;
                if attr_i(node, "transA", 0) != 0 {
                    return Err(e("Gemm with transA=1 is not a linear layer".into()));
                }
                let [a, b] = w[..] else {
                    return Err(e(format!("Gemm weight of shape {w:?}")));
                };
                let out = if attr_i(node, "transB", 0) != 0 { a } else { b };
                let linear = Op::Linear {
                    out,
                    bias: self.opt_val(node, 2).is_some(),
                };
                self.unary(node, linear)
            }
            "MatMul" => {
                let a = self.val(node, 0)?;
                let b = self.val(node, 1)?;
                if b.param.is_some() && b.shape.len() == 2 {
                    let linear = Op::Linear {
                        out: b.shape[1],
                        bias: false,
                    };
                    return self.unary(node, linear);
                }
                if a.param.is_some() || b.param.is_some() {
                    return Err(e("a MatMul with a stored operand that is not a 2-D weight on the right is not supported".into()));
                }
                let batched = a.shape.len() == b.shape.len()
                    && a.shape.first() == Some(&1)
                    && b.shape.first() == Some(&1)
                    && a.shape.len() > 2;
                let (sa, sb) = if batched {
                    (unbatched(&a.shape), unbatched(&b.shape))
                } else {
                    (a.shape.clone(), b.shape.clone())
                };
                let matmul = Op::Merge {
                    merge: Merge::Matmul,
                };
                Ok(vec![self.layer(node, matmul, vec![sa, sb], batched)?])
            }
            "BatchNormalization" => {
                for i in 1..5 {
                    self.weight(node, i, "statistics")?;
                }
                self.unary(node, Op::BatchNorm { affine: true })
                    .map(|mut v| {
                        v.truncate(1);
                        v
                    })
            }
            "LayerNormalization" => {
                let x = self.val(node, 0)?;
                let rank = x.shape.len();
                let at = axis(attr_i(node, "axis", -1), rank).map_err(e)?;
                if at != rank - 1 {
                    return Err(e(format!(
                        "LayerNormalization over axes {at}.. of a rank-{rank} tensor: only the last axis is supported"
                    )));
                }
                let affine = self.opt_val(node, 1).is_some_and(|v| v.param.is_some());
                let bias = self.opt_val(node, 2).is_some_and(|v| v.param.is_some());
                let ln = Op::LayerNorm {
                    channels_first: false,
                    affine,
                    bias,
                };
                self.unary(node, ln).map(|mut v| {
                    v.truncate(1);
                    v
                })
            }
            "Relu" | "Sigmoid" | "Tanh" | "HardSwish" | "HardSigmoid" | "Gelu" | "Softmax"
            | "LeakyRelu" | "Elu" => {
                let act = match op {
                    "Relu" => Activation::Relu,
                    "Sigmoid" => Activation::Sigmoid,
                    "Tanh" => Activation::Tanh,
                    "HardSwish" => Activation::Hardswish,
                    "HardSigmoid" => Activation::Hardsigmoid,
                    "Gelu" => Activation::Gelu,
                    "Softmax" => Activation::Softmax,
                    "LeakyRelu" => Activation::LeakyRelu,
                    _ => Activation::Elu,
                };
                self.unary(node, Op::Activation { act, params: 0 })
            }
            "PRelu" => {
                let slope = self.weight(node, 1, "slope")?;
                let act = Op::Activation {
                    act: Activation::Prelu,
                    params: numel(&slope),
                };
                self.unary(node, act)
            }
            "Clip" => {
                let bound = |i: usize| {
                    self.opt_val(node, i)
                        .and_then(|v| v.floats)
                        .and_then(|f| f.first().copied())
                };
                if bound(1) == Some(0.0) && bound(2) == Some(6.0) {
                    let act = Op::Activation {
                        act: Activation::Relu6,
                        params: 0,
                    };
                    self.unary(node, act)
                } else {
                    Ok(vec![Val::shaped(self.val(node, 0)?.shape)])
                }
            }
            "MaxPool" | "AveragePool" => {
                let kernel = pair(node, "kernel_shape", 1).map_err(e)?;
                let pool = Op::Pool {
                    pool: if op == "MaxPool" {
                        PoolKind::Max
                    } else {
                        PoolKind::Avg
                    },
                    kernel,
                    stride: pair(node, "strides", 1).map_err(e)?,
                    padding: pads2(node).map_err(e)?,
                    dilation: pair(node, "dilations", 1).map_err(e)?,
                    ceil: attr_i(node, "ceil_mode", 0) != 0,
                };
                self.unary(node, pool).map(|mut v| {
                    v.truncate(1);
                    v
                })
            }
            "GlobalAveragePool" | "GlobalMaxPool" => {
                let pool = Op::Adaptive {
                    pool: if op == "GlobalMaxPool" {
                        PoolKind::Max
                    } else {
                        PoolKind::Avg
                    },
                    size: [1, 1],
                };
                self.unary(node, pool)
            }
            "Flatten" => {
                let x = self.val(node, 0)?;
                let at = axis(attr_i(node, "axis", 1), x.shape.len() + 1).map_err(e)?;
                if at == 1 && x.shape.first() == Some(&1) && x.param.is_none() {
                    return self.unary(node, Op::Flatten);
                }
                let shape = vec![numel(&x.shape[..at]), numel(&x.shape[at..])];
                Ok(vec![Val { shape, ..x }])
            }
            "ReduceMean" => {
                let x = self.val(node, 0)?;
                let axes = self.axes_of(node).unwrap_or_default();
                let rank = x.shape.len();
                let mut dims = Vec::new();
                for a in &axes {
                    dims.push(axis(*a, rank).map_err(e)? as u64);
                }
                if dims.is_empty() {
                    dims = (1..rank as u64).collect();
                }
                if dims.contains(&0) || x.shape.first() != Some(&1) {
                    return Err(e("ReduceMean over the batch is not supported".into()));
                }
                let mean = Op::Mean {
                    dims,
                    keepdim: attr_i(node, "keepdims", 1) != 0,
                };
                self.unary(node, mean)
            }
            "Add" | "Mul" => self.arith(node),
            "Concat" => self.concat(node),
            _ => self.data(node),
        }
    }

    /// Add and Mul: a bias on a linear layer, a learnable tensor, a merge of
    /// two activations, or integer arithmetic on shapes.
    fn arith(&mut self, node: &'a proto::Node) -> Result<Vec<Val<'a>>> {
        let a = self.val(node, 0)?;
        let b = self.val(node, 1)?;
        if let (Some(x), Some(y)) = (&a.ints, &b.ints) {
            let f = if node.op_type == "Add" {
                |p: i64, q: i64| p.wrapping_add(q)
            } else {
                |p: i64, q: i64| p.wrapping_mul(q)
            };
            return Ok(vec![
                fold2(x, y, &a.shape, &b.shape, f).map_err(|m| self.fail(m))?
            ]);
        }
        let learned = |v: &Val| v.param.is_some() && numel(&v.shape) > 1;
        let (param, x) = match (learned(&a), learned(&b)) {
            (true, false) => (Some(a.clone()), b.clone()),
            (false, true) => (Some(b.clone()), a.clone()),
            (true, true) => {
                return Err(self.fail("both operands are stored tensors".into()));
            }
            (false, false) => (None, a.clone()),
        };
        if let Some(p) = param {
            let pshape = self
                .inits
                .get(p.param.unwrap_or(""))
                .cloned()
                .unwrap_or(p.shape.clone());
            // MatMul + Add of a vector: the bias of the linear layer.
            if node.op_type == "Add" && pshape.len() == 1 {
                if let Some(i) = x.layer {
                    let l = &self.layers[i];
                    if let Op::Linear { out, bias: false } = l.op {
                        if out == pshape[0] {
                            let old = self.layers[i].clone();
                            self.layers[i] = Layer::new(
                                old.path,
                                &old.section,
                                Op::Linear { out, bias: true },
                                false,
                                false,
                                old.inputs,
                                None,
                            )?;
                            self.layers[i].sources = old.sources;
                            return Ok(vec![x]);
                        }
                    }
                }
            }
            let uses = if node.op_type == "Add" {
                ParamUse::Add
            } else {
                ParamUse::Mul
            };
            let batched = x.shape.len() > 1 && x.shape[0] == 1;
            let op = Op::Param {
                shape: pshape,
                uses,
            };
            return Ok(vec![self.layer(
                node,
                op,
                vec![unbatched(&x.shape)],
                batched,
            )?]);
        }
        let constant = |v: &Val| v.param.is_some() || v.ints.is_some() || v.floats.is_some();
        if constant(&a) || constant(&b) || numel(&a.shape) <= 1 || numel(&b.shape) <= 1 {
            // Arithmetic with a constant (a scale): no layer.
            let shape = broadcast(&a.shape, &b.shape).map_err(|m| self.fail(m))?;
            return Ok(vec![Val::shaped(shape)]);
        }
        let merge = if node.op_type == "Add" {
            Merge::Add
        } else {
            Merge::Mul
        };
        let batched = a.shape.first() == Some(&1)
            && b.shape.first() == Some(&1)
            && a.shape.len() == b.shape.len()
            && a.shape.len() > 1;
        let (sa, sb) = if batched {
            (unbatched(&a.shape), unbatched(&b.shape))
        } else {
            (a.shape, b.shape)
        };
        Ok(vec![self.layer(
            node,
            Op::Merge { merge },
            vec![sa, sb],
            batched,
        )?])
    }

    fn concat(&mut self, node: &'a proto::Node) -> Result<Vec<Val<'a>>> {
        let vals = (0..node.input.len())
            .map(|i| self.val(node, i))
            .collect::<Result<Vec<_>>>()?;
        let first = vals
            .first()
            .ok_or_else(|| self.fail("Concat of nothing".into()))?;
        let rank = first.shape.len();
        let at = axis(attr_i(node, "axis", 0), rank).map_err(|m| self.fail(m))?;
        if vals.iter().all(|v| v.ints.is_some()) {
            let all: Vec<i64> = vals
                .iter()
                .flat_map(|v| v.ints.clone().unwrap_or_default())
                .collect();
            let len = all.len() as u64;
            return Ok(vec![Val::ints(all, vec![len])]);
        }
        let mut shape = first.shape.clone();
        shape[at] = 0;
        for v in &vals {
            if v.shape.len() != rank
                || v.shape
                    .iter()
                    .enumerate()
                    .any(|(i, &n)| i != at && n != first.shape[i])
            {
                return Err(self.fail(format!(
                    "cannot concatenate shapes {:?} on axis {at}",
                    vals.iter().map(|v| &v.shape).collect::<Vec<_>>()
                )));
            }
            shape[at] = shape[at]
                .checked_add(v.shape[at])
                .ok_or_else(|| self.fail("arithmetic overflow in Concat".into()))?;
        }
        let params: Vec<&Val> = vals.iter().filter(|v| v.param.is_some()).collect();
        if let ([p], [a, b]) = (&params[..], &vals[..]) {
            // A learnable tensor prepended to the tokens: a class token.
            let x = if a.param.is_some() { b } else { a };
            let pshape = self
                .inits
                .get(p.param.unwrap_or(""))
                .cloned()
                .unwrap_or(p.shape.clone());
            if at == 1 && x.shape.first() == Some(&1) {
                let op = Op::Param {
                    shape: pshape,
                    uses: ParamUse::Cat,
                };
                return Ok(vec![self.layer(
                    node,
                    op,
                    vec![unbatched(&x.shape)],
                    true,
                )?]);
            }
        }
        if at == 1 && rank == 4 && params.is_empty() && first.shape[0] == 1 {
            let inputs = vals.iter().map(|v| unbatched(&v.shape)).collect();
            let merge = Op::Merge {
                merge: Merge::Concat,
            };
            return Ok(vec![self.layer(node, merge, inputs, true)?]);
        }
        Ok(vec![Val::shaped(shape)])
    }

    /// Ops that only shape values, and integer arithmetic on shapes.
    fn data(&mut self, node: &'a proto::Node) -> Result<Vec<Val<'a>>> {
        let op = node.op_type.as_str();
        let e = |m: String| self.fail(m);
        let keep = |v: Val<'a>, shape: Shape| Val {
            shape,
            ints: None,
            floats: None,
            layer: None,
            from: None,
            ..v
        };
        // A new shape on the same data in the same order (the forward
        // runner can read through it).
        let view = |v: Val<'a>, shape: Shape| Val {
            from: v.from,
            ..keep(v, shape)
        };
        match op {
            "Identity" | "Dropout" | "Cast" => {
                let v = self.val(node, 0)?;
                Ok(vec![Val {
                    layer: v.layer,
                    ..v
                }])
            }
            "Erf" | "Sqrt" | "Neg" | "Pow" | "Sub" | "Div" | "Mod" | "Equal" | "Where" => {
                let vals: Vec<Val> = (0..node.input.len())
                    .filter_map(|i| self.opt_val(node, i))
                    .collect();
                if vals.is_empty() {
                    return Err(e("no inputs".into()));
                }
                let mut shape = vals[0].shape.clone();
                for v in &vals[1..] {
                    shape = broadcast(&shape, &v.shape).map_err(e)?;
                }
                let ints = fold_ints(op, &vals);
                Ok(vec![Val {
                    ints,
                    ..Val::shaped(shape)
                }])
            }
            "Constant" => {
                let a = node
                    .attribute
                    .first()
                    .ok_or_else(|| e("a Constant without a value".into()))?;
                Ok(vec![match a.name.as_str() {
                    "value" => {
                        let t =
                            a.t.as_ref()
                                .ok_or_else(|| e("a Constant without its tensor".into()))?;
                        let shape = dims(&t.dims).map_err(e)?;
                        match t.data_type {
                            proto::INT64 | proto::INT32 => match tensor_ints(t) {
                                Some(v) if v.len() as u64 == numel(&shape) => Val::ints(v, shape),
                                _ => Val::shaped(shape),
                            },
                            _ => Val {
                                floats: tensor_floats(t),
                                ..Val::shaped(shape)
                            },
                        }
                    }
                    "value_int" => Val::ints(vec![a.i], vec![]),
                    "value_ints" => Val::ints(a.ints.clone(), vec![a.ints.len() as u64]),
                    "value_float" => Val {
                        floats: Some(vec![f64::from(a.f)]),
                        ..Val::shaped(vec![])
                    },
                    "value_floats" => Val {
                        floats: Some(a.floats.iter().map(|&f| f64::from(f)).collect()),
                        ..Val::shaped(vec![a.floats.len() as u64])
                    },
                    other => return Err(e(format!("Constant `{other}` is not supported"))),
                }])
            }
            "Shape" => {
                let v = self.val(node, 0)?;
                let rank = v.shape.len() as i64;
                let clamp = |x: i64| if x < 0 { (x + rank).max(0) } else { x.min(rank) } as usize;
                let start = clamp(attr_i(node, "start", 0));
                let end = clamp(attr_i(node, "end", rank)).max(start);
                let ints: Vec<i64> = v.shape[start..end].iter().map(|&n| n as i64).collect();
                let len = ints.len() as u64;
                Ok(vec![Val::ints(ints, vec![len])])
            }
            "ConstantOfShape" => {
                let s = self
                    .val(node, 0)?
                    .ints
                    .ok_or_else(|| e("its shape is not known statically".into()))?;
                let shape = to_u64(&s, "size").map_err(e)?;
                let fill = attr(node, "value")
                    .and_then(|a| a.t.as_ref())
                    .and_then(tensor_ints);
                let n = numel(&shape);
                let ints = match fill {
                    Some(v) if n <= 1 << 16 => {
                        Some(vec![v.first().copied().unwrap_or(0); n as usize])
                    }
                    _ => None,
                };
                Ok(vec![Val {
                    ints,
                    ..Val::shaped(shape)
                }])
            }
            "Range" => {
                let get = |i: usize| {
                    self.opt_val(node, i)
                        .and_then(|v| v.ints)
                        .and_then(|v| v.first().copied())
                };
                let (Some(start), Some(limit), Some(delta)) = (get(0), get(1), get(2)) else {
                    return Err(e("Range bounds are not known statically".into()));
                };
                if delta == 0 {
                    return Err(e("Range with step 0".into()));
                }
                let n = ((limit as f64 - start as f64) / delta as f64)
                    .ceil()
                    .max(0.0) as u64;
                if n > 1 << 20 {
                    return Err(e("Range is too long".into()));
                }
                Ok(vec![Val::ints(
                    (0..n as i64)
                        .map(|i| start.saturating_add(i.saturating_mul(delta)))
                        .collect(),
                    vec![n],
                )])
            }
            "Reshape" => {
                let x = self.val(node, 0)?;
                let target = self
                    .val(node, 1)?
                    .ints
                    .ok_or_else(|| e("its target shape is not known statically".into()))?;
                let allowzero = attr_i(node, "allowzero", 0) != 0;
                let shape = reshape(&x.shape, &target, allowzero).map_err(e)?;
                let ints = x.ints.clone();
                Ok(vec![Val {
                    ints,
                    ..view(x, shape)
                }])
            }
            "Transpose" => {
                let x = self.val(node, 0)?;
                let rank = x.shape.len();
                let perm =
                    attr_ints(node, "perm").unwrap_or_else(|| (0..rank as i64).rev().collect());
                if perm.len() != rank {
                    return Err(e(format!("perm {perm:?} for rank {rank}")));
                }
                let mut shape = Vec::with_capacity(rank);
                for p in &perm {
                    shape.push(x.shape[axis(*p, rank).map_err(e)?]);
                }
                Ok(vec![keep(x, shape)])
            }
            "Unsqueeze" | "Squeeze" => {
                let x = self.val(node, 0)?;
                let axes = self.axes_of(node);
                let mut shape = x.shape.clone();
                if op == "Unsqueeze" {
                    let axes = axes.ok_or_else(|| e("Unsqueeze without axes".into()))?;
                    let at = sorted_axes(&axes, shape.len() + axes.len()).map_err(e)?;
                    for a in at {
                        if a > shape.len() {
                            return Err(e("Unsqueeze axis out of range".into()));
                        }
                        shape.insert(a, 1);
                    }
                } else {
                    match axes {
                        Some(axes) => {
                            let at = sorted_axes(&axes, shape.len()).map_err(e)?;
                            for a in at.into_iter().rev() {
                                if shape[a] != 1 {
                                    return Err(e(format!(
                                        "Squeeze of axis {a}, of size {}",
                                        shape[a]
                                    )));
                                }
                                shape.remove(a);
                            }
                        }
                        None => shape.retain(|&n| n != 1),
                    }
                }
                let ints = x.ints.clone();
                Ok(vec![Val {
                    ints,
                    ..view(x, shape)
                }])
            }
            "Expand" => {
                let x = self.val(node, 0)?;
                let target = self
                    .val(node, 1)?
                    .ints
                    .ok_or_else(|| e("its target shape is not known statically".into()))?;
                let target = to_u64(&target, "size").map_err(e)?;
                let shape = broadcast(&x.shape, &target).map_err(e)?;
                Ok(vec![keep(x, shape)])
            }
            "Gather" => {
                let x = self.val(node, 0)?;
                let idx = self.val(node, 1)?;
                let rank = x.shape.len();
                let at = axis(attr_i(node, "axis", 0), rank).map_err(e)?;
                let mut shape = x.shape[..at].to_vec();
                shape.extend(&idx.shape);
                shape.extend(&x.shape[at + 1..]);
                let ints = match (&x.ints, &idx.ints) {
                    (Some(data), Some(i)) if rank == 1 => i
                        .iter()
                        .map(|&k| {
                            let k = if k < 0 { k + data.len() as i64 } else { k };
                            data.get(k as usize).copied()
                        })
                        .collect(),
                    _ => None,
                };
                Ok(vec![Val {
                    ints,
                    ..Val::shaped(shape)
                }])
            }
            "Slice" => {
                let x = self.val(node, 0)?;
                let get = |i: usize| self.opt_val(node, i).and_then(|v| v.ints);
                let starts =
                    get(1).ok_or_else(|| e("Slice starts are not known statically".into()))?;
                let ends = get(2).ok_or_else(|| e("Slice ends are not known statically".into()))?;
                let rank = x.shape.len();
                let axes = get(3).unwrap_or_else(|| (0..starts.len() as i64).collect());
                let steps = get(4).unwrap_or_else(|| vec![1; starts.len()]);
                let mut shape = x.shape.clone();
                let mut ints = x.ints.clone();
                for (k, a) in axes.iter().enumerate() {
                    let at = axis(*a, rank).map_err(e)?;
                    let n = i128::from(shape[at]);
                    let step = *steps.get(k).unwrap_or(&1);
                    if step == 0 {
                        return Err(e("Slice with step 0".into()));
                    }
                    let (Some(&start), Some(&end)) = (starts.get(k), ends.get(k)) else {
                        return Err(e("Slice has fewer starts or ends than axes".into()));
                    };
                    // i128: hostile bounds near i64's limits cannot overflow.
                    let step = i128::from(step);
                    let fix = |v: i64, lo: i128, hi: i128| {
                        let v = i128::from(v);
                        (if v < 0 { v + n } else { v }).clamp(lo, hi)
                    };
                    let (s, t) = if step > 0 {
                        (fix(start, 0, n), fix(end, 0, n))
                    } else {
                        (fix(start, -1, n - 1), fix(end, -1, n - 1))
                    };
                    let len = if step > 0 {
                        (t - s + step - 1).div_euclid(step)
                    } else {
                        (s - t + (-step) - 1).div_euclid(-step)
                    }
                    .max(0);
                    if let (Some(v), 1) = (&ints, rank) {
                        ints = Some(
                            (0..len.min(v.len() as i128))
                                .filter_map(|i| {
                                    usize::try_from(s + i * step).ok().and_then(|at| v.get(at))
                                })
                                .copied()
                                .collect(),
                        );
                    } else {
                        ints = None;
                    }
                    shape[at] = len as u64;
                }
                Ok(vec![Val {
                    ints,
                    ..keep(x, shape)
                }])
            }
            "Split" => {
                let x = self.val(node, 0)?;
                let rank = x.shape.len();
                let at = axis(attr_i(node, "axis", 0), rank).map_err(e)?;
                let outs = node.output.len() as u64;
                let sizes = match attr_ints(node, "split")
                    .or_else(|| self.opt_val(node, 1).and_then(|v| v.ints))
                {
                    Some(s) => to_u64(&s, "split").map_err(e)?,
                    None => {
                        let n = x.shape[at];
                        let each = n.div_ceil(outs.max(1));
                        (0..outs)
                            .map(|i| each.min(n.saturating_sub(i * each)))
                            .collect()
                    }
                };
                Ok(sizes
                    .into_iter()
                    .map(|s| {
                        let mut shape = x.shape.clone();
                        shape[at] = s;
                        Val::shaped(shape)
                    })
                    .collect())
            }
            other => Err(self.fail(format!(
                "op `{other}` is not supported\n  = hint: supported ops: {}",
                SUPPORTED.join(", ")
            ))),
        }
    }
}

/// Element-wise integer arithmetic with scalar broadcasting.
fn fold2<'a>(
    x: &[i64],
    y: &[i64],
    sx: &[u64],
    sy: &[u64],
    f: fn(i64, i64) -> i64,
) -> std::result::Result<Val<'a>, String> {
    let shape = broadcast(sx, sy)?;
    let ints = match (x.len(), y.len()) {
        (a, b) if a == b => x.iter().zip(y).map(|(&p, &q)| f(p, q)).collect(),
        (1, _) => y.iter().map(|&q| f(x[0], q)).collect(),
        (_, 1) => x.iter().map(|&p| f(p, y[0])).collect(),
        _ => return Ok(Val::shaped(shape)),
    };
    Ok(Val::ints(ints, shape))
}

fn fold_ints(op: &str, vals: &[Val<'_>]) -> Option<Vec<i64>> {
    let ints: Vec<&Vec<i64>> = vals
        .iter()
        .map(|v| v.ints.as_ref())
        .collect::<Option<_>>()?;
    let f: fn(i64, i64) -> i64 = match op {
        "Sub" => |p, q| p.wrapping_sub(q),
        "Div" => |p, q| if q == 0 { 0 } else { p.wrapping_div(q) },
        "Mod" => |p, q| if q == 0 { 0 } else { p.wrapping_rem(q) },
        "Equal" => |p, q| i64::from(p == q),
        "Neg" => return Some(ints[0].iter().map(|v| v.wrapping_neg()).collect()),
        "Where" => {
            let [c, a, b] = ints[..] else { return None };
            let n = c.len().max(a.len()).max(b.len());
            let at = |v: &Vec<i64>, i: usize| {
                if v.len() == 1 {
                    v[0]
                } else {
                    v.get(i).copied().unwrap_or(0)
                }
            };
            return Some(
                (0..n)
                    .map(|i| if at(c, i) != 0 { at(a, i) } else { at(b, i) })
                    .collect(),
            );
        }
        _ => return None,
    };
    let [x, y] = ints[..] else { return None };
    fold2(x, y, &vals[0].shape, &vals[1].shape, f).ok()?.ints
}

/// ONNX Reshape: 0 copies the input's size (unless `allowzero`), -1 is inferred.
fn reshape(input: &[u64], target: &[i64], allowzero: bool) -> std::result::Result<Shape, String> {
    let total = numel(input);
    let mut shape = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            -1 if infer.is_none() => {
                infer = Some(i);
                shape.push(1);
            }
            0 if !allowzero => shape.push(
                *input
                    .get(i)
                    .ok_or("Reshape copies a size the input lacks")?,
            ),
            t if t >= 0 => shape.push(t as u64),
            _ => return Err(format!("Reshape target {target:?} is invalid")),
        }
    }
    if let Some(i) = infer {
        let known = numel(&shape);
        if known == 0 || !total.is_multiple_of(known) {
            return Err(format!("cannot reshape {} to {target:?}", shape_str(input)));
        }
        shape[i] = total / known;
    }
    if numel(&shape) != total {
        return Err(format!("cannot reshape {input:?} to {target:?}"));
    }
    Ok(shape)
}
