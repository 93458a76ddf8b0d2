//! One case's SIMD kernel with its operands, ready to run again and again:
//! what the runner times (and then checks against the scalar reference),
//! and what `bench --sample-stdin` samples for a peer script.

use super::buffer::{fill_random, random_vec, AlignedBuf};
use super::error::{shape_err, BenchError};
use super::kernels::ceilings::{read_rows, read_rows_len, read_sum, read_sum_len};
use super::kernels::conv::{ConvPlan, ConvShape};
use super::kernels::gemv::gemv;
use super::kernels::packed::{linear, PackedLinear};
use super::kernels::pool::global_avg_pool;
use super::kernels::Isa;
use super::{KernelCase, Workload};

/// The last weight matrix made, reused by the next case of the same layer
/// (fc6's sweep over batches shares one 411 MB matrix).
#[derive(Default)]
pub(crate) struct WeightCache(Option<((usize, usize), AlignedBuf)>);

impl WeightCache {
    /// A `rows x cols` matrix from the deterministic generator.
    fn get(&mut self, rows: usize, cols: usize) -> Result<&AlignedBuf, BenchError> {
        if self.0.as_ref().map(|c| c.0) != Some((rows, cols)) {
            self.0 = None;
            let mut w = AlignedBuf::new(rows * cols)?;
            fill_random(&mut w, (rows * 31 + cols) as u64);
            self.0 = Some(((rows, cols), w));
        }
        match &self.0 {
            Some((_, w)) => Ok(w),
            None => Err(BenchError::Alloc {
                bytes: rows * cols * 4,
            }),
        }
    }
}

/// A case's operands and its SIMD kernel's output after the first run.
pub(crate) enum Prepared<'w> {
    /// y = W x.
    Gemv {
        w: &'w AlignedBuf,
        x: Vec<f32>,
        y: Vec<f32>,
        rows: usize,
        cols: usize,
    },
    /// C = A W^T over a batch, on W packed where that pays.
    Gemm {
        a: Vec<f32>,
        w: &'w AlignedBuf,
        packed: Option<PackedLinear>,
        c: Vec<f32>,
        batch: usize,
        inp: usize,
        out: usize,
    },
    /// A convolution plan, run `batch` times per run.
    Conv {
        shape: ConvShape,
        plan: Box<ConvPlan>,
        weights: Vec<f32>,
        input: AlignedBuf,
        output: AlignedBuf,
        batch: usize,
    },
    /// Global average pooling, run `batch` times per run.
    Pool {
        input: Vec<f32>,
        out: Vec<f32>,
        c: usize,
        hw: usize,
        batch: usize,
    },
}

