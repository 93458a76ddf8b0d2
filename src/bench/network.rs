//! Whole networks run end to end: a counted model ([`Analysis`]) becomes a
//! list of steps over the benchmark kernels (conv, bias, batch norm, ReLU,
//! pooling, residual add, concat, linear) and runs at batch 1 or more.
//!
//! * Weights come from a deterministic generator (the time does not depend
//!   on their values); each layer's are scaled by its fan-in so that
//!   activations stay of order one through any depth.
//! * Batch norm is not folded into the convolution: it runs as its own pass
//!   over the feature map, as PyTorch runs it in eager mode.
//! * Element-wise layers whose input nobody else reads (ReLU, batch norm)
//!   work in place; flatten, dropout and identity are free.
//! * [`check`] runs the network on a small input, checks every convolution
//!   and linear layer against the scalar kernels on the same inputs (with
//!   the bound of [`check_close`]), and compares the output with a forward
//!   pass that uses the scalar kernels throughout.

use std::time::Instant;

use crate::bench::buffer::AlignedBuf;
use crate::bench::error::{shape_err, BenchError};
use crate::bench::harness::median;
use crate::bench::kernels::conv::{conv2d_scalar, ConvPlan, ConvShape};
use crate::bench::kernels::gemm::gemm_scalar;
use crate::bench::kernels::packed::{linear, PackedLinear};
use crate::bench::kernels::window::{adaptive_pool, avg_pool, max_pool, Window};
use crate::bench::kernels::{check_close, Isa};
use crate::bench::plan::workload_of;
use crate::bench::results::{NetworkCheck, NetworkResult, OpTime};
use crate::count::{Analysis, Layer, Op};
use crate::model::file::Merge;
use crate::model::op::{Activation, PoolKind};

/// What a step computes on one image (linear layers: on the whole batch).
enum Kernel {
    Conv {
        plan: Box<ConvPlan>,
        shape: ConvShape,
        weights: Vec<f32>,
        bias: Option<Vec<f32>>,
    },
    Linear {
        weights: AlignedBuf,
        /// The weights packed for the network's batch, where that pays.
        packed: Option<PackedLinear>,
        bias: Option<Vec<f32>>,
        inp: usize,
        out: usize,
    },
    /// Per-channel scale and shift over planes of `plane` floats (batch norm).
    Affine {
        scale: Vec<f32>,
        shift: Vec<f32>,
        plane: usize,
    },
    Act(Activation),
    MaxPool(Window),
    AvgPool(Window),
    Adaptive {
        max: bool,
        input: (usize, usize, usize),
        size: (usize, usize),
    },
    Add,
    Concat,
    /// Option-A shortcut: subsample by `stride`, zero channels on both sides.
    ZeroPad {
        input: (usize, usize, usize),
        out: (usize, usize, usize),
        stride: usize,
    },
}

impl Kernel {
    fn in_place(&self) -> bool {
        matches!(self, Kernel::Affine { .. } | Kernel::Act(_))
    }
}

/// The group a layer's time is reported under in a forward pass (bias
/// adds count with their layer), or `None` for a layer that costs nothing
/// (flatten, dropout, identity).
pub fn step_label(op: &Op) -> Option<&'static str> {
    Some(match op {
        Op::Flatten | Op::Dropout | Op::Identity => return None,
        Op::Conv { .. } => "conv",
        Op::Linear { .. } => "linear",
        Op::BatchNorm { .. } => "batch norm",
        Op::Activation { .. } => "activation",
        Op::Pool { .. } | Op::Adaptive { .. } | Op::Mean { .. } => "pooling",
        Op::Merge { .. } => "merge",
        Op::ZeroPad { .. } => "shortcut pad",
        _ => "other",
    })
}

struct Step {
    path: String,
    label: &'static str,
    kernel: Kernel,
    /// Buffers read, in input order.
    inputs: Vec<usize>,
    /// Buffer written (equal to `inputs[0]` for a step in place).
    out: usize,
    /// Output floats per image.
    out_len: usize,
}

/// A network ready to run: steps, packed weights and activation buffers.
pub struct Network {
    /// Model id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Images per run.
    pub batch: usize,
    /// Input shape without the batch.
    pub input: Vec<u64>,
    /// MACs of one run (all images).
    pub macs: u64,
    isa: Isa,
    steps: Vec<Step>,
    /// Buffer 0 is the input.
    buffers: Vec<AlignedBuf>,
    output: usize,
}

