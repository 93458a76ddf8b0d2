//! Evaluated layers and their formulas: output shape, parameters, MACs.
//!
//! Shapes exclude the batch dimension (batch is 1 throughout) and follow
//! PyTorch: floor division, `ceil_mode`, dilation, adaptive bins,
//! broadcasting. Every product is checked; an overflow is an error, never a
//! wrap. The layer description itself, [`Op`], lives in `model::op`.

use serde::Serialize;

use crate::model::file::Merge;
pub use crate::model::op::Op;
use crate::model::op::{ParamUse, PoolKind};

/// A tensor shape without the batch dimension, e.g. `[64, 56, 56]`.
pub type Shape = Vec<u64>;

/// The kinds reports aggregate by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Convolutions.
    Conv,
    /// Fully connected layers (attention projections included).
    Linear,
    /// Normalisation layers.
    Norm,
    /// Standalone learnable tensors: class tokens, position embeddings,
    /// layer scales, relative-position tables.
    Tensor,
    /// Products of two activations (attention scores and mixing).
    Matmul,
    /// Activations, pooling, merges, reshapes.
    Other,
}

impl Kind {
    /// All kinds in report order.
    pub const ALL: [Kind; 6] = [
        Kind::Conv,
        Kind::Linear,
        Kind::Norm,
        Kind::Tensor,
        Kind::Matmul,
        Kind::Other,
    ];

    /// The kind's name as used in tables and page functions.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Conv => "conv",
            Kind::Linear => "linear",
            Kind::Norm => "norm",
            Kind::Tensor => "tensor",
            Kind::Matmul => "matmul",
            Kind::Other => "other",
        }
    }
}

/// What a layer costs and produces, for one set of input shapes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cost {
    /// Output shape.
    pub output: Shape,
    /// Trainable weights (conv/linear kernels, norm scales, PReLU slopes,
    /// standalone tensors).
    pub weight: u64,
    /// Trainable biases (conv/linear bias, norm shift).
    pub bias: u64,
    /// Non-trainable state (BN running mean, var, batch counter; index tables).
    pub buffers: u64,
    /// Multiply-accumulates of conv, linear and matmul layers, bias excluded.
    pub macs: u64,
    /// One add per output element for a bias.
    pub bias_adds: u64,
    /// Other element-wise operations (norms, activations, pooling, adds).
    pub elementwise: u64,
}

/// Product of all values, or an overflow message.
pub fn product(values: &[u64]) -> Result<u64, String> {
    values.iter().try_fold(1u64, |acc, &v| {
        acc.checked_mul(v).ok_or_else(|| {
            format!("arithmetic overflow: the product of {values:?} exceeds 64 bits")
        })
    })
}

/// Formats a shape as PyTorch prints it with batch 1: `1x64x56x56`.
pub fn shape_str(shape: &[u64]) -> String {
    std::iter::once("1".to_string())
        .chain(shape.iter().map(u64::to_string))
        .collect::<Vec<_>>()
        .join("x")
}

/// Every name [`Op::name`] gives a layer: the layer keywords, the merges
/// and the parts that only blocks and attention produce.
pub fn op_names() -> Vec<&'static str> {
    let merges = [Merge::Add, Merge::Concat, Merge::Mul, Merge::Matmul].map(Merge::word);
    crate::model::item::KEYWORDS
        .iter()
        .map(|k| k.word)
        .filter(|w| *w != "mha")
        .chain(merges)
        .chain(["bias", "pad"])
        .collect()
}

fn mul(a: u64, b: u64) -> Result<u64, String> {
    product(&[a, b])
}

impl Op {
    /// The kind this layer is aggregated under.
    pub fn kind(&self) -> Kind {
        match self {
            Op::Conv { .. } => Kind::Conv,
            Op::Linear { .. } => Kind::Linear,
            Op::BatchNorm { .. } | Op::LayerNorm { .. } => Kind::Norm,
            Op::Param { .. } | Op::RelativeBias { .. } => Kind::Tensor,
            Op::Merge {
                merge: Merge::Matmul,
            } => Kind::Matmul,
            Op::Activation { .. }
            | Op::Pool { .. }
            | Op::Adaptive { .. }
            | Op::Mean { .. }
            | Op::Flatten
            | Op::Dropout
            | Op::Identity
            | Op::Permute { .. }
            | Op::Reshape { .. }
            | Op::Tokens
            | Op::Select { .. }
            | Op::Chunk { .. }
            | Op::Shuffle { .. }
            | Op::Attention { .. }
            | Op::PatchMerge
            | Op::Merge { .. }
            | Op::ZeroPad { .. } => Kind::Other,
        }
    }

