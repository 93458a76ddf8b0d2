//! Bars of parameters or MACs per section.

use plotters::prelude::*;

use crate::chart::{capital, model_entries, Frame, Metric};
use crate::chart::{
    chart,
    frame::{draw, head, plot_err, unit},
    rows_range, styled_mesh, Chart, Look, Series, TEXT,
};
use crate::error::Result;
use crate::numfmt::si;

pub fn sections(list: Series, metric: Metric, look: &Look) -> Result<Chart> {
    let mut rows: Vec<(usize, String, u64)> = Vec::new();
    for (i, a) in list.iter().enumerate() {
        for (name, t) in &a.sections {
            let v = if metric == Metric::Macs {
                t.macs
            } else {
                t.params
            };
            // One model: its sections alone; several: each prefixed by its model.
            let label = if list.len() == 1 {
                name.clone()
            } else {
                format!("{} {name}", a.id)
            };
            rows.push((i, label, v));
        }
    }
    let labels: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
    let max_raw = rows.iter().map(|r| r.2).max().unwrap_or(1) as f64;
    let (scale, suffix, decimals) = unit(max_raw);
    let max = max_raw / scale * 1.05;
    let n = rows.len() as u32;
    let title = look.title(&format!("{} per section", capital(metric.label())));
    let entries = if list.len() > 1 {
        model_entries(list, look, false)
    } else {
        Vec::new()
    };
    let label_area = labels
        .iter()
        .map(|s| s.len() as u32 * 8 + 14)
        .max()
        .unwrap_or(60)
        .min(look.frame.width / 2);
    // Rows need room for their labels: taller than the frame when there are many.
    let frame = Frame {
        height: look.frame.height.max(120 + n * (TEXT + 9)),
        ..look.frame
    };
    let look = &Look {
        frame,
        title: look.title,
        colours: look.colours,
    };
    let svg = draw(look.frame, |root| {
        let body = head(root, look, &title, &entries)?;
        let mut c = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(label_area)
            .build_cartesian_2d(0f64..max.max(0.001), (0u32..rows_range(n)).into_segmented())
            .map_err(plot_err)?;
        styled_mesh!(c, TEXT)
            .disable_y_mesh()
            .x_desc(format!("{} ({suffix})", metric.label()))
            .x_labels(look.ticks(8))
            .x_label_formatter(&|v| format!("{v:.decimals$}"))
            .y_labels(n as usize)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .draw()
            .map_err(plot_err)?;
        for (i, a) in list.iter().enumerate() {
            let col = look.colour(&a.id);
            c.draw_series(
                rows.iter()
                    .enumerate()
                    .filter(|(_, r)| r.0 == i)
                    .map(|(j, r)| {
                        let mut rect = Rectangle::new(
                            [
                                (0.0, SegmentValue::Exact(j as u32)),
                                (r.2 as f64 / scale, SegmentValue::Exact(j as u32 + 1)),
                            ],
                            col.filled(),
                        );
                        rect.set_margin(2, 2, 0, 0);
                        rect
                    }),
            )
            .map_err(plot_err)?;
        }
        Ok(())
    })?;
    let mut alt = format!("Bars of {} per section. ", metric.label());
    let mut csv = String::from("model,section,value\n");
    for a in list {
        let parts: Vec<String> = a
            .sections
            .iter()
            .map(|(name, t)| {
                let v = if metric == Metric::Macs {
                    t.macs
                } else {
                    t.params
                };
                format!("{name} {}", si(v, 2))
            })
            .collect();
        alt.push_str(&format!("{}: {}. ", a.name, parts.join(", ")));
        for (name, t) in &a.sections {
            let v = if metric == Metric::Macs {
                t.macs
            } else {
                t.params
            };
            csv.push_str(&format!("{},{name},{v}\n", a.id));
        }
    }
    Ok(chart(title, alt.trim_end().into(), svg, csv))
}
