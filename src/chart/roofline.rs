//! The roofline: measured layers against the machine's ceilings (log-log).

use plotters::prelude::*;

use crate::chart::style::{color, INK};
use crate::chart::{draw, legend, plot_err, styled_mesh, Frame};
use crate::error::Result;
use crate::numfmt::fixed;

/// (intensity, GFLOP/s, layer path) of one measured layer.
pub type RoofPoint = (f64, f64, String);

/// Draws the roofline of `series` (model name, its points) under a DRAM
/// ceiling of `read_gbs` GB/s, the roofs of the caches (`caches`: name and
/// read GB/s, dashed) and a compute ceiling of `peak` GFLOP/s: a hierarchical
/// roofline, so that a layer whose data fits a cache sits under that cache's
/// roof instead of above the DRAM one.
pub fn roofline(
    frame: Frame,
    title: &str,
    read_gbs: f64,
    caches: &[(String, f64)],
    peak: f64,
    series: &[(String, Vec<RoofPoint>)],
) -> Result<String> {
    let ridge = if read_gbs > 0.0 { peak / read_gbs } else { 1.0 };
    let all: Vec<&(f64, f64, String)> = series.iter().flat_map(|s| s.1.iter()).collect();
    let xmin = all
        .iter()
        .map(|p| p.0)
        .fold(f64::INFINITY, f64::min)
        .min(0.1)
        / 2.0;
    let xmax = all.iter().map(|p| p.0).fold(0.0, f64::max).max(ridge * 4.0) * 2.0;
    let ymax = peak.max(1.0) * 2.0;
    let ymin = (read_gbs * xmin).max(0.01) / 2.0;
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
        .build_cartesian_2d((xmin..xmax).log_scale(), (ymin..ymax).log_scale())
        .map_err(plot_err)?;
        styled_mesh!(ch, crate::chart::TEXT)
            .x_desc("arithmetic intensity (FLOP per byte, log)")
            .y_desc("GFLOP/s (log)")
            .draw()
            .map_err(plot_err)?;
        let roof: Vec<(f64, f64)> = (0..=60)
            .map(|i| {
                let x = xmin * (xmax / xmin).powf(i as f64 / 60.0);
                (x, (read_gbs * x).min(peak))
            })
            .collect();
        for (k, (name, gbs)) in caches.iter().enumerate() {
            // Lighter for the faster, smaller caches.
            let shade = [170u8, 140, 110][k.min(2)];
            let grey = RGBColor(shade, shade, shade);
            let line: Vec<(f64, f64)> = (0..=60)
                .map(|i| {
                    let x = xmin * (xmax / xmin).powf(i as f64 / 60.0);
                    (x, (gbs * x).min(peak))
                })
                .collect();
            ch.draw_series(DashedLineSeries::new(line, 6, 4, grey.stroke_width(2)))
                .map_err(plot_err)?
                .label(format!("{name} roof: {} GB/s", fixed(*gbs, 0)))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], grey.stroke_width(2))
                });
        }
        ch.draw_series(LineSeries::new(roof, INK.stroke_width(2)))
            .map_err(plot_err)?
            .label(format!(
                "DRAM: {} GB/s, peak {} GFLOP/s",
                fixed(read_gbs, 1),
                fixed(peak, 1)
            ))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], INK.stroke_width(2)));
        for (i, (name, pts)) in series.iter().enumerate() {
            let col = color(i);
            ch.draw_series(pts.iter().map(|p| Circle::new((p.0, p.1), 4, col.filled())))
                .map_err(plot_err)?
                .label(name.clone())
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, col.filled()));
        }
        legend(&mut ch, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })
}