    /// A short name of the operation, e.g. `conv`, `maxpool`, `add`.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Conv { .. } => "conv",
            Op::Linear { .. } => "linear",
            Op::BatchNorm { .. } => "bn",
            Op::LayerNorm {
                channels_first: false,
                ..
            } => "layernorm",
            Op::LayerNorm {
                channels_first: true,
                ..
            } => "layernorm2d",
            Op::Activation { act, .. } => act.keyword(),
            Op::Pool {
                pool: PoolKind::Max,
                ..
            } => "maxpool",
            Op::Pool {
                pool: PoolKind::Avg,
                ..
            } => "avgpool",
            Op::Adaptive {
                pool: PoolKind::Avg,
                size: [1, 1],
            } => "gap",
            Op::Adaptive {
                pool: PoolKind::Avg,
                ..
            } => "adaptiveavgpool",
            Op::Adaptive {
                pool: PoolKind::Max,
                ..
            } => "adaptivemaxpool",
            Op::Mean { .. } => "mean",
            Op::Flatten => "flatten",
            Op::Dropout => "dropout",
            Op::Identity => "identity",
            Op::Permute { .. } => "permute",
            Op::Reshape { .. } => "reshape",
            Op::Tokens => "tokens",
            Op::Select { .. } => "select",
            Op::Chunk { .. } => "chunk",
            Op::Shuffle { .. } => "shuffle",
            Op::Param { .. } => "param",
            Op::Attention { .. } => "mha",
            Op::PatchMerge => "patchmerge",
            Op::Merge { merge } => merge.word(),
            Op::RelativeBias { .. } => "bias",
            Op::ZeroPad { .. } => "pad",
        }
    }

    /// Output shape and costs for these inputs; `Err` explains the mismatch.
    pub fn apply(&self, inputs: &[Shape]) -> Result<Cost, String> {
        if let Op::Merge { merge } = self {
            return merge_cost(*merge, inputs);
        }
        let [input] = inputs else {
            return Err(format!("expects one input, got {}", inputs.len()));
        };
        if input.is_empty() {
            return Err("needs a tensor with at least one dimension besides the batch".into());
        }
        let in_elems = product(input)?;
        let same = |elementwise: u64| Cost {
            output: input.clone(),
            elementwise,
            ..Cost::default()
        };
        let reshaped = |output: Shape| Cost {
            output,
            ..Cost::default()
        };
        match self {
            Op::Conv {
                out,
                kernel,
                stride,
                padding,
                dilation,
                groups,
                bias,
            } => {
                let [cin, h, w] = image(input, "conv")?;
                if *groups == 0 || cin % groups != 0 || out % groups != 0 {
                    return Err(format!(
                        "groups={groups} must divide both input channels ({cin}) and output channels ({out})"
                    ));
                }
                let ho = window_out(
                    h,
                    kernel[0],
                    stride[0],
                    padding[0],
                    dilation[0],
                    false,
                    "height",
                )?;
                let wo = window_out(
                    w,
                    kernel[1],
                    stride[1],
                    padding[1],
                    dilation[1],
                    false,
                    "width",
                )?;
                let per_out = product(&[cin / groups, kernel[0], kernel[1]])?;
                let out_elems = product(&[*out, ho, wo])?;
                Ok(Cost {
                    output: vec![*out, ho, wo],
                    weight: product(&[*out, per_out])?,
                    bias: if *bias { *out } else { 0 },
                    macs: product(&[out_elems, per_out])?,
                    bias_adds: if *bias { out_elems } else { 0 },
                    ..Cost::default()
                })
            }
            Op::Linear { out, bias } => {
                let (&features, lead) = input.split_last().ok_or("linear needs an input")?;
                let rows = product(lead)?;
                let mut output = lead.to_vec();
                output.push(*out);
                Ok(Cost {
                    output,
                    weight: product(&[features, *out])?,
                    bias: if *bias { *out } else { 0 },
                    macs: product(&[rows, features, *out])?,
                    bias_adds: if *bias { product(&[rows, *out])? } else { 0 },
                    ..Cost::default()
                })
            }
            Op::BatchNorm { affine } => {
                let c = input[0];
                Ok(Cost {
                    weight: if *affine { c } else { 0 },
                    bias: if *affine { c } else { 0 },
                    buffers: product(&[2, c])? + 1,
                    ..same(mul(2, in_elems)?)
                })
            }
            Op::LayerNorm {
                channels_first,
                affine,
                bias,
            } => {
                let c = if *channels_first {
                    image(input, "layernorm2d")?[0]
                } else {
                    *input.last().ok_or("layernorm needs an input")?
                };
                Ok(Cost {
                    weight: if *affine { c } else { 0 },
                    bias: if *bias { c } else { 0 },
                    ..same(mul(if *affine { 5 } else { 4 }, in_elems)?)
                })
            }
            Op::Activation { params, .. } => {
                if *params > 1 && *params != input[0] {
                    return Err(format!(
                        "prelu with {params} parameters needs {params} channels, the input has {}",
                        input[0]
                    ));
                }
                Ok(Cost {
                    weight: *params,
                    ..same(in_elems)
                })
            }
            Op::Pool {
                pool,
                kernel,
                stride,
                padding,
                dilation,
                ceil,
            } => {
                let [c, h, w] = image(input, pool_name(*pool))?;
                for (i, axis) in ["height", "width"].iter().enumerate() {
                    let effective = dilation[i]
                        .checked_mul(kernel[i].max(1) - 1)
                        .and_then(|e| e.checked_add(1))
                        .ok_or_else(|| format!("arithmetic overflow in the window {axis}"))?;
                    if padding[i].checked_mul(2).is_none_or(|p| p > effective) {
                        return Err(format!(
                            "padding {} on the {axis} must be at most half the window ({effective})",
                            padding[i]
                        ));
                    }
                }
                let ho = window_out(
                    h,
                    kernel[0],
                    stride[0],
                    padding[0],
                    dilation[0],
                    *ceil,
                    "height",
                )?;
                let wo = window_out(
                    w,
                    kernel[1],
                    stride[1],
                    padding[1],
                    dilation[1],
                    *ceil,
                    "width",
                )?;
                let out_elems = product(&[c, ho, wo])?;
                Ok(Cost {
                    output: vec![c, ho, wo],
                    elementwise: product(&[out_elems, kernel[0], kernel[1]])?,
                    ..Cost::default()
                })
            }
            Op::Adaptive { pool, size } => {
                let [c, h, w] = image(input, pool_name(*pool))?;
                if size[0] == 0 || size[1] == 0 {
                    return Err("adaptive pooling needs an output size of at least 1x1".into());
                }
                let window = product(&[bins_total(h, size[0])?, bins_total(w, size[1])?])?;
                Ok(Cost {
                    output: vec![c, size[0], size[1]],
                    elementwise: product(&[c, window])?,
                    ..Cost::default()
                })
            }
            Op::Mean { dims, keepdim } => {
                let mut reduced = vec![false; input.len()];
                for &d in dims {
                    let at = axis(d, input.len())?;
                    if reduced[at] {
                        return Err(format!("mean reduces dimension {d} twice"));
                    }
                    reduced[at] = true;
                }
                let output = input
                    .iter()
                    .zip(&reduced)
                    .filter_map(|(&n, &r)| match (r, keepdim) {
                        (false, _) => Some(n),
                        (true, true) => Some(1),
                        (true, false) => None,
                    })
                    .collect();
                Ok(Cost {
                    output,
                    elementwise: in_elems,
                    ..Cost::default()
                })
            }
            Op::Flatten => Ok(reshaped(vec![in_elems])),
            Op::Dropout | Op::Identity | Op::Shuffle { groups: 1 } => Ok(same(0)),
            Op::Shuffle { groups } => {
                if input[0] % groups != 0 {
                    return Err(format!(
                        "channel shuffle in {groups} groups needs a multiple of {groups} channels, the input has {}",
                        input[0]
                    ));
                }
                Ok(same(0))
            }
            Op::Permute { dims } => {
                if dims.len() != input.len() + 1 || dims.first() != Some(&0) {
                    return Err(format!(
                        "permute takes {} dimensions in torch's numbering, starting with the batch, 0 (e.g. `permute 0 2 3 1`)",
                        input.len() + 1
                    ));
                }
                let mut seen = vec![false; input.len()];
                let mut output = Vec::with_capacity(input.len());
                for &d in &dims[1..] {
                    let at = axis(d, input.len())?;
                    if seen[at] {
                        return Err(format!("permute names dimension {d} twice"));
                    }
                    seen[at] = true;
                    output.push(input[at]);
                }
                Ok(reshaped(output))
            }
            Op::Reshape { dims } => {
                if product(dims)? != in_elems {
                    return Err(format!(
                        "cannot reshape {} ({in_elems} elements) to {}",
                        shape_str(input),
                        shape_str(dims)
                    ));
                }
                Ok(reshaped(dims.clone()))
            }
            Op::Tokens => {
                let [c, h, w] = image(input, "tokens")?;
                Ok(reshaped(vec![mul(h, w)?, c]))
            }
            Op::Select { index } => {
                let (&n, rest) = input.split_first().ok_or("select needs an input")?;
                if *index >= n || rest.is_empty() {
                    return Err(format!(
                        "select {index} needs a first dimension larger than {index} and a second one"
                    ));
                }
                Ok(reshaped(rest.to_vec()))
            }
            Op::Chunk { chunks, index } => {
                // torch.chunk: pieces of ceil(C / chunks), the last one smaller.
                let c = input[0];
                let size = c.div_ceil(*chunks);
                let start = mul(*index, size)?;
                if start >= c {
                    return Err(format!(
                        "{c} channels make {} chunk(s) of {size}: there is no chunk {index}",
                        c.div_ceil(size)
                    ));
                }
                let mut output = input.clone();
                output[0] = size.min(c - start);
                Ok(reshaped(output))
            }
            Op::Param { shape, uses } => {
                let count = product(shape)?;
                let output = match uses {
                    ParamUse::Held => input.clone(),
                    ParamUse::Add | ParamUse::Mul => {
                        let batched: Shape =
                            std::iter::once(1).chain(input.iter().copied()).collect();
                        let out = broadcast(&batched, shape)?;
                        if out[0] != 1 {
                            return Err(format!(
                                "a parameter of shape {shape:?} would add a batch dimension"
                            ));
                        }
                        out[1..].to_vec()
                    }
                    ParamUse::Cat => {
                        let lead = shape.len().saturating_sub(input.len());
                        if shape[..lead].iter().any(|&n| n != 1)
                            || shape.len() < input.len()
                            || shape[lead + 1..] != input[1..]
                        {
                            return Err(format!(
                                "a parameter of shape {shape:?} cannot be prepended to {}: all but its first dimension must match",
                                shape_str(input)
                            ));
                        }
                        let mut out = input.clone();
                        out[0] = out[0]
                            .checked_add(shape[lead])
                            .ok_or("arithmetic overflow")?;
                        out
                    }
                };
                let elementwise = match uses {
                    ParamUse::Add | ParamUse::Mul => product(&output)?,
                    ParamUse::Held | ParamUse::Cat => 0,
                };
                Ok(Cost {
                    output,
                    weight: count,
                    elementwise,
                    ..Cost::default()
                })
            }
            Op::RelativeBias { window, heads } => {
                let side = mul(2, *window)? - 1;
                let n = mul(*window, *window)?;
                Ok(Cost {
                    weight: product(&[side, side, *heads])?,
                    buffers: mul(n, n)?,
                    ..same(in_elems)
                })
            }
            Op::PatchMerge => {
                let [h, w, c] = match input[..] {
                    [h, w, c] => [h, w, c],
                    _ => {
                        return Err(format!(
                            "patchmerge needs an HxWxC input, got {}",
                            shape_str(input)
                        ))
                    }
                };
                Ok(reshaped(vec![h.div_ceil(2), w.div_ceil(2), mul(4, c)?]))
            }
            Op::ZeroPad { channels, stride } => {
                let [c, h, w] = image(input, "a zero-padding shortcut")?;
                if *channels < c {
                    return Err(format!(
                        "a zero-padding shortcut cannot shrink {c} channels to {channels}"
                    ));
                }
                Ok(reshaped(vec![
                    *channels,
                    h.div_ceil(*stride),
                    w.div_ceil(*stride),
                ]))
            }
            Op::Attention { .. } => {
                Err("attention is counted through its parts (internal error)".into())
            }
            Op::Merge { .. } => unreachable!("handled above"),
        }
    }
}

