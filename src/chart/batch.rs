//! One layer's throughput against batch size (log-log), under its ceilings.

use plotters::prelude::*;

use crate::chart::style::{color, INK};
use crate::chart::{draw, legend, plot_err, styled_mesh, Frame};
use crate::error::Result;
use crate::numfmt::fixed;

/// Draws measured (batch, GFLOP/s) `pts` under the compute peak and the
/// roofline for weights read once per batch at `read_gbs`.
pub fn batch(
    frame: Frame,
    title: &str,
    read_gbs: f64,
    peak_gflops: f64,
    pts: &[(usize, f64)],
) -> Result<String> {
    let bmax = pts.last().map_or(64, |p| p.0) as f64 * 1.5;
    draw(frame, |root| {
        let mut ch = ChartBuilder::on(&crate::chart::head(
            root,
            &crate::chart::Look {
                frame,
                title: None,
                colours: &Default::default(),
            },
            title,
            &[],
        )?)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(
            (0.8f64..bmax).log_scale(),
            (0.5f64..peak_gflops.max(1.0) * 1.5).log_scale(),
        )
        .map_err(plot_err)?;
        styled_mesh!(ch, crate::chart::TEXT)
            .x_desc("batch size (log)")
            .y_desc("GFLOP/s (log)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(plot_err)?;
        let peak = peak_gflops;
        ch.draw_series(LineSeries::new(
            vec![(0.8, peak), (bmax, peak)],
            INK.stroke_width(1),
        ))
        .map_err(plot_err)?
        .label(format!("FMA peak {} GFLOP/s", fixed(peak, 1)))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], INK.stroke_width(1)));
        // Weights read once per batch: FLOPs = 2*b*in*out over in*out*4 bytes -> b/2 FLOP/B.
        let mem: Vec<(f64, f64)> = (0..=40)
            .map(|i| {
                let bsz = 0.8 * (bmax / 0.8).powf(i as f64 / 40.0);
                (bsz, (read_gbs * bsz / 2.0).min(peak))
            })
            .collect();
        let grey = RGBColor(136, 136, 136);
        ch.draw_series(LineSeries::new(mem, grey.stroke_width(1)))
            .map_err(plot_err)?
            .label("roofline for weights read once per batch")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], grey.stroke_width(1)));
        let col = color(0);
        let line: Vec<(f64, f64)> = pts.iter().map(|p| (p.0 as f64, p.1)).collect();
        ch.draw_series(LineSeries::new(line.clone(), col.stroke_width(2)))
            .map_err(plot_err)?
            .label("measured fc6 (SIMD)")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], col.stroke_width(2)));
        ch.draw_series(line.iter().map(|p| Circle::new(*p, 4, col.filled())))
            .map_err(plot_err)?;
        legend(&mut ch, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })
}