/// The weights of a layer: uniform in ±sqrt(6 / fan_in) from a seeded
/// SplitMix64 stream, so a ReLU network keeps its activations' scale.
fn weights(seed: u64, n: usize, fan_in: usize) -> Vec<f32> {
    let bound = (6.0 / fan_in.max(1) as f64).sqrt();
    uniform(seed, n).map(|u| (u * bound) as f32).collect()
}

/// `n` values uniform in [-1, 1) from SplitMix64 seeded with `seed`.
fn uniform(seed: u64, n: usize) -> impl Iterator<Item = f64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    (0..n).map(move |_| {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    })
}

fn size(layer: &Layer, v: u64) -> Result<usize, BenchError> {
    usize::try_from(v).map_err(|_| unsupported(layer, "a size does not fit in memory"))
}

fn unsupported(layer: &Layer, reason: impl std::fmt::Display) -> BenchError {
    BenchError::Unsupported {
        layer: layer.path.clone(),
        reason: reason.to_string(),
    }
}

/// Elements of `shape`, or an error naming `what`.
fn numel(what: &str, shape: &[u64]) -> Result<usize, BenchError> {
    shape.iter().try_fold(1usize, |n, &d| {
        usize::try_from(d)
            .ok()
            .and_then(|d| n.checked_mul(d))
            .ok_or_else(|| shape_err(what, "a tensor is larger than memory"))
    })
}

fn chw(layer: &Layer, shape: &[u64]) -> Result<(usize, usize, usize), BenchError> {
    match *shape {
        [c, h, w] => Ok((size(layer, c)?, size(layer, h)?, size(layer, w)?)),
        _ => Err(unsupported(layer, "it needs a CxHxW input")),
    }
}

/// The kernel of one layer at `batch` (a linear layer packs its weights for
/// it); `None` for layers that leave the data as is.
fn kernel(layer: &Layer, seed: u64, isa: Isa, batch: usize) -> Result<Option<Kernel>, BenchError> {
    let input = layer
        .inputs
        .first()
        .ok_or_else(|| unsupported(layer, "it has no input"))?;
    let out = &layer.cost.output;
    Ok(Some(match &layer.op {
        Op::Flatten | Op::Dropout | Op::Identity => return Ok(None),
        Op::Conv {
            kernel,
            stride,
            padding,
            dilation,
            groups,
            bias,
            ..
        } => {
            if kernel[0] != kernel[1] || stride[0] != stride[1] || padding[0] != padding[1] {
                return Err(unsupported(
                    layer,
                    "only square kernels, strides and paddings",
                ));
            }
            if *dilation != [1, 1] || *groups != 1 {
                return Err(unsupported(layer, "dilated and grouped convolutions"));
            }
            // The same mapping from a layer to a kernel shape as the bench plan's.
            let shape = workload_of(layer)
                .and_then(|w| w.conv_shape())
                .ok_or_else(|| unsupported(layer, "it needs a CxHxW input"))?;
            let fan_in = shape.reduction_len();
            let weights = weights(seed, shape.weight_len(), fan_in);
            let plan = Box::new(ConvPlan::new(isa, &shape, &weights)?);
            let bias = bias.then(|| weights_bias(seed, shape.cout, fan_in));
            Kernel::Conv {
                plan,
                shape,
                weights,
                bias,
            }
        }
        Op::Linear { out: n, bias } => {
            let [k] = input[..] else {
                return Err(unsupported(layer, "linear layers on tokens"));
            };
            let (inp, out) = (size(layer, k)?, size(layer, *n)?);
            let len = inp
                .checked_mul(out)
                .ok_or_else(|| unsupported(layer, "a size overflows"))?;
            let mut w = AlignedBuf::new(len)?;
            w.copy_from_slice(&weights(seed, len, inp));
            Kernel::Linear {
                packed: PackedLinear::for_batch(isa, &w, out, inp, batch)?,
                weights: w,
                bias: bias.then(|| weights_bias(seed, out, inp)),
                inp,
                out,
            }
        }
        Op::BatchNorm { .. } => {
            let (c, h, w) = chw(layer, input)?;
            // gamma in [0.5, 1.5], beta in [-0.1, 0.1], running mean 0 and
            // variance 1: scale = gamma / sqrt(1 + eps), shift = beta.
            let inv = 1.0 / (1.0f64 + 1e-5).sqrt();
            let scale = uniform(seed, c).map(|u| ((1.0 + u / 2.0) * inv) as f32);
            let shift = uniform(seed ^ 1, c).map(|u| (u / 10.0) as f32);
            Kernel::Affine {
                scale: scale.collect(),
                shift: shift.collect(),
                plane: h * w,
            }
        }
        Op::Activation { act, .. } => match act {
            Activation::Relu
            | Activation::Sigmoid
            | Activation::Silu
            | Activation::Tanh
            | Activation::Hardswish
            | Activation::Hardsigmoid => Kernel::Act(*act),
            other => {
                return Err(unsupported(
                    layer,
                    format!("activation {}", other.keyword()),
                ))
            }
        },
        Op::Pool {
            pool,
            kernel,
            stride,
            padding,
            dilation,
            ..
        } => {
            let (c, h, w) = chw(layer, input)?;
            let (_, oh, ow) = chw(layer, out)?;
            let pair = |v: &[u64; 2]| Ok::<_, BenchError>([size(layer, v[0])?, size(layer, v[1])?]);
            let win = Window {
                c,
                h,
                w,
                oh,
                ow,
                k: pair(kernel)?,
                stride: pair(stride)?,
                pad: pair(padding)?,
                dilation: pair(dilation)?,
            };
            match pool {
                PoolKind::Max => Kernel::MaxPool(win),
                PoolKind::Avg => Kernel::AvgPool(win),
            }
        }
        Op::Adaptive { pool, .. } => {
            let (_, oh, ow) = chw(layer, out)?;
            Kernel::Adaptive {
                max: *pool == PoolKind::Max,
                input: chw(layer, input)?,
                size: (oh, ow),
            }
        }
        // `x.mean((2, 3))`: global average pooling.
        Op::Mean { dims, .. }
            if input.len() == 3 && {
                let mut d = dims.clone();
                d.sort_unstable();
                d == [2, 3]
            } =>
        {
            Kernel::Adaptive {
                max: false,
                input: chw(layer, input)?,
                size: (1, 1),
            }
        }
        Op::Merge { merge: Merge::Add } => Kernel::Add,
        Op::Merge {
            merge: Merge::Concat,
        } => Kernel::Concat,
        Op::ZeroPad { stride, .. } => Kernel::ZeroPad {
            input: chw(layer, input)?,
            out: chw(layer, out)?,
            stride: size(layer, *stride)?,
        },
        other => return Err(unsupported(layer, format!("layer kind `{}`", other.name()))),
    }))
}

