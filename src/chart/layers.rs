//! Each conv and linear layer's parameters, MACs or reuse along depth (log scale).

use plotters::prelude::*;

use crate::chart::{capital, model_entries, weighted, Metric};
use crate::chart::{
    chart,
    frame::{draw, head, plot_err},
    styled_mesh, Chart, Look, Series, TEXT,
};
use crate::error::Result;
use crate::numfmt::si;

pub fn layers(list: Series, metric: Metric, look: &Look) -> Result<Chart> {
    let series: Vec<_> = list.iter().map(|a| weighted(a, metric)).collect();
    let n = series.iter().map(Vec::len).max().unwrap_or(1).max(2);
    let max = series
        .iter()
        .flatten()
        .map(|(_, v)| *v)
        .max()
        .unwrap_or(1)
        .max(10) as f64;
    let min = series
        .iter()
        .flatten()
        .map(|(_, v)| *v)
        .filter(|v| *v > 0)
        .min()
        .unwrap_or(1) as f64;
    let title = look.title(&format!(
        "{} of each conv and linear layer, along depth",
        capital(metric.label())
    ));
    let entries = model_entries(list, look, true);
    let shown = std::cell::RefCell::new(std::collections::BTreeSet::new());
    let svg = draw(look.frame, |root| {
        let body = head(root, look, &title, &entries)?;
        let mut c = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(if look.frame.narrow { 70 } else { 84 })
            .build_cartesian_2d(
                1f64..n as f64,
                ((min / 2.0).max(1.0)..max * 2.0).log_scale(),
            )
            .map_err(plot_err)?;
        styled_mesh!(c, TEXT)
            .x_desc("conv/linear layer number (input to output)")
            .y_desc(if look.frame.narrow {
                format!("{} (log)", metric.label())
            } else {
                format!("{} (log scale)", metric.label())
            })
            .x_labels(look.ticks(10))
            .y_labels(look.ticks(10))
            // A log axis labels its powers of ten only (not 70M, 80M, 90M),
            // each once (plotters may give the same key point twice).
            .y_label_formatter(&|v| {
                let exp = v.log10();
                let label = if (exp - exp.round()).abs() < 1e-9 {
                    si(v.round() as u64, 0)
                } else {
                    String::new()
                };
                if label.is_empty() || shown.borrow_mut().insert(label.clone()) {
                    label
                } else {
                    String::new()
                }
            })
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(plot_err)?;
        for (a, s) in list.iter().zip(&series) {
            let col = look.colour(&a.id);
            let pts: Vec<(f64, f64)> = s
                .iter()
                .enumerate()
                .filter(|(_, (_, v))| *v > 0)
                .map(|(j, (_, v))| ((j + 1) as f64, *v as f64))
                .collect();
            c.draw_series(LineSeries::new(pts.clone(), col.stroke_width(2)))
                .map_err(plot_err)?;
            c.draw_series(pts.iter().map(|p| Circle::new(*p, 3, col.filled())))
                .map_err(plot_err)?;
        }
        Ok(())
    })?;
    let mut alt = format!(
        "Line chart of {} per conv/linear layer on a log scale. ",
        metric.label()
    );
    let mut csv = String::from("model,index,layer,value\n");
    for (a, s) in list.iter().zip(&series) {
        if let Some((j, (path, v))) = s.iter().enumerate().max_by_key(|(_, (_, v))| *v) {
            alt.push_str(&format!(
                "{}: {} layers; the largest is {path} (layer {}) with {}. ",
                a.name,
                s.len(),
                j + 1,
                si(*v, 1)
            ));
        }
        for (j, (path, v)) in s.iter().enumerate() {
            csv.push_str(&format!("{},{},{path},{v}\n", a.id, j + 1));
        }
    }
    Ok(chart(title, alt.trim_end().into(), svg, csv))
}
