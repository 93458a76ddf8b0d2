//! Which kernels `netledger bench` measures, derived from the model files.
//!
//! Shapes are never typed by hand: every case is a real layer of a shipped
//! model (its path is recorded), so the report can put each measured kernel
//! back on its layer. [`workload_of`] is the one mapping from an engine
//! layer to a kernel workload, used both to plan and to look results up.

use std::path::Path;

use crate::bench::{BenchOptions, BenchReport, KernelCase, Workload};
use crate::count::{Analysis, Layer, Op};
use crate::error::{Error, Result};

/// The batch sizes of the fc6 sweep (memory-bound at 1, compute-bound by 64).
pub const FC6_BATCHES: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];

/// The kernel that computes `layer` at batch 1, if we have one for its kind and shape.
pub fn workload_of(layer: &Layer) -> Option<Workload> {
    let input = layer.inputs.first()?;
    let size = |v: u64| usize::try_from(v).ok();
    match &layer.op {
        Op::Conv {
            out,
            kernel,
            stride,
            padding,
            dilation,
            groups,
            ..
        } if kernel[0] == kernel[1]
            && stride[0] == stride[1]
            && padding[0] == padding[1]
            && *dilation == [1, 1]
            && *groups == 1
            && input.len() == 3 =>
        {
            Some(Workload::Conv {
                cin: size(input[0])?,
                cout: size(*out)?,
                h: size(input[1])?,
                w: size(input[2])?,
                k: size(kernel[0])?,
                stride: size(stride[0])?,
                pad: size(padding[0])?,
            })
        }
        Op::Linear { out, .. } if input.len() == 1 => Some(Workload::Gemv {
            rows: size(*out)?,
            cols: size(input[0])?,
        }),
        Op::Adaptive { size: [1, 1], .. } if input.len() == 3 => Some(Workload::GlobalAvgPool {
            c: size(input[0])?,
            h: size(input[1])?,
            w: size(input[2])?,
        }),
        _ => None,
    }
}

/// The same layer's work at batch `batch` (linear layers become GEMM).
pub fn batched(workload: Workload, batch: usize) -> Workload {
    match workload {
        Workload::Gemv { rows, cols } if batch > 1 => Workload::Gemm {
            batch,
            inp: cols,
            out: rows,
        },
        other => other,
    }
}

fn case(layer: &Layer, workload: Workload, batch: usize) -> KernelCase {
    KernelCase {
        name: if batch == 1 {
            layer.path.clone()
        } else {
            format!("{}@b{batch}", layer.path)
        },
        layer: Some(layer.path.clone()),
        batch,
        workload: batched(workload, batch),
    }
}

/// Every distinct kernel shape of `a` (first layer with each shape), filtered by `keep`.
fn distinct(a: &Analysis, keep: impl Fn(&Layer, &Workload) -> bool) -> Vec<(&Layer, Workload)> {
    let mut seen: Vec<Workload> = Vec::new();
    let mut out = Vec::new();
    for layer in &a.layers {
        if let Some(w) = workload_of(layer) {
            if keep(layer, &w) && !seen.contains(&w) {
                seen.push(w);
                out.push((layer, w));
            }
        }
    }
    out
}

/// The report's cases: VGG-19 and ResNet-34 in full (every distinct conv,
/// linear and global-pool shape, so every layer's time is measured), fc6 as
/// GEMM over the batch sweep and fc7/fc8 at batch 8 and 64, and ResNet-50's
/// stage-1 1x1 bottleneck convolutions.
pub fn cases(vgg19: &Analysis, resnet34: &Analysis, resnet50: &Analysis) -> Vec<KernelCase> {
    let mut cases = Vec::new();
    for (layer, w) in distinct(vgg19, |_, _| true) {
        cases.push(case(layer, w, 1));
        if let Workload::Gemv { .. } = w {
            let batches: &[usize] = if layer.path.ends_with("/fc6") {
                &FC6_BATCHES[1..]
            } else {
                &[8, 64]
            };
            for &b in batches {
                cases.push(case(layer, w, b));
            }
        }
    }
    for (layer, w) in distinct(resnet34, |_, _| true) {
        cases.push(case(layer, w, 1));
    }
    let bottleneck = |l: &Layer, w: &Workload| {
        l.section == "stage1"
            && matches!(w, Workload::Conv { k: 1, .. })
            && !l.path.contains("/shortcut/")
    };
    for (layer, w) in distinct(resnet50, bottleneck) {
        cases.push(case(layer, w, 1));
    }
    cases
}

/// A network to run end to end: the model at its input, and at a small
/// input for the check against the scalar kernels.
pub struct NetworkCase {
    /// The model as counted at its own input.
    pub full: Analysis,
    /// The same model on a small input (the scalar check's).
    pub small: Analysis,
}

/// The batch sizes whole networks run at.
pub fn network_batches(quick: bool) -> &'static [usize] {
    if quick {
        &[1]
    } else {
        &[1, 8]
    }
}

/// Measures the planned cases (see [`cases`]) and the networks, and writes
/// the results to `out` (atomically; checked writable before any measuring
/// starts).
pub fn measure(
    planned: &[KernelCase],
    networks: &[NetworkCase],
    opts: &BenchOptions,
    out: &Path,
) -> Result<BenchReport> {
    // Each network is checked on its small input first: one that the runner
    // cannot run, or that disagrees with the scalar kernels, is an error
    // before anything is measured or written.
    let isa = opts.isa.unwrap_or_else(crate::bench::Isa::detect);
    let checks = networks
        .iter()
        .map(|n| crate::bench::network::check(&n.small, isa))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let partial = out.with_extension("json.partial");
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create folder", dir, e))?;
    }
    std::fs::write(&partial, b"").map_err(|e| Error::io("write", &partial, e))?;
    let report = crate::bench::run(planned, opts)
        .and_then(|mut r| {
            let rounds = if opts.quick { 3 } else { 7 };
            for (n, checked) in networks.iter().zip(&checks) {
                if opts.progress {
                    eprintln!("network {}", n.full.id);
                }
                let batches = network_batches(opts.quick);
                r.networks.extend(crate::bench::network::measure(
                    &n.full, checked, batches, rounds, isa,
                )?);
            }
            Ok(r)
        })
        .and_then(|r| crate::bench::save(&r, &partial).map(|()| r));
    match report {
        Ok(r) => {
            std::fs::rename(&partial, out).map_err(|e| Error::io("write", out, e))?;
            Ok(r)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e.into())
        }
    }
}
