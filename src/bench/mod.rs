//! SIMD micro-benchmarks: machine ceilings and real layer kernels.
//!
//! `netledger bench` calls [`run`] with [`KernelCase`]s derived from the
//! model files; it measures the single-thread machine ceilings (FMA peak,
//! DRAM read and triad bandwidth), then each case as a scalar reference and
//! as explicit SIMD (AVX2+FMA with runtime detection, or the portable
//! fallback), checks SIMD against scalar, and returns a [`BenchReport`]
//! whose JSON layout is versioned ([`results::SCHEMA_VERSION`]).
//!
//! Layout:
//! * [`kernels`]: GEMV, GEMM, conv2d, global average pooling, ceilings.
//! * [`harness`]: warm-up, samples, median/MAD, CPU time, load average.
//! * [`results`]: the JSON schema, [`results::load`] and [`results::save`].
//! * [`buffer`]: aligned buffers with huge pages for big weights.
//! * `runner` (private): [`run`], [`summary_table`]; `prepared` (private):
//!   a case's operands and SIMD kernel, ready to run again and again.
//! * [`sampler`]: `bench --sample-stdin`, one sample per request, for peer
//!   scripts that interleave their own samples with ours.

pub mod buffer;
pub mod checked;
pub mod error;
pub mod harness;
pub mod kernels;
pub mod network;
pub mod plan;
mod prepared;
pub mod results;
mod runner;
pub mod sampler;

pub use error::BenchError;
pub use kernels::Isa;
pub use results::{
    load, save, BenchReport, Bound, Ceilings, KernelResult, Machine, NetworkResult, Variant,
    SCHEMA_VERSION,
};
pub use runner::{case_work, machine_key, run, run_with_isa, summary_table};

use kernels::conv::ConvShape;

/// The computation a case measures (fp32, single thread).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// y = W x with W `rows x cols` row-major (a linear layer at batch 1: rows = out, cols = in).
    Gemv {
        /// Output features (rows of W).
        rows: usize,
        /// Input features (columns of W).
        cols: usize,
    },
    /// Linear layer at batch `batch`: C (`batch x out`) = A (`batch x inp`) times B (`inp x out`),
    /// with B stored as the weight W = Bᵀ (`out x inp`, PyTorch layout).
    Gemm {
        /// Batch size (rows of A and C); must equal [`KernelCase::batch`].
        batch: usize,
        /// Input features.
        inp: usize,
        /// Output features.
        out: usize,
    },
    /// NCHW conv2d of one image, square `k x k` kernel, zero padding, no bias.
    Conv {
        /// Input channels.
        cin: usize,
        /// Output channels.
        cout: usize,
        /// Input height.
        h: usize,
        /// Input width.
        w: usize,
        /// Kernel size.
        k: usize,
        /// Stride.
        stride: usize,
        /// Padding on each side.
        pad: usize,
    },
    /// Global average pooling of `c` planes of `h x w`.
    GlobalAvgPool {
        /// Channels.
        c: usize,
        /// Height.
        h: usize,
        /// Width.
        w: usize,
    },
}

impl Workload {
    /// The conv shape of a `Conv` workload.
    pub fn conv_shape(&self) -> Option<ConvShape> {
        match *self {
            Workload::Conv {
                cin,
                cout,
                h,
                w,
                k,
                stride,
                pad,
            } => Some(ConvShape {
                cin,
                cout,
                h,
                w,
                k,
                stride,
                pad,
            }),
            _ => None,
        }
    }

    /// Short human-readable description, e.g. "gemm 8x25088 * 25088x4096".
    pub fn describe(&self) -> String {
        match *self {
            Workload::Gemv { rows, cols } => format!("gemv {rows}x{cols}"),
            Workload::Gemm { batch, inp, out } => format!("gemm {batch}x{inp} * {inp}x{out}"),
            Workload::Conv {
                cin,
                cout,
                h,
                w,
                k,
                stride,
                pad,
            } => format!("conv {cin}->{cout} {h}x{w} k{k} s{stride} p{pad}"),
            Workload::GlobalAvgPool { c, h, w } => format!("gap {c}x{h}x{w}"),
        }
    }
}

/// One benchmark case: a workload, its layer and batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelCase {
    /// Unique case name (used by `--filter` and in the JSON).
    pub name: String,
    /// Model layer path, where the case is one (e.g. "vgg19/classifier.0").
    pub layer: Option<String>,
    /// Batch size: 1 for GEMV; equal to the workload's batch for GEMM;
    /// conv and pooling run the single-image kernel `batch` times.
    pub batch: usize,
    /// What to compute.
    pub workload: Workload,
}

/// Options of [`run`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BenchOptions {
    /// Short budgets (the full case list finishes in well under 40 s).
    pub quick: bool,
    /// Only cases whose name or layer contains this text (case-insensitive).
    pub filter: Option<String>,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Run the kernels on this instruction set instead of the best one
    /// (or the best one below it that the CPU has).
    pub isa: Option<Isa>,
}

/// A few hard-coded shapes for this module's own tests, benches and examples
/// (the product derives its cases from the model files).
pub fn demo_cases() -> Vec<KernelCase> {
    let case = |name: &str, layer: Option<&str>, batch: usize, workload: Workload| KernelCase {
        name: name.to_string(),
        layer: layer.map(str::to_string),
        batch,
        workload,
    };
    let conv = |cin, cout, h, k, stride, pad| Workload::Conv {
        cin,
        cout,
        h,
        w: h,
        k,
        stride,
        pad,
    };
    vec![
        case(
            "fc6-gemv",
            Some("vgg19/classifier.0"),
            1,
            Workload::Gemv {
                rows: 4096,
                cols: 25088,
            },
        ),
        case(
            "fc6-b8",
            Some("vgg19/classifier.0"),
            8,
            Workload::Gemm {
                batch: 8,
                inp: 25088,
                out: 4096,
            },
        ),
        case(
            "fc6-b64",
            Some("vgg19/classifier.0"),
            64,
            Workload::Gemm {
                batch: 64,
                inp: 25088,
                out: 4096,
            },
        ),
        case(
            "fc7-b8",
            Some("vgg19/classifier.3"),
            8,
            Workload::Gemm {
                batch: 8,
                inp: 4096,
                out: 4096,
            },
        ),
        case(
            "resnet-head",
            Some("resnet34/fc"),
            1,
            Workload::Gemv {
                rows: 1000,
                cols: 512,
            },
        ),
        case(
            "vgg-conv64-224",
            Some("vgg19/features.2"),
            1,
            conv(64, 64, 224, 3, 1, 1),
        ),
        case(
            "vgg-conv512-14",
            Some("vgg19/features.28"),
            1,
            conv(512, 512, 14, 3, 1, 1),
        ),
        case(
            "resnet-conv128-s2",
            Some("resnet34/layer2.0.conv1"),
            1,
            conv(64, 128, 56, 3, 2, 1),
        ),
        case(
            "resnet-conv512-7",
            Some("resnet34/layer4.0.conv2"),
            1,
            conv(512, 512, 7, 3, 1, 1),
        ),
        case(
            "resnet50-1x1",
            Some("resnet50/layer1.0.conv1"),
            1,
            conv(256, 64, 56, 1, 1, 0),
        ),
        case(
            "gap-512x7x7",
            Some("resnet34/avgpool"),
            1,
            Workload::GlobalAvgPool { c: 512, h: 7, w: 7 },
        ),
    ]
}