/// A dimension in torch's numbering (the batch is 0) as an index into a
/// shape without the batch.
fn axis(dim: u64, rank: usize) -> Result<usize, String> {
    match usize::try_from(dim) {
        Ok(d) if d >= 1 && d <= rank => Ok(d - 1),
        _ => Err(format!(
            "dimension {dim} is not one of 1..={rank} (torch's numbering: the batch is 0)"
        )),
    }
}

/// numpy/torch broadcasting of two shapes, aligned at the right.
pub fn broadcast(a: &[u64], b: &[u64]) -> Result<Shape, String> {
    let rank = a.len().max(b.len());
    let at = |s: &[u64], i: usize| {
        let pad = rank - s.len();
        if i < pad {
            1
        } else {
            s[i - pad]
        }
    };
    (0..rank)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            (x, y) => Err(format!(
                "shapes {a:?} and {b:?} do not broadcast ({x} against {y})"
            )),
        })
        .collect()
}

fn merge_cost(merge: Merge, inputs: &[Shape]) -> Result<Cost, String> {
    let list = || {
        inputs
            .iter()
            .map(|s| shape_str(s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let first = inputs.first().ok_or("a merge needs inputs")?;
    if inputs.iter().any(Vec::is_empty) {
        return Err("a merge needs tensors with at least one dimension besides the batch".into());
    }
    match merge {
        Merge::Add | Merge::Mul => {
            let mut output = first.clone();
            for s in &inputs[1..] {
                output = broadcast(&output, s).map_err(|_| {
                    format!(
                        "cannot {} tensors of different shapes: {} (they do not broadcast)",
                        if merge == Merge::Add {
                            "add"
                        } else {
                            "multiply"
                        },
                        list()
                    )
                })?;
            }
            let elems = product(&output)?;
            Ok(Cost {
                output,
                elementwise: product(&[elems, inputs.len() as u64 - 1])?,
                ..Cost::default()
            })
        }
        Merge::Concat => {
            if inputs
                .iter()
                .any(|s| s.len() != first.len() || s[1..] != first[1..])
            {
                return Err(format!(
                    "cannot concatenate along channels: sizes other than the channels differ: {}",
                    list()
                ));
            }
            let mut output = first.clone();
            output[0] = inputs
                .iter()
                .try_fold(0u64, |acc, s| acc.checked_add(s[0]))
                .ok_or("arithmetic overflow adding channels")?;
            Ok(Cost {
                output,
                ..Cost::default()
            })
        }
        Merge::Matmul => {
            let [a, b] = inputs else {
                return Err(format!(
                    "a matrix product takes two inputs, got {}",
                    inputs.len()
                ));
            };
            if a.len() < 2 || b.len() < 2 || a[a.len() - 1] != b[b.len() - 2] {
                return Err(format!(
                    "cannot multiply {} by {}: the inner sizes differ",
                    shape_str(a),
                    shape_str(b)
                ));
            }
            let (m, k, n) = (a[a.len() - 2], a[a.len() - 1], b[b.len() - 1]);
            let mut output = broadcast(&a[..a.len() - 2], &b[..b.len() - 2])?;
            let batch = product(&output)?;
            output.extend([m, n]);
            Ok(Cost {
                output,
                macs: product(&[batch, m, k, n])?,
                ..Cost::default()
            })
        }
    }
}

fn pool_name(pool: PoolKind) -> &'static str {
    match pool {
        PoolKind::Max => "max pooling",
        PoolKind::Avg => "average pooling",
    }
}

fn image(input: &[u64], what: &str) -> Result<[u64; 3], String> {
    match input {
        [c, h, w] => Ok([*c, *h, *w]),
        _ => Err(format!(
            "{what} needs a CxHxW input, got {} (rank {})",
            shape_str(input),
            input.len() + 1
        )),
    }
}

/// Output length of a sliding window, as PyTorch computes it.
fn window_out(
    len: u64,
    kernel: u64,
    stride: u64,
    padding: u64,
    dilation: u64,
    ceil: bool,
    axis: &str,
) -> Result<u64, String> {
    if kernel == 0 || stride == 0 || dilation == 0 {
        return Err(format!(
            "kernel, stride and dilation must be positive (on the {axis})"
        ));
    }
    let overflow = || format!("arithmetic overflow computing the output {axis}");
    let effective = dilation
        .checked_mul(kernel - 1)
        .and_then(|v| v.checked_add(1))
        .ok_or_else(overflow)?;
    let padded = padding
        .checked_mul(2)
        .and_then(|p| p.checked_add(len))
        .ok_or_else(overflow)?;
    if padded < effective {
        return Err(format!(
            "kernel ({effective} with dilation) is larger than the padded input {axis} ({len} + 2x{padding} = {padded})"
        ));
    }
    let span = padded - effective;
    let mut out = if ceil {
        span.div_ceil(stride)
    } else {
        span / stride
    } + 1;
    // PyTorch: the last window must start inside the input or its left padding.
    if ceil
        && (out - 1)
            .checked_mul(stride)
            .is_none_or(|s| s >= len + padding)
    {
        out -= 1;
    }
    Ok(out)
}

/// Sum of the bin lengths of adaptive pooling from `len` to `bins` outputs.
///
/// Bin `i` spans `floor(i*len/bins) .. ceil((i+1)*len/bins)`; summed over all
/// bins this is `len + bins - gcd(len, bins)` (a bin overlaps its neighbour
/// exactly where `i*len/bins` is not a whole number), in O(log) time.
/// `bins` is at least 1, so the gcd divides it and `bins - gcd` cannot wrap.
fn bins_total(len: u64, bins: u64) -> Result<u64, String> {
    let (mut a, mut b) = (len, bins);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    (bins - a)
        .checked_add(len)
        .ok_or_else(|| "arithmetic overflow in adaptive pooling bins".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(out: u64, k: u64, s: u64, p: u64, g: u64, bias: bool) -> Op {
        Op::Conv {
            out,
            kernel: [k, k],
            stride: [s, s],
            padding: [p, p],
            dilation: [1, 1],
            groups: g,
            bias,
        }
    }

    fn pool(k: u64, s: u64, p: u64, ceil: bool) -> Op {
        Op::Pool {
            pool: PoolKind::Max,
            kernel: [k, k],
            stride: [s, s],
            padding: [p, p],
            dilation: [1, 1],
            ceil,
        }
    }

    #[test]
    fn conv_params_and_macs() {
        // ResNet stem: 7x7/2, 3->64, no bias, 224 -> 112.
        let c = conv(64, 7, 2, 3, 1, false)
            .apply(&[vec![3, 224, 224]])
            .unwrap();
        assert_eq!(c.output, vec![64, 112, 112]);
        assert_eq!((c.weight, c.bias), (9408, 0));
        assert_eq!(c.macs, 118_013_952);
        // VGG conv1_2: 64->64 3x3 with bias at 224.
        let c = conv(64, 3, 1, 1, 1, true)
            .apply(&[vec![64, 224, 224]])
            .unwrap();
        assert_eq!(c.weight + c.bias, 36928);
        assert_eq!(c.macs, 1_849_688_064);
        assert_eq!(c.bias_adds, 64 * 224 * 224);
    }

    #[test]
    fn grouped_and_depthwise_conv() {
        let c = conv(64, 3, 1, 1, 32, false)
            .apply(&[vec![64, 8, 8]])
            .unwrap();
        assert_eq!(c.weight, 64 * 2 * 9);
        assert_eq!(c.macs, 64 * 64 * 2 * 9);
        let dw = conv(32, 3, 2, 1, 32, false)
            .apply(&[vec![32, 112, 112]])
            .unwrap();
        assert_eq!(dw.output, vec![32, 56, 56]);
        assert_eq!(dw.weight, 32 * 9);
        let err = conv(64, 3, 1, 1, 3, false)
            .apply(&[vec![64, 8, 8]])
            .unwrap_err();
        assert!(err.contains("groups=3"), "{err}");
    }

    #[test]
    fn dilation_and_kernel_too_large() {
        let op = Op::Conv {
            out: 8,
            kernel: [3, 3],
            stride: [1, 1],
            padding: [2, 2],
            dilation: [2, 2],
            groups: 1,
            bias: false,
        };
        assert_eq!(
            op.apply(&[vec![4, 10, 10]]).unwrap().output,
            vec![8, 10, 10]
        );
        let err = conv(8, 7, 1, 0, 1, false)
            .apply(&[vec![4, 5, 5]])
            .unwrap_err();
        assert!(err.contains("larger than the padded input"), "{err}");
    }

    #[test]
    fn pooling_floor_and_ceil_mode() {
        assert_eq!(
            pool(3, 2, 1, false)
                .apply(&[vec![64, 112, 112]])
                .unwrap()
                .output,
            vec![64, 56, 56]
        );
        // GoogLeNet: 3x3/2 ceil on 112 -> 56; on 7 -> 3 floor, 4 ceil... check PyTorch rule.
        assert_eq!(
            pool(3, 2, 0, true)
                .apply(&[vec![1, 112, 112]])
                .unwrap()
                .output,
            vec![1, 56, 56]
        );
        assert_eq!(
            pool(2, 2, 0, false).apply(&[vec![1, 7, 7]]).unwrap().output,
            vec![1, 3, 3]
        );
        assert_eq!(
            pool(2, 2, 0, true).apply(&[vec![1, 7, 7]]).unwrap().output,
            vec![1, 4, 4]
        );
        // The last window may not start in the right padding: 5, k2 s2 p1 ceil -> 3 (not 4).
        assert_eq!(
            pool(2, 2, 1, true).apply(&[vec![1, 5, 5]]).unwrap().output,
            vec![1, 3, 3]
        );
        assert!(pool(2, 2, 2, false)
            .apply(&[vec![1, 8, 8]])
            .unwrap_err()
            .contains("at most half"));
    }

    #[test]
    fn adaptive_pool_bins_overlap_when_sizes_do_not_divide() {
        let op = Op::Adaptive {
            pool: PoolKind::Avg,
            size: [7, 7],
        };
        let c = op.apply(&[vec![512, 7, 7]]).unwrap();
        assert_eq!(
            (c.output.clone(), c.elementwise),
            (vec![512, 7, 7], 512 * 49)
        );
        // 10 -> 4 bins: [0,3) [2,5) [5,8) [7,10): lengths 3+3+3+3 = 12.
        assert_eq!(bins_total(10, 4), Ok(12));
        // Upsampling 5 -> 7: [0,1) [0,2) [1,3) [2,3) [2,4) [3,5) [4,5): 1+2+2+1+2+2+1.
        assert_eq!(bins_total(5, 7), Ok(11));
        assert_eq!(bins_total(7, 7), Ok(7));
    }

    #[test]
    fn linear_bn_and_merges() {
        let l = Op::Linear {
            out: 4096,
            bias: true,
        }
        .apply(&[vec![25088]])
        .unwrap();
        assert_eq!(l.weight + l.bias, 102_764_544);
        assert_eq!(l.macs, 102_760_448);
        let bn = Op::BatchNorm { affine: true }
            .apply(&[vec![64, 2, 2]])
            .unwrap();
        assert_eq!((bn.weight, bn.bias, bn.buffers), (64, 64, 129));
        let add = Op::Merge { merge: Merge::Add };
        assert!(add
            .apply(&[vec![64, 56, 56], vec![128, 28, 28]])
            .unwrap_err()
            .contains("1x64x56x56, 1x128x28x28"));
        let cat = Op::Merge {
            merge: Merge::Concat,
        };
        assert_eq!(
            cat.apply(&[vec![64, 7, 7], vec![32, 7, 7]]).unwrap().output,
            vec![96, 7, 7]
        );
        assert!(cat.apply(&[vec![64, 7, 7], vec![32, 8, 7]]).is_err());
        assert!(Op::Flatten
            .apply(&[vec![u64::MAX, 2]])
            .unwrap_err()
            .contains("overflow"));
        assert!(pool(2, 2, 0, false)
            .apply(&[vec![10]])
            .unwrap_err()
            .contains("CxHxW"));
    }
}
