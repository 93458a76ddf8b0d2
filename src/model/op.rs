//! The one description of a layer, [`Op`], generic over its numbers.
//!
//! A model file's layer string parses to an `Op<Expr>` (its numbers are
//! expressions over block arguments); elaboration evaluates it to an
//! `Op<u64>`, which `count::op` gives shapes and costs, and which the ONNX
//! importer builds directly. Defaults (stride 1, padding 0) are filled in by
//! the parser, so both stages carry the same fields.
//!
//! Adding a layer kind means a variant here, a keyword in
//! [`crate::model::item::KEYWORDS`], and the arms the compiler then asks for
//! in `count::op` and `count::convention`.

use serde::Serialize;

use crate::error::Result;
use crate::model::file::Merge;

/// A layer: `Op<Expr>` as written, `Op<u64>` (the default) once evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op<N = u64> {
    /// 2-D convolution on CxHxW.
    Conv {
        /// Output channels.
        out: N,
        /// Kernel height, width.
        kernel: [N; 2],
        /// Stride height, width.
        stride: [N; 2],
        /// Zero padding height, width.
        padding: [N; 2],
        /// Dilation height, width.
        dilation: [N; 2],
        /// Groups (`dw`: as many as input channels).
        groups: N,
        /// Has a bias.
        bias: bool,
    },
    /// Fully connected layer on the last dimension (of any rank, as torch).
    Linear {
        /// Output features.
        out: N,
        /// Has a bias.
        bias: bool,
    },
    /// Batch normalisation over the first (channel) dimension.
    BatchNorm {
        /// Learnable scale and shift.
        affine: bool,
    },
    /// Layer normalisation over the last dimension (`nn.LayerNorm(C)`), or
    /// over the channels of CxHxW (`layernorm2d`, ConvNeXt's `LayerNorm2d`).
    LayerNorm {
        /// Over the channels of CxHxW instead of the last dimension.
        channels_first: bool,
        /// Learnable scale (`elementwise_affine`).
        affine: bool,
        /// Learnable shift (torch's `bias`, on when affine).
        bias: bool,
    },
    /// Element-wise activation (and softmax over the last dimension).
    Activation {
        /// Which one.
        act: Activation,
        /// Learnable parameters (PReLU only; 0 otherwise).
        params: N,
    },
    /// Max or average pooling with a fixed window.
    Pool {
        /// Max or average.
        pool: PoolKind,
        /// Window height, width.
        kernel: [N; 2],
        /// Stride height, width (default: the window).
        stride: [N; 2],
        /// Padding height, width.
        padding: [N; 2],
        /// Dilation height, width (1 for average pooling).
        dilation: [N; 2],
        /// `ceil_mode`.
        ceil: bool,
    },
    /// Adaptive pooling to a fixed output size (global pooling is 1x1).
    Adaptive {
        /// Max or average.
        pool: PoolKind,
        /// Output height, width.
        size: [N; 2],
    },
    /// `x.mean(dims)`: a reduction that is not a pooling module.
    Mean {
        /// Reduced dimensions in torch's numbering (the batch is 0).
        dims: Vec<N>,
        /// `keepdim=True`.
        keepdim: bool,
    },
    /// `torch.flatten(x, 1)`.
    Flatten,
    /// Dropout (identity at inference).
    Dropout,
    /// `nn.Identity`, or a block argument that leaves a layer out.
    Identity,
    /// `x.permute(dims)`, in torch's numbering: `dims[0]` is the batch, 0.
    Permute {
        /// The new order.
        dims: Vec<N>,
    },
    /// `x.reshape(1, dims...)`.
    Reshape {
        /// The new shape without the batch.
        dims: Vec<N>,
    },
    /// CxHxW to (HW)xC tokens: `x.flatten(2).transpose(1, 2)`.
    Tokens,
    /// `x[:, index]`: one entry of the first dimension (ViT's class token).
    Select {
        /// Which entry.
        index: N,
    },
    /// `x.chunk(chunks, dim=1)[index]` (ShuffleNet's channel split).
    Chunk {
        /// How many chunks.
        chunks: N,
        /// Which one is taken.
        index: N,
    },
    /// Channel shuffle in `groups` (ShuffleNet).
    Shuffle {
        /// Groups.
        groups: N,
    },
    /// A learnable tensor of its own (`nn.Parameter`): a layer scale, a
    /// class token, a position embedding, a table.
    Param {
        /// Its shape as torch gives it (may include a leading batch 1).
        shape: Vec<N>,
        /// How it meets the activations.
        uses: ParamUse,
    },
    /// Multi-head self-attention, counted through its parts: on NxD tokens
    /// it is `nn.MultiheadAttention`; with a window on HxWxC it is Swin's
    /// shifted-window attention with its relative-position bias.
    Attention {
        /// Heads.
        heads: N,
        /// Window size; 0 for global attention.
        window: N,
        /// Projections have biases.
        bias: bool,
    },
    /// Swin's `PatchMerging` data movement: HxWxC to (H/2)x(W/2)x4C.
    PatchMerge,
    /// The join of parallel paths (block merges, and the parts of attention).
    Merge {
        /// Add, multiply, concatenate or matrix-multiply.
        merge: Merge,
    },
    /// An attention score matrix's relative-position bias (Swin): a table of
    /// (2W-1)^2 x heads parameters and a W^2 x W^2 index buffer.
    RelativeBias {
        /// Window size.
        window: N,
        /// Heads.
        heads: N,
    },
    /// The option-A shortcut of CIFAR ResNets: subsample, zero-pad channels.
    ZeroPad {
        /// Output channels.
        channels: N,
        /// Spatial subsampling.
        stride: N,
    },
}

