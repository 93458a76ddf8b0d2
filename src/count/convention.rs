//! How other tools count "FLOPs", reproduced exactly, layer by layer.
//!
//! netledger's own figure is `macs`: conv and linear multiply-accumulates,
//! bias excluded, the number torchvision publishes as "GFLOPS". The popular
//! profilers each add their own extra terms; the rules below were checked
//! against fvcore 0.1.5, ptflops 0.7.5 and thop 0.1.1 on the shipped models.

use serde::Serialize;

use crate::count::elaborate::Layer;
use crate::count::op::{product, Op};
use crate::model::file::Merge;
use crate::model::op::{Activation, PoolKind};

/// A counting convention of a well-known tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Convention {
    /// Conv + linear + matmul MACs, no bias: torchvision's published "GFLOPS".
    Torchvision,
    /// fvcore `FlopCountAnalysis`: MACs + 2 per BN element + adaptive-pool inputs.
    Fvcore,
    /// ptflops, `count_functional=False`: module hooks only.
    Ptflops,
    /// ptflops' default (`count_functional=True`): ReLU and pooling modules counted twice.
    PtflopsDefault,
    /// thop `profile`: 4 per BN element, its own adaptive-pool rule, module hooks only.
    Thop,
}

impl Convention {
    /// Every convention, in table order.
    pub const ALL: [Convention; 5] = [
        Convention::Torchvision,
        Convention::Fvcore,
        Convention::Ptflops,
        Convention::PtflopsDefault,
        Convention::Thop,
    ];

    /// The name used on the command line and in pages.
    pub fn name(self) -> &'static str {
        match self {
            Convention::Torchvision => "torchvision",
            Convention::Fvcore => "fvcore",
            Convention::Ptflops => "ptflops",
            Convention::PtflopsDefault => "ptflops-default",
            Convention::Thop => "thop",
        }
    }

    /// Parses a name as given by [`Convention::name`].
    pub fn from_name(name: &str) -> Option<Convention> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// What the tool adds to the core MACs, in one sentence.
    pub fn rule(self) -> &'static str {
        match self {
            Convention::Torchvision => "conv, linear and matmul multiply-accumulates, no bias (torchvision's \"GFLOPS\")",
            Convention::Fvcore => "MACs + 2 per batch-norm element + 5 per layer-norm element + 1 per adaptive-average-pool input element; activations, max/avg pooling, mean, residual adds and torch's fused attention kernel count 0",
            Convention::Ptflops => "MACs + 1 per output element for conv bias + linear bias + 2 per batch-norm element + 1 per activation output (ReLU family) + 1 per pooling input; module layers only (count_functional=False)",
            Convention::PtflopsDefault => "as ptflops, but ReLU and pooling modules are counted twice (module hook + patched functional), functional ReLU/pooling once",
            Convention::Thop => "MACs + 4 per batch-norm element + int((in/out area + 1) x outputs) for adaptive average pooling + 1 per average-pool output; module layers only",
        }
    }

    /// This tool's count for one layer, `None` when it exceeds 64 bits.
    pub fn checked_layer_count(self, layer: &Layer) -> Option<u64> {
        u64::try_from(self.count_wide(layer)).ok()
    }

    /// The count in 128 bits, so that the tools' extra terms cannot overflow.
    fn count_wide(self, layer: &Layer) -> u128 {
        let out = u128::from(product(&layer.cost.output).unwrap_or(0));
        let input = u128::from(layer.inputs.first().map_or(0, |s| product(s).unwrap_or(0)));
        let module = !layer.functional;
        let macs = u128::from(layer.cost.macs);
        let affine = |a: bool, with: u128, without: u128| input * if a { with } else { without };
        let seen = Seen::of(layer);
        match self {
            Convention::Torchvision => macs,
            Convention::Fvcore => match seen {
                Seen::Conv | Seen::Linear { .. } => macs,
                // fvcore has no handler for torch's fused attention kernel.
                Seen::Matmul { fused } => {
                    if fused {
                        0
                    } else {
                        macs
                    }
                }
                Seen::BatchNorm { affine: a } => affine(a, 2, 1),
                Seen::LayerNorm { affine: a } => affine(a, 5, 4),
                Seen::AdaptivePool { avg: true, .. } => input,
                // No handler: counted as 0, as fvcore does (it warns).
                Seen::AdaptivePool { avg: false, .. }
                | Seen::Pool { .. }
                | Seen::Activation(_)
                | Seen::Elementwise
                | Seen::DataMovement => 0,
            },
            Convention::Ptflops | Convention::PtflopsDefault => {
                let twice = self == Convention::PtflopsDefault;
                match seen {
                    Seen::Conv if module => macs + u128::from(layer.cost.bias_adds),
                    Seen::Linear {
                        out: features,
                        bias,
                    } if module => macs + if bias { u128::from(features) } else { 0 },
                    Seen::BatchNorm { affine: a } | Seen::LayerNorm { affine: a } if module => {
                        affine(a, 2, 1)
                    }
                    Seen::Conv
                    | Seen::Linear { .. }
                    | Seen::BatchNorm { .. }
                    | Seen::LayerNorm { .. } => 0,
                    Seen::Activation(act) => {
                        let hooked = matches!(
                            act,
                            Activation::Relu
                                | Activation::Relu6
                                | Activation::LeakyRelu
                                | Activation::Elu
                                | Activation::Prelu
                        );
                        // The default mode also patches these torch.nn.functional calls.
                        let patched = twice
                            && matches!(
                                act,
                                Activation::Relu
                                    | Activation::Prelu
                                    | Activation::Elu
                                    | Activation::LeakyRelu
                                    | Activation::Silu
                                    | Activation::Gelu
                            );
                        out * (u128::from(hooked && module) + u128::from(patched))
                    }
                    Seen::Pool { .. } | Seen::AdaptivePool { .. } => {
                        input * (u128::from(module) + u128::from(twice))
                    }
                    // The default mode patches torch.matmul (not the fused kernel).
                    Seen::Matmul { fused } => {
                        if twice && !fused {
                            macs
                        } else {
                            0
                        }
                    }
                    Seen::Elementwise | Seen::DataMovement => 0,
                }
            }
            Convention::Thop => match seen {
                _ if !module => 0,
                Seen::Conv | Seen::Linear { .. } => macs,
                Seen::BatchNorm { affine: a } | Seen::LayerNorm { affine: a } => affine(a, 4, 2),
                Seen::AdaptivePool { avg: true, size } => {
                    let [h, w] = [layer.inputs[0][1], layer.inputs[0][2]];
                    let area = (h as f64 / size[0] as f64) * (w as f64 / size[1] as f64);
                    ((area + 1.0) * out as f64) as u128
                }
                Seen::Pool { avg: true } => out,
                // Module hooks only: functional ops and tensors count 0.
                Seen::Pool { avg: false }
                | Seen::AdaptivePool { avg: false, .. }
                | Seen::Activation(_)
                | Seen::Matmul { .. }
                | Seen::Elementwise
                | Seen::DataMovement => 0,
            },
        }
    }
}

