//! The cumulative share of parameters or MACs along depth.

use plotters::prelude::*;

use crate::chart::{
    chart,
    frame::{draw, head, plot_err},
    styled_mesh, Chart, Look, Series, TEXT,
};
use crate::chart::{model_entries, weighted, Metric};
use crate::error::Result;

pub fn cumulative(list: Series, metric: Metric, look: &Look) -> Result<Chart> {
    let series: Vec<Vec<(f64, f64)>> = list
        .iter()
        .map(|a| {
            let w = weighted(a, metric);
            let total: u64 = w.iter().map(|(_, v)| v).sum::<u64>().max(1);
            let mut acc = 0u64;
            let mut pts = vec![(0.0, 0.0)];
            for (j, (_, v)) in w.iter().enumerate() {
                acc += v;
                pts.push((
                    (j + 1) as f64 / w.len() as f64 * 100.0,
                    acc as f64 / total as f64 * 100.0,
                ));
            }
            pts
        })
        .collect();
    let title = look.title(&format!(
        "Cumulative share of {} along depth",
        metric.label()
    ));
    let entries = model_entries(list, look, true);
    let svg = draw(look.frame, |root| {
        let body = head(root, look, &title, &entries)?;
        let mut c = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(if look.frame.narrow { 56 } else { 64 })
            .build_cartesian_2d(0f64..100f64, 0f64..100f64)
            .map_err(plot_err)?;
        styled_mesh!(c, TEXT)
            .x_desc("share of conv/linear layers passed (%)")
            .y_desc(format!("share of {} (%)", metric.label()))
            .x_labels(look.ticks(11))
            .y_labels(look.ticks(11))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(plot_err)?;
        for (a, pts) in list.iter().zip(&series) {
            let col = look.colour(&a.id);
            c.draw_series(LineSeries::new(pts.clone(), col.stroke_width(2)))
                .map_err(plot_err)?;
        }
        Ok(())
    })?;
    let mut alt = format!(
        "Cumulative share of {} from input to output. ",
        metric.label()
    );
    let mut csv = String::from("model,depth_percent,cumulative_percent\n");
    for (a, pts) in list.iter().zip(&series) {
        // Where half of the total is reached.
        let half = pts
            .iter()
            .find(|(_, y)| *y >= 50.0)
            .map_or(100.0, |(x, _)| *x);
        alt.push_str(&format!(
            "{} reaches half of its {} at {half:.0}% of its depth. ",
            a.name,
            metric.label()
        ));
        for (x, y) in pts {
            csv.push_str(&format!("{},{x:.3},{y:.3}\n", a.id));
        }
    }
    Ok(chart(title, alt.trim_end().into(), svg, csv))
}