/// How a standalone learnable tensor meets the activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamUse {
    /// Only held (used elsewhere, e.g. by indexing).
    Held,
    /// Added with broadcasting (a position embedding).
    Add,
    /// Multiplied with broadcasting (a layer scale).
    Mul,
    /// Prepended along the first dimension (a class token).
    Cat,
}

/// Max or average pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolKind {
    /// Maximum over the window.
    Max,
    /// Mean over the window.
    Avg,
}

/// Element-wise activation functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `nn.ReLU`
    Relu,
    /// `nn.ReLU6`
    Relu6,
    /// `nn.LeakyReLU`
    LeakyRelu,
    /// `nn.ELU`
    Elu,
    /// `nn.PReLU` (has parameters)
    Prelu,
    /// `nn.GELU`
    Gelu,
    /// `nn.SiLU`
    Silu,
    /// `nn.Sigmoid`
    Sigmoid,
    /// `nn.Tanh`
    Tanh,
    /// `nn.Hardswish`
    Hardswish,
    /// `nn.Hardsigmoid`
    Hardsigmoid,
    /// `nn.Softmax(dim=-1)`
    Softmax,
}

impl Activation {
    /// All activations with their keywords.
    pub const ALL: [(&'static str, Activation); 12] = [
        ("relu", Activation::Relu),
        ("relu6", Activation::Relu6),
        ("leakyrelu", Activation::LeakyRelu),
        ("elu", Activation::Elu),
        ("prelu", Activation::Prelu),
        ("gelu", Activation::Gelu),
        ("silu", Activation::Silu),
        ("sigmoid", Activation::Sigmoid),
        ("tanh", Activation::Tanh),
        ("hardswish", Activation::Hardswish),
        ("hardsigmoid", Activation::Hardsigmoid),
        ("softmax", Activation::Softmax),
    ];

    /// The keyword used in model files.
    pub fn keyword(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, a)| *a == self)
            .map_or("?", |(k, _)| k)
    }
}

/// What a number of a layer means, for evaluation and its messages.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// e.g. "output channels".
    pub what: &'static str,
    /// Whether 0 is allowed (padding, indices, dims).
    pub zero_ok: bool,
}

const fn must_be_positive(what: &'static str) -> Field {
    Field {
        what,
        zero_ok: false,
    }
}

const fn may_be_zero(what: &'static str) -> Field {
    Field {
        what,
        zero_ok: true,
    }
}