/// What the profilers can tell layers apart by. Every [`Op`] maps to one
/// class here, in one exhaustive match, so a new kind is classified (and
/// each tool's rule then covers it) before anything counts it.
#[derive(Debug, Clone, Copy)]
enum Seen {
    Conv,
    Linear {
        out: u64,
        bias: bool,
    },
    /// A product of two activations; `fused` inside torch's attention kernel.
    Matmul {
        fused: bool,
    },
    BatchNorm {
        affine: bool,
    },
    LayerNorm {
        affine: bool,
    },
    Activation(Activation),
    Pool {
        avg: bool,
    },
    AdaptivePool {
        avg: bool,
        size: [u64; 2],
    },
    /// Adds, products, concatenation, means and learnable tensors.
    Elementwise,
    /// Reshaping and moving data: no arithmetic.
    DataMovement,
}

impl Seen {
    fn of(layer: &Layer) -> Seen {
        match &layer.op {
            Op::Conv { .. } => Seen::Conv,
            Op::Linear { out, bias } => Seen::Linear {
                out: *out,
                bias: *bias,
            },
            Op::Merge {
                merge: Merge::Matmul,
            } => Seen::Matmul { fused: layer.fused },
            Op::BatchNorm { affine } => Seen::BatchNorm { affine: *affine },
            Op::LayerNorm { affine, .. } => Seen::LayerNorm { affine: *affine },
            Op::Activation { act, .. } => Seen::Activation(*act),
            Op::Pool { pool, .. } => Seen::Pool {
                avg: *pool == PoolKind::Avg,
            },
            Op::Adaptive { pool, size } => Seen::AdaptivePool {
                avg: *pool == PoolKind::Avg,
                size: *size,
            },
            Op::Merge { .. } | Op::Mean { .. } | Op::Param { .. } | Op::RelativeBias { .. } => {
                Seen::Elementwise
            }
            Op::Flatten
            | Op::Dropout
            | Op::Identity
            | Op::Permute { .. }
            | Op::Reshape { .. }
            | Op::Tokens
            | Op::Select { .. }
            | Op::Chunk { .. }
            | Op::Shuffle { .. }
            | Op::PatchMerge
            | Op::ZeroPad { .. }
            | Op::Attention { .. } => Seen::DataMovement,
        }
    }
}
