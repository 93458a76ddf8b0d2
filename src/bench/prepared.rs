//! One case's SIMD kernel with its operands, ready to run again and again:
//! what the runner times (and then checks against the scalar reference),
//! and what `bench --sample-stdin` samples for a peer script.

use super::buffer::{fill_random, random_vec, AlignedBuf};
use super::error::{shape_err, BenchError};
use super::kernels::ceilings::{read_rows, read_sum};
use super::kernels::conv::{ConvPlan, ConvShape};
use super::kernels::gemm::gemm;
use super::kernels::gemv::gemv;
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
    /// C = A W^T over a batch.
    Gemm {
        a: Vec<f32>,
        w: &'w AlignedBuf,
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
            Workload::Gemm { batch, inp, out } => Prepared::Gemm {
                a: random_vec(batch * inp, 12),
                w: cache.get(out, inp)?,
                c: vec![0.0; batch * out],
                batch,
                inp,
                out,
            },
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

    /// Reads the operand the kernel streams, without its arithmetic (GEMV
    /// and GEMM: the weights, in the GEMV's blocks of rows; conv and
    /// pooling: one image's input, 4 streams); returns the bytes read.
    pub(crate) fn read_operand(&self, isa: Isa) -> f64 {
        let (buf, rows, cols): (&[f32], usize, usize) = match self {
            Prepared::Gemv { w, rows, cols, .. } => (w, *rows, *cols),
            Prepared::Gemm { w, inp, out, .. } => (w, *out, *inp),
            Prepared::Conv { input, .. } => {
                std::hint::black_box(read_sum(isa, input, 4));
                return (input.len() / 4 * 16) as f64;
            }
            Prepared::Pool { input, .. } => {
                std::hint::black_box(read_sum(isa, input, 4));
                return (input.len() / 4 * 16) as f64;
            }
        };
        std::hint::black_box(read_rows(isa, buf, rows, cols));
        (rows.min(buf.len() / cols.max(1)) * cols * 4) as f64
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
                c,
                batch,
                inp,
                out,
            } => gemm(isa, a, w, c, *batch, *inp, *out),
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
        // Every row of W, whether or not the rows fill whole passes of the
        // GEMV (10 rows: one pass of 8 and 2 left over).
        let gemv = Workload::Gemv { rows: 10, cols: 36 };
        let p = Prepared::new(&case(gemv, 1), isa, &mut cache).unwrap();
        assert_eq!(p.read_operand(isa), (10 * 36 * 4) as f64);
        let gemm = Workload::Gemm {
            batch: 2,
            inp: 36,
            out: 9,
        };
        let p = Prepared::new(&case(gemm, 2), isa, &mut cache).unwrap();
        assert_eq!(p.read_operand(isa), (9 * 36 * 4) as f64);
        // A conv's and a pooling's input, in 4 equal streams (75 floats: 72).
        let conv = Workload::Conv {
            cin: 3,
            cout: 4,
            h: 5,
            w: 5,
            k: 3,
            stride: 1,
            pad: 1,
        };
        let p = Prepared::new(&case(conv, 2), isa, &mut cache).unwrap();
        assert_eq!(p.read_operand(isa), (72 * 4) as f64);
        let pool = Workload::GlobalAvgPool { c: 3, h: 5, w: 5 };
        let p = Prepared::new(&case(pool, 1), isa, &mut cache).unwrap();
        assert_eq!(p.read_operand(isa), (72 * 4) as f64);
    }
}