fn weights_bias(seed: u64, n: usize, fan_in: usize) -> Vec<f32> {
    weights(seed ^ 0xB1A5, n, fan_in)
}

impl Network {
    /// Prepares `analysis` for `batch` images on `isa`; `in_place` lets
    /// element-wise layers overwrite an input nobody else reads ([`check`]
    /// turns it off to keep every layer's input).
    pub fn new(
        analysis: &Analysis,
        batch: usize,
        isa: Isa,
        in_place: bool,
    ) -> Result<Network, BenchError> {
        let isa = isa.usable();
        let layers = &analysis.layers;
        if batch == 0 || layers.is_empty() {
            return Err(shape_err(
                &analysis.id,
                "needs layers and a batch of at least 1",
            ));
        }
        let input_len = numel(&analysis.id, &analysis.input)?;
        // The buffer each layer's output lives in (through free layers), and
        // how many steps read each layer's output.
        let mut buffer_of: Vec<usize> = Vec::with_capacity(layers.len());
        let mut producer: Vec<Option<usize>> = Vec::with_capacity(layers.len());
        let mut readers = vec![0usize; layers.len()];
        let mut kernels = Vec::with_capacity(layers.len());
        for (i, layer) in layers.iter().enumerate() {
            if layer.sources.len() != layer.inputs.len() {
                return Err(unsupported(layer, "the model's dataflow is not recorded (only model files have it so far, not ONNX graphs)"));
            }
            for (j, (source, shape)) in layer.sources.iter().zip(&layer.inputs).enumerate() {
                let made = match *source {
                    None => &analysis.input,
                    Some(s) if s < i => &layers[s].cost.output,
                    Some(_) => return Err(unsupported(layer, "an input comes from a later layer")),
                };
                // Model files give every layer its exact input; imported
                // graphs may reshape on the way (same size, same data order).
                let count = |v: &[u64]| v.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
                if count(made) != count(shape) || (made != shape && layer.span.is_some()) {
                    return Err(unsupported(
                        layer,
                        format!(
                            "its input {j} should be {} but its source makes {}",
                            crate::count::op::shape_str(shape),
                            crate::count::op::shape_str(made)
                        ),
                    ));
                }
            }
            let k = kernel(layer, i as u64 + 1, isa, batch)?;
            // A free layer stands for its input's producer.
            let resolve = |s: &Option<usize>| s.and_then(|s| producer[s]);
            if k.is_some() {
                let mut seen = Vec::new();
                for s in layer.sources.iter().filter_map(resolve) {
                    if !seen.contains(&s) {
                        readers[s] += 1;
                        seen.push(s);
                    }
                }
            }
            producer.push(match k {
                Some(_) => Some(i),
                None => resolve(&layer.sources[0]),
            });
            kernels.push(k);
        }
        let mut sizes = vec![input_len];
        let mut steps = Vec::new();
        for (layer, k) in layers.iter().zip(kernels) {
            let source_buffer = |s: &Option<usize>| s.map_or(0, |s| buffer_of[s]);
            let inputs: Vec<usize> = layer.sources.iter().map(source_buffer).collect();
            let Some(kernel) = k else {
                buffer_of.push(inputs[0]);
                continue;
            };
            let out_len = numel(&layer.path, &layer.cost.output)?;
            let src = layer.sources[0].and_then(|s| producer[s]);
            let out = match src {
                Some(p) if in_place && kernel.in_place() && readers[p] == 1 => inputs[0],
                _ => {
                    sizes.push(out_len);
                    sizes.len() - 1
                }
            };
            buffer_of.push(out);
            steps.push(Step {
                path: layer.path.clone(),
                label: step_label(&layer.op).unwrap_or("other"),
                kernel,
                inputs,
                out,
                out_len,
            });
        }
        let output = *buffer_of.last().unwrap_or(&0);
        let buffers = sizes
            .iter()
            .map(|&n| {
                n.checked_mul(batch)
                    .ok_or_else(|| shape_err(&analysis.id, "activations overflow"))
                    .and_then(AlignedBuf::new)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut net = Network {
            id: analysis.id.clone(),
            name: analysis.name.clone(),
            batch,
            input: analysis.input.clone(),
            macs: analysis.total.macs.saturating_mul(batch as u64),
            isa,
            steps,
            buffers,
            output,
        };
        let x: Vec<f32> = uniform(0, input_len * batch).map(|u| u as f32).collect();
        net.buffers[0].copy_from_slice(&x);
        Ok(net)
    }

    /// The instruction set the kernels run on.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Runs the network once; `reference` uses the scalar conv and linear
    /// kernels. Returns the seconds each step took.
    pub fn forward(&mut self, reference: bool) -> Result<Vec<f64>, BenchError> {
        let mut times = Vec::with_capacity(self.steps.len());
        for i in 0..self.steps.len() {
            let t = Instant::now();
            self.step(i, reference)?;
            times.push(t.elapsed().as_secs_f64());
        }
        Ok(times)
    }

    /// The network's output (all images).
    pub fn output(&self) -> &[f32] {
        &self.buffers[self.output]
    }

    fn step(&mut self, i: usize, reference: bool) -> Result<(), BenchError> {
        let batch = self.batch;
        let step = &mut self.steps[i];
        let out_len = step.out_len;
        if step.inputs[0] == step.out {
            let buf = &mut self.buffers[step.out];
            return in_place(&step.kernel, buf);
        }
        let mut out = std::mem::replace(&mut self.buffers[step.out], AlignedBuf::new(0)?);
        let inputs: Vec<&[f32]> = step.inputs.iter().map(|&b| &self.buffers[b][..]).collect();
        let result = run(
            &mut step.kernel,
            &inputs,
            &mut out,
            batch,
            out_len,
            self.isa,
            reference,
        );
        self.buffers[step.out] = out;
        result.map_err(|e| match e {
            BenchError::InvalidShape { reason, .. } => shape_err(&step.path, reason),
            other => other,
        })
    }
}

fn in_place(kernel: &Kernel, buf: &mut [f32]) -> Result<(), BenchError> {
    match kernel {
        Kernel::Affine {
            scale,
            shift,
            plane,
        } => {
            for (i, p) in buf.chunks_exact_mut(*plane).enumerate() {
                let c = i % scale.len();
                let (s, b) = (scale[c], shift[c]);
                p.iter_mut().for_each(|v| *v = *v * s + b);
            }
        }
        Kernel::Act(act) => activate(*act, buf),
        _ => return Err(shape_err("network", "this step cannot run in place")),
    }
    Ok(())
}

fn activate(act: Activation, buf: &mut [f32]) {
    // One loop per function, so each is inlined and vectorised.
    fn map(buf: &mut [f32], f: impl Fn(f32) -> f32) {
        buf.iter_mut().for_each(|v| *v = f(*v));
    }
    match act {
        Activation::Relu => map(buf, |v| v.max(0.0)),
        Activation::Sigmoid => map(buf, |v| 1.0 / (1.0 + (-v).exp())),
        Activation::Silu => map(buf, |v| v / (1.0 + (-v).exp())),
        Activation::Tanh => map(buf, f32::tanh),
        Activation::Hardswish => map(buf, |v| v * (v + 3.0).clamp(0.0, 6.0) / 6.0),
        Activation::Hardsigmoid => map(buf, |v| (v + 3.0).clamp(0.0, 6.0) / 6.0),
        _ => {}
    }
}

/// Runs one step out of place over the whole batch.
fn run(
    kernel: &mut Kernel,
    inputs: &[&[f32]],
    out: &mut [f32],
    batch: usize,
    out_len: usize,
    isa: Isa,
    reference: bool,
) -> Result<(), BenchError> {
    let x = inputs[0];
    let in_len = x.len() / batch;
    match kernel {
        Kernel::Conv {
            plan,
            shape,
            weights,
            bias,
        } => {
            for (xi, yi) in x.chunks_exact(in_len).zip(out.chunks_exact_mut(out_len)) {
                if reference {
                    conv2d_scalar(shape, xi, weights, yi)?;
                } else {
                    plan.run(xi, yi)?;
                }
                if let Some(b) = bias {
                    let plane = out_len / b.len();
                    for (p, &bv) in yi.chunks_exact_mut(plane).zip(b.iter()) {
                        p.iter_mut().for_each(|v| *v += bv);
                    }
                }
            }
        }
        Kernel::Linear {
            weights,
            packed,
            bias,
            inp,
            out: n,
        } => {
            if reference {
                gemm_scalar(x, weights, out, batch, *inp, *n)?;
            } else {
                linear(isa, packed.as_ref(), x, weights, out, batch, *inp, *n)?;
            }
            if let Some(b) = bias {
                for row in out.chunks_exact_mut(*n) {
                    row.iter_mut().zip(b.iter()).for_each(|(v, bv)| *v += bv);
                }
            }
        }
        Kernel::Affine { .. } | Kernel::Act(_) => {
            out.copy_from_slice(x);
            in_place(kernel, out)?;
        }
        Kernel::MaxPool(win) => {
            for (xi, yi) in x.chunks_exact(in_len).zip(out.chunks_exact_mut(out_len)) {
                max_pool(win, xi, yi)?;
            }
        }
        Kernel::AvgPool(win) => {
            for (xi, yi) in x.chunks_exact(in_len).zip(out.chunks_exact_mut(out_len)) {
                avg_pool(win, xi, yi)?;
            }
        }
        Kernel::Adaptive { max, input, size } => {
            for (xi, yi) in x.chunks_exact(in_len).zip(out.chunks_exact_mut(out_len)) {
                adaptive_pool(*max, *input, *size, xi, yi)?;
            }
        }
        Kernel::Add => {
            out.copy_from_slice(x);
            for other in &inputs[1..] {
                out.iter_mut().zip(other.iter()).for_each(|(v, o)| *v += o);
            }
        }
        Kernel::Concat => {
            // Per image: each input's channels in turn.
            let mut at = 0;
            for b in 0..batch {
                for part in inputs {
                    let n = part.len() / batch;
                    out[at..at + n].copy_from_slice(&part[b * n..(b + 1) * n]);
                    at += n;
                }
            }
        }
        Kernel::ZeroPad {
            input: (c, h, w),
            out: (oc, oh, ow),
            stride,
        } => {
            let (c, h, w, oc, oh, ow, stride) = (*c, *h, *w, *oc, *oh, *ow, *stride);
            let front = (oc - c) / 2;
            for (xi, yi) in x.chunks_exact(in_len).zip(out.chunks_exact_mut(out_len)) {
                yi.fill(0.0);
                for ch in 0..c {
                    for y in 0..oh {
                        for xx in 0..ow {
                            yi[((front + ch) * oh + y) * ow + xx] =
                                xi[(ch * h + y * stride) * w + xx * stride];
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Checks the fast kernels on `small` (the same model on a small input):
/// every conv and linear layer against the scalar kernel on the same input,
/// then the whole output against a scalar forward pass.
pub fn check(small: &Analysis, isa: Isa) -> Result<NetworkCheck, BenchError> {
    let mut net = Network::new(small, 1, isa, false)?;
    net.forward(false)?;
    let mut layers = 0;
    for step in &net.steps {
        let x = &net.buffers[step.inputs[0]][..];
        let got = &net.buffers[step.out][..];
        let abs = |v: &[f32]| v.iter().map(|a| a.abs()).collect::<Vec<f32>>();
        let (want, bound, n) = match &step.kernel {
            Kernel::Conv { shape, weights, .. } => {
                let mut want = vec![0.0; step.out_len];
                let mut bound = vec![0.0; step.out_len];
                conv2d_scalar(shape, x, weights, &mut want)?;
                conv2d_scalar(shape, &abs(x), &abs(weights), &mut bound)?;
                (want, bound, shape.reduction_len())
            }
            Kernel::Linear {
                weights, inp, out, ..
            } => {
                let mut want = vec![0.0; *out];
                let mut bound = vec![0.0; *out];
                gemm_scalar(x, weights, &mut want, 1, *inp, *out)?;
                gemm_scalar(&abs(x), &abs(weights), &mut bound, 1, *inp, *out)?;
                (want, bound, *inp)
            }
            _ => continue,
        };
        // The bias was added to both; add it to the bound's terms too.
        let bias = match &step.kernel {
            Kernel::Conv { bias, .. } | Kernel::Linear { bias, .. } => bias.as_deref(),
            _ => None,
        };
        let (want, bound) = match bias {
            Some(b) => {
                let plane = step.out_len / b.len();
                let add = |v: &[f32], f: fn(f32) -> f32| -> Vec<f32> {
                    v.iter()
                        .enumerate()
                        .map(|(j, &a)| a + f(b[j / plane]))
                        .collect()
                };
                (add(&want, |b| b), add(&bound, f32::abs))
            }
            None => (want, bound),
        };
        check_close(got, &want, &bound, n + 1).map_err(|(index, err)| BenchError::Mismatch {
            name: step.path.clone(),
            variant: net.isa.name().to_string(),
            max_err: err,
            index,
        })?;
        layers += 1;
    }
    let fast = net.output().to_vec();
    net.forward(true)?;
    let want = net.output();
    let scale = want
        .iter()
        .fold(0.0f32, |m, v| m.max(v.abs()))
        .max(f32::MIN_POSITIVE);
    let err = fast
        .iter()
        .zip(want)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    Ok(NetworkCheck {
        input: small.input.clone(),
        layers,
        output_error: f64::from(err / scale),
    })
}

/// Times `net` over `rounds` runs after one warm-up run: each run's total,
/// and the time by kind of step of the median run (so the kinds add up to
/// the median total).
pub fn time(net: &mut Network, rounds: usize) -> Result<(Vec<f64>, Vec<OpTime>), BenchError> {
    net.forward(false)?;
    let mut runs = Vec::with_capacity(rounds);
    for _ in 0..rounds.max(1) {
        runs.push(net.forward(false)?);
    }
    let totals: Vec<f64> = runs.iter().map(|t| t.iter().sum()).collect();
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| totals[a].total_cmp(&totals[b]));
    let middle = &runs[order[order.len() / 2]];
    let mut ops: Vec<OpTime> = Vec::new();
    for (step, &seconds) in net.steps.iter().zip(middle) {
        let label = step.label;
        match ops.iter_mut().find(|o| o.op == label) {
            Some(o) => {
                o.seconds += seconds;
                o.layers += 1;
            }
            None => ops.push(OpTime {
                op: label.to_string(),
                seconds,
                layers: 1,
            }),
        }
    }
    Ok((totals, ops))
}

/// Times `full` at each batch; `checked` is its [`check`], recorded with it.
pub fn measure(
    full: &Analysis,
    checked: &NetworkCheck,
    batches: &[usize],
    rounds: usize,
    isa: Isa,
) -> Result<Vec<NetworkResult>, BenchError> {
    let mut out = Vec::new();
    for &batch in batches {
        let mut net = Network::new(full, batch, isa, true)?;
        let (totals, by_op) = time(&mut net, rounds)?;
        let sorted = {
            let mut s = totals.clone();
            s.sort_by(f64::total_cmp);
            s
        };
        out.push(NetworkResult {
            model: net.id.clone(),
            name: net.name.clone(),
            batch,
            input: net.input.clone(),
            macs: net.macs,
            isa: net.isa.name().to_string(),
            median_s: median(&totals),
            best_s: sorted[0],
            worst_s: sorted[sorted.len() - 1],
            samples: totals.len(),
            by_op,
            batch_norm: "separate pass (not folded)".into(),
            check: checked.clone(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::analyze;
    use crate::model::load::Loader;
    use std::path::Path;

    fn analysis(toml: &str, input: &[u64]) -> Analysis {
        let spec = Loader::default()
            .load_text(Path::new("net.toml"), toml)
            .expect("model parses");
        analyze(&spec, Some(input)).expect("model counts")
    }

    /// A residual network in miniature: stem, pooling, an identity block,
    /// a projection block, a concatenating block, global pooling, a head.
    const SMALL: &str = r#"
name = "Small"
input = [3, 19, 19]
[blocks.basic]
args = ["c", "s"]
body = ["conv $c k3 s$s p1 nobias", "bn", "relu", "conv $c k3 p1 nobias", "bn"]
merge = "add"
shortcut = "auto"
projection = ["conv $c k1 s$s nobias", "bn"]
then = ["relu"]
[blocks.cat]
args = ["c"]
body = ["conv $c k1"]
branches = [["conv $c k3 p1", "relu"]]
merge = "concat"
[[section]]
name = "stem"
layers = ["conv 8 k5 s2 p2", "relu", "maxpool k3 s2 p1", "avgpool k3 s1 p1"]
[[section]]
name = "body"
layers = ["basic 8 1", "basic 16 2", "cat 8", "dropout"]
[[section]]
name = "head"
layers = ["gap", "flatten", "linear 10"]
"#;

    #[test]
    fn every_kernel_agrees_with_the_scalar_forward_pass() {
        let a = analysis(SMALL, &[3, 19, 19]);
        for isa in Isa::all_available() {
            let c = check(&a, isa).expect("fast and scalar agree");
            let mac_layers = a
                .layers
                .iter()
                .filter(|l| matches!(l.op, Op::Conv { .. } | Op::Linear { .. }))
                .count();
            assert_eq!(c.layers, mac_layers);
            assert!(c.output_error < 1e-4, "{isa:?}: {}", c.output_error);
        }
    }

    #[test]
    fn a_batch_agrees_with_the_scalar_forward_pass_on_every_isa() {
        // At batch 3 the head runs on packed weights where the ISA packs
        // them (AVX-512 and AVX2).
        let a = analysis(SMALL, &[3, 19, 19]);
        for isa in Isa::all_available() {
            let mut net = Network::new(&a, 3, isa, false).unwrap();
            net.forward(true).unwrap();
            let want = net.output().to_vec();
            net.forward(false).unwrap();
            let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
            assert_eq!(net.output().len(), 30);
            for (i, (g, w)) in net.output().iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-4 * scale,
                    "{isa:?} output {i}: {g} against {w}"
                );
            }
        }
    }

    #[test]
    fn in_place_steps_give_the_same_output_and_batches_repeat_the_image() {
        let a = analysis(SMALL, &[3, 19, 19]);
        let mut apart = Network::new(&a, 1, Isa::detect(), false).unwrap();
        let mut fused = Network::new(&a, 1, Isa::detect(), true).unwrap();
        assert!(
            fused.buffers.len() < apart.buffers.len(),
            "ReLU and BN run in place"
        );
        apart.forward(false).unwrap();
        fused.forward(false).unwrap();
        assert_eq!(apart.output(), fused.output());
        assert_eq!(fused.output().len(), 10);
        // Batch 3: three images, the first the same as at batch 1 only in
        // shape; each image's output is computed on its own input.
        let mut three = Network::new(&a, 3, Isa::detect(), true).unwrap();
        three.forward(false).unwrap();
        assert_eq!(three.output().len(), 30);
        assert_eq!(three.macs, 3 * a.total.macs);
    }

    #[test]
    fn the_kinds_of_step_add_up_to_the_median_run() {
        let a = analysis(SMALL, &[3, 19, 19]);
        let mut net = Network::new(&a, 1, Isa::detect(), true).unwrap();
        let (totals, ops) = time(&mut net, 5).unwrap();
        assert_eq!(totals.len(), 5);
        let sum: f64 = ops.iter().map(|o| o.seconds).sum();
        let m = median(&totals);
        assert!((sum - m).abs() <= 1e-9 * m, "{sum} vs {m}");
        let kinds: Vec<&str> = ops.iter().map(|o| o.op.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "conv",
                "activation",
                "pooling",
                "batch norm",
                "merge",
                "linear"
            ]
        );
        let steps: usize = ops.iter().map(|o| o.layers).sum();
        assert_eq!(steps, net.steps.len());
    }

    #[test]
    fn a_changed_weight_changes_the_output() {
        // The check must be able to fail: flip one packed weight's source.
        let a = analysis(SMALL, &[3, 19, 19]);
        let mut net = Network::new(&a, 1, Isa::detect(), false).unwrap();
        net.forward(false).unwrap();
        let before = net.output().to_vec();
        // The fast path keeps its packed copy; the scalar path reads this one.
        if let Kernel::Conv { weights, .. } = &mut net.steps[0].kernel {
            weights[0] += 1.0;
        }
        net.forward(true).unwrap();
        let diff = before
            .iter()
            .zip(net.output())
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(diff > 1e-3, "a different weight must show: {diff}");
    }

    #[test]
    fn a_source_of_the_wrong_shape_is_refused() {
        let mut a = analysis(SMALL, &[3, 19, 19]);
        // Point the first pooling at the model's input instead of the conv.
        let pool = a
            .layers
            .iter()
            .position(|l| matches!(l.op, Op::Pool { .. }))
            .unwrap();
        a.layers[pool].sources = vec![None];
        let err = Network::new(&a, 1, Isa::Portable, true)
            .err()
            .expect("refused");
        assert_eq!(
            err.to_string(),
            "net/stem/pool1: the forward runner cannot run it: its input 0 should be 1x8x10x10 but its source makes 1x3x19x19"
        );
    }

    #[test]
    fn what_it_cannot_run_is_named_with_the_layer() {
        let grouped = r#"
name = "G"
input = [4, 8, 8]
[[section]]
name = "s"
layers = ["conv 4 k3 p1 g2"]
"#;
        let a = analysis(grouped, &[4, 8, 8]);
        let err = Network::new(&a, 1, Isa::Portable, true)
            .err()
            .expect("refused");
        assert_eq!(
            err.to_string(),
            "net/s/conv1: the forward runner cannot run it: dilated and grouped convolutions"
        );
    }
}

#[cfg(test)]
mod onnx_tests {
    use super::*;
    use std::path::Path;

    fn onnx(file: &str) -> Analysis {
        let path = Path::new("tests/fixtures/onnx").join(file);
        crate::onnx::load(&path, "resnet18")
            .and_then(|m| m.analyze())
            .expect("fixture imports")
    }

    #[test]
    fn onnx_exports_run_whole_from_their_recorded_dataflow() {
        for file in [
            "resnet18.ts17.onnx",
            "resnet18.dynamo.onnx",
            "resnet18.ts13-bn.onnx",
        ] {
            let a = onnx(file);
            let unknown: Vec<&str> = a
                .layers
                .iter()
                .filter(|l| l.sources.len() != l.inputs.len())
                .map(|l| l.path.as_str())
                .collect();
            assert!(unknown.is_empty(), "{file}: {unknown:?}");
            let mut net = Network::new(&a, 1, Isa::detect(), true).expect(file);
            net.forward(false).unwrap();
            assert_eq!(net.output().len(), 1000, "{file}");
            assert!(net.output().iter().all(|v| v.is_finite()), "{file}");
        }
        // Batch norm kept (ts13-bn): every conv and linear layer and the
        // output against the scalar kernels, on the export's own input.
        let c = check(&onnx("resnet18.ts13-bn.onnx"), Isa::detect()).expect("agrees");
        assert_eq!(c.layers, 21);
        assert!(c.output_error < 1e-4, "{}", c.output_error);
    }
}