impl<'w> Prepared<'w> {
    /// Makes the case's operands (fixed seeds) and runs its kernel once.
    pub(crate) fn new(
        case: &KernelCase,
        isa: Isa,
        cache: &'w mut WeightCache,
    ) -> Result<Prepared<'w>, BenchError> {
        let mut p = match case.workload {
            Workload::Gemv { rows, cols } => Prepared::Gemv {
                x: random_vec(cols, 11),
                w: cache.get(rows, cols)?,
                y: vec![0.0; rows],
                rows,
                cols,
            },
            Workload::Gemm { batch, inp, out } => {
                let w = cache.get(out, inp)?;
                Prepared::Gemm {
                    a: random_vec(batch * inp, 12),
                    packed: PackedLinear::for_batch(isa, w, out, inp, batch)?,
                    w,
                    c: vec![0.0; batch * out],
                    batch,
                    inp,
                    out,
                }
            }
            Workload::Conv { .. } => {
                let shape = case
                    .workload
                    .conv_shape()
                    .ok_or_else(|| shape_err(&case.name, "not a conv"))?;
                shape.validate()?;
                let mut weights = vec![0.0; shape.weight_len()];
                fill_random(&mut weights, 13);
                let mut input = AlignedBuf::new(shape.input_len())?;
                input.fill_random(14);
                Prepared::Conv {
                    shape,
                    plan: Box::new(ConvPlan::new(isa, &shape, &weights)?),
                    weights,
                    input,
                    output: AlignedBuf::new(shape.output_len())?,
                    batch: case.batch,
                }
            }
            Workload::GlobalAvgPool { c, h, w } => Prepared::Pool {
                input: random_vec(c * h * w, 15),
                out: vec![0.0; c],
                c,
                hw: h * w,
                batch: case.batch,
            },
        };
        p.run(isa)?;
        Ok(p)
    }

    /// The operand the kernel streams: GEMV and GEMM the weights (as
    /// `rows x cols`, read in the GEMV's blocks of rows); a conv the larger
    /// of its input and weights, pooling its input (`None`: read in 4
    /// streams); and how often one run reads it (conv and pooling: once per
    /// image).
    fn operand(&self) -> (&[f32], Option<(usize, usize)>, usize) {
        match self {
            Prepared::Gemv { w, rows, cols, .. } => (w, Some((*rows, *cols)), 1),
            Prepared::Gemm { w, inp, out, .. } => (w, Some((*out, *inp)), 1),
            Prepared::Conv {
                input,
                weights,
                batch,
                ..
            } => {
                let larger: &[f32] = if weights.len() > input.len() {
                    weights
                } else {
                    input
                };
                (larger, None, *batch)
            }
            Prepared::Pool { input, batch, .. } => (input, None, *batch),
        }
    }

    /// Bytes one pure read of the streamed operand reads ([`Self::read_operand`]),
    /// and the same times the reads of one run: what the kernel streams.
    pub(crate) fn operand_bytes(&self, isa: Isa) -> (f64, f64) {
        let (buf, shape, reads) = self.operand();
        let floats = match shape {
            Some((rows, cols)) => read_rows_len(isa, buf.len(), rows, cols),
            None => read_sum_len(isa, buf.len(), 4),
        };
        let once = (floats * 4) as f64;
        (once, once * reads as f64)
    }

    /// Reads the operand the kernel streams once, without its arithmetic.
    pub(crate) fn read_operand(&self, isa: Isa) {
        let (buf, shape, _) = self.operand();
        std::hint::black_box(match shape {
            Some((rows, cols)) => read_rows(isa, buf, rows, cols),
            None => read_sum(isa, buf, 4),
        });
    }

    /// Runs the kernel once more (conv and pooling: `batch` images).
    pub(crate) fn run(&mut self, isa: Isa) -> Result<(), BenchError> {
        match self {
            Prepared::Gemv {
                w,
                x,
                y,
                rows,
                cols,
            } => gemv(isa, w, x, y, *rows, *cols),
            Prepared::Gemm {
                a,
                w,
                packed,
                c,
                batch,
                inp,
                out,
            } => linear(isa, packed.as_ref(), a, w, c, *batch, *inp, *out),
            Prepared::Conv {
                plan,
                input,
                output,
                batch,
                ..
            } => (0..*batch).try_for_each(|_| plan.run(input, output)),
            Prepared::Pool {
                input,
                out,
                c,
                hw,
                batch,
            } => (0..*batch).try_for_each(|_| global_avg_pool(isa, input, out, *c, *hw)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(workload: Workload, batch: usize) -> KernelCase {
        KernelCase {
            name: "case".into(),
            layer: None,
            batch,
            workload,
        }
    }

    #[test]
    fn the_read_probe_reads_the_operand_the_kernel_streams() {
        let mut cache = WeightCache::default();
        let isa = Isa::detect();
        // Vector chunks of each stream are read, the rest of a stream not.
        let chunk = if isa.narrow() == Isa::Portable { 8 } else { 16 };
        let mut bytes = |case: KernelCase| {
            let p = Prepared::new(&case, isa, &mut cache).unwrap();
            p.operand_bytes(isa)
        };
        // 64 rows of 32: one GEMV pass of 8 rows is 8 x 32 floats, all read.
        let gemv = Workload::Gemv { rows: 64, cols: 32 };
        assert_eq!(bytes(case(gemv, 1)), (64.0 * 32.0 * 4.0, 64.0 * 32.0 * 4.0));
        // 9 rows of 20: a pass of 8 rows (8 streams of 20 floats, each read
        // in whole chunks) and 1 row left over, read the same way.
        let gemm = Workload::Gemm {
            batch: 2,
            inp: 20,
            out: 9,
        };
        let rows = 8 * (20 / chunk * chunk) + 20 / chunk * chunk;
        assert_eq!(bytes(case(gemm, 2)).0, (rows * 4) as f64);
        // A conv's larger operand (weights 4 x 3 x 3 x 3 = 108 floats over
        // an input of 75), in 4 streams of 27: one chunk of each; read once
        // per image of the batch.
        let conv = Workload::Conv {
            cin: 3,
            cout: 4,
            h: 5,
            w: 5,
            k: 3,
            stride: 1,
            pad: 1,
        };
        let once = (4 * (27 / chunk * chunk) * 4) as f64;
        assert_eq!(bytes(case(conv, 2)), (once, 2.0 * once));
        let pool = Workload::GlobalAvgPool { c: 4, h: 8, w: 8 };
        assert_eq!(bytes(case(pool, 3)), (256.0 * 4.0, 3.0 * 256.0 * 4.0));
    }
}
