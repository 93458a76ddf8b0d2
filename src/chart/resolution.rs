//! Parameters or MACs against input resolution.

use plotters::prelude::*;

use crate::chart::{capital, Metric};
use crate::chart::{
    chart,
    frame::{draw, head, plot_err, unit},
    styled_mesh, Chart, Look, TEXT,
};
use crate::error::Result;
use crate::numfmt::si;

/// One model's curve: (name, id, (input size, value) points).
pub type Curve = (String, String, Vec<(u64, u64)>);

pub fn resolution(series: &[Curve], sizes: &[u64], metric: Metric, look: &Look) -> Result<Chart> {
    let max_raw = series
        .iter()
        .flat_map(|s| s.2.iter())
        .map(|p| p.1)
        .max()
        .unwrap_or(1) as f64;
    let (scale, suffix, decimals) = unit(max_raw);
    let xmax = *sizes.iter().max().unwrap_or(&224) as f64 * 1.05;
    let xmin = *sizes.iter().min().unwrap_or(&0) as f64 * 0.9;
    let ymax = max_raw / scale * 1.1;
    let title = look.title(&format!(
        "{} against input resolution",
        capital(metric.label())
    ));
    let entries: Vec<(String, RGBColor, bool)> = series
        .iter()
        .map(|(name, id, _)| (name.clone(), look.colour(id), true))
        .collect();
    let svg = draw(look.frame, |root| {
        let body = head(root, look, &title, &entries)?;
        let mut c = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(if look.frame.narrow { 56 } else { 64 })
            .build_cartesian_2d(xmin..xmax, 0f64..ymax.max(0.001))
            .map_err(plot_err)?;
        styled_mesh!(c, TEXT)
            .x_desc("input height = width (pixels)")
            .y_desc(format!("{} ({suffix})", metric.label()))
            .x_labels(look.ticks(8))
            .y_labels(look.ticks(8))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.decimals$}"))
            .draw()
            .map_err(plot_err)?;
        for (_, id, pts) in series {
            let col = look.colour(id);
            let p: Vec<(f64, f64)> = pts
                .iter()
                .map(|(s, v)| (*s as f64, *v as f64 / scale))
                .collect();
            c.draw_series(LineSeries::new(p.clone(), col.stroke_width(2)))
                .map_err(plot_err)?;
            c.draw_series(p.iter().map(|q| Circle::new(*q, 3, col.filled())))
                .map_err(plot_err)?;
        }
        Ok(())
    })?;
    let mut alt = format!("{} at input sizes {:?}. ", capital(metric.label()), sizes);
    let mut csv = String::from("model,size,value\n");
    for (name, id, pts) in series {
        let vals: Vec<String> = pts
            .iter()
            .map(|(s, v)| format!("{s}: {}", si(*v, 2)))
            .collect();
        alt.push_str(&format!("{name}: {}. ", vals.join(", ")));
        for (s, v) in pts {
            csv.push_str(&format!("{id},{s},{v}\n"));
        }
    }
    Ok(chart(title, alt.trim_end().into(), svg, csv))
}
