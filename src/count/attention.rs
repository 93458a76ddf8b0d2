//! Self-attention, counted through the parts torch runs.
//!
//! On NxD tokens, `mha` is `nn.MultiheadAttention` as ViT calls it: one
//! input projection to Q, K and V (3D x D weights + 3D biases), the scores
//! Q·Kᵀ, a softmax, the mix A·V, and the output projection (D x D + D).
//! torch runs the middle three as one fused kernel, which fvcore cannot see,
//! so they are marked `fused`.
//!
//! With a window W on HxWxC (channels last), `mha` is Swin's shifted-window
//! attention: the map is padded to multiples of W, cut into windows of W²
//! tokens, and each window attends within itself; the scores get a learned
//! relative-position bias ((2W-1)² x heads, indexed by a W² x W² buffer).
//! Shifting moves windows but changes no count, so it is not written.

use crate::count::op::{shape_str, Op, Shape};
use crate::model::file::Merge;
use crate::model::op::Activation;

/// One part of an attention layer, ready to push.
pub struct Part {
    /// Its name under the attention layer's path.
    pub name: &'static str,
    /// The operation.
    pub op: Op,
    /// Its input shapes.
    pub inputs: Vec<Shape>,
    /// Runs inside torch's fused attention kernel.
    pub fused: bool,
}

/// The parts of `mha heads [w window]` on `input`, and the output shape.
pub fn parts(
    heads: u64,
    window: u64,
    bias: bool,
    input: &[u64],
) -> Result<(Vec<Part>, Shape), String> {
    let dim = *input.last().ok_or("attention needs an input")?;
    if heads == 0 || dim % heads != 0 {
        return Err(format!(
            "{heads} heads must divide the embedding size {dim}"
        ));
    }
    let d = dim / heads;
    let part = |name, op, inputs, fused| Part {
        name,
        op,
        inputs,
        fused,
    };
    let linear = |out| Op::Linear { out, bias };
    let matmul = Op::Merge {
        merge: Merge::Matmul,
    };
    let softmax = Op::Activation {
        act: Activation::Softmax,
        params: 0,
    };
    if window == 0 {
        let [n, _] = input[..] else {
            return Err(format!(
                "attention without a window needs NxD tokens, got {} (use `tokens`, or `mha H wW` on HxWxC)",
                shape_str(input)
            ));
        };
        let three = dim.checked_mul(3).ok_or("arithmetic overflow")?;
        let parts = vec![
            part("in_proj", linear(three), vec![vec![n, dim]], false),
            part(
                "qk",
                matmul.clone(),
                vec![vec![heads, n, d], vec![heads, d, n]],
                true,
            ),
            part("softmax", softmax, vec![vec![heads, n, n]], true),
            part(
                "av",
                matmul,
                vec![vec![heads, n, n], vec![heads, n, d]],
                true,
            ),
            part("out_proj", linear(dim), vec![vec![n, dim]], false),
        ];
        return Ok((parts, input.to_vec()));
    }
    let [h, w, _] = input[..] else {
        return Err(format!(
            "window attention needs an HxWxC input (channels last), got {}",
            shape_str(input)
        ));
    };
    let windows = h
        .div_ceil(window)
        .checked_mul(w.div_ceil(window))
        .ok_or("arithmetic overflow")?;
    let n = window.checked_mul(window).ok_or("arithmetic overflow")?;
    let three = dim.checked_mul(3).ok_or("arithmetic overflow")?;
    let scores = vec![windows, heads, n, n];
    let parts = vec![
        part("qkv", linear(three), vec![vec![windows, n, dim]], false),
        part(
            "qk",
            matmul.clone(),
            vec![vec![windows, heads, n, d], vec![windows, heads, d, n]],
            false,
        ),
        part(
            "bias",
            Op::RelativeBias { window, heads },
            vec![scores.clone()],
            false,
        ),
        part("softmax", softmax, vec![scores.clone()], false),
        part(
            "av",
            matmul,
            vec![scores, vec![windows, heads, n, d]],
            false,
        ),
        part("proj", linear(dim), vec![vec![windows, n, dim]], false),
    ];
    Ok((parts, input.to_vec()))
}