impl<N> Op<N> {
    /// The same layer with every number mapped by `f` (evaluation).
    pub fn try_map<M>(&self, f: &mut impl FnMut(&N, Field) -> Result<M>) -> Result<Op<M>> {
        let mut pair = |p: &[N; 2], field: Field| -> Result<[M; 2]> {
            Ok([f(&p[0], field)?, f(&p[1], field)?])
        };
        Ok(match self {
            Op::Conv {
                out,
                kernel,
                stride,
                padding,
                dilation,
                groups,
                bias,
            } => Op::Conv {
                kernel: pair(kernel, must_be_positive("kernel size"))?,
                stride: pair(stride, must_be_positive("stride"))?,
                padding: pair(padding, may_be_zero("padding"))?,
                dilation: pair(dilation, must_be_positive("dilation"))?,
                out: f(out, must_be_positive("output channels"))?,
                groups: f(groups, must_be_positive("groups"))?,
                bias: *bias,
            },
            Op::Linear { out, bias } => Op::Linear {
                out: f(out, must_be_positive("output features"))?,
                bias: *bias,
            },
            Op::BatchNorm { affine } => Op::BatchNorm { affine: *affine },
            Op::LayerNorm {
                channels_first,
                affine,
                bias,
            } => Op::LayerNorm {
                channels_first: *channels_first,
                affine: *affine,
                bias: *bias,
            },
            Op::Activation { act, params } => Op::Activation {
                act: *act,
                params: f(params, may_be_zero("prelu parameters"))?,
            },
            Op::Pool {
                pool,
                kernel,
                stride,
                padding,
                dilation,
                ceil,
            } => Op::Pool {
                pool: *pool,
                kernel: pair(kernel, must_be_positive("window size"))?,
                stride: pair(stride, must_be_positive("stride"))?,
                padding: pair(padding, may_be_zero("padding"))?,
                dilation: pair(dilation, must_be_positive("dilation"))?,
                ceil: *ceil,
            },
            Op::Adaptive { pool, size } => Op::Adaptive {
                pool: *pool,
                size: pair(size, must_be_positive("output size"))?,
            },
            Op::Mean { dims, keepdim } => Op::Mean {
                dims: list(dims, f, may_be_zero("dimension"))?,
                keepdim: *keepdim,
            },
            Op::Flatten => Op::Flatten,
            Op::Dropout => Op::Dropout,
            Op::Identity => Op::Identity,
            Op::Permute { dims } => Op::Permute {
                dims: list(dims, f, may_be_zero("dimension"))?,
            },
            Op::Reshape { dims } => Op::Reshape {
                dims: list(dims, f, must_be_positive("size"))?,
            },
            Op::Tokens => Op::Tokens,
            Op::Select { index } => Op::Select {
                index: f(index, may_be_zero("index"))?,
            },
            Op::Chunk { chunks, index } => Op::Chunk {
                chunks: f(chunks, must_be_positive("chunks"))?,
                index: f(index, may_be_zero("chunk index"))?,
            },
            Op::Shuffle { groups } => Op::Shuffle {
                groups: f(groups, must_be_positive("groups"))?,
            },
            Op::Param { shape, uses } => Op::Param {
                shape: list(shape, f, must_be_positive("size"))?,
                uses: *uses,
            },
            Op::Attention {
                heads,
                window,
                bias,
            } => Op::Attention {
                heads: f(heads, must_be_positive("heads"))?,
                window: f(window, may_be_zero("window"))?,
                bias: *bias,
            },
            Op::PatchMerge => Op::PatchMerge,
            Op::Merge { merge } => Op::Merge { merge: *merge },
            Op::RelativeBias { window, heads } => Op::RelativeBias {
                window: f(window, must_be_positive("window"))?,
                heads: f(heads, must_be_positive("heads"))?,
            },
            Op::ZeroPad { channels, stride } => Op::ZeroPad {
                channels: f(channels, must_be_positive("channels"))?,
                stride: f(stride, must_be_positive("stride"))?,
            },
        })
    }
}

fn list<N, M>(
    items: &[N],
    f: &mut impl FnMut(&N, Field) -> Result<M>,
    field: Field,
) -> Result<Vec<M>> {
    items.iter().map(|n| f(n, field)).collect()
}
