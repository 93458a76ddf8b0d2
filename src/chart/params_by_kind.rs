//! Stacked bars of parameters by kind of layer, one bar per model.

use plotters::prelude::*;

use crate::chart::style::color;
use crate::chart::{
    chart,
    frame::{draw, head, plot_err, unit},
    rows_range, styled_mesh, Chart, Look, Series, TEXT,
};
use crate::count::Kind;
use crate::error::Result;
use crate::numfmt::{percent, si};

pub fn params_by_kind(list: Series, look: &Look) -> Result<Chart> {
    let kinds = [Kind::Conv, Kind::Linear, Kind::Norm];
    let max_raw = list.iter().map(|a| a.total.params).max().unwrap_or(1) as f64;
    let (scale, suffix, decimals) = unit(max_raw);
    let max = max_raw / scale * 1.05;
    let names: Vec<String> = list.iter().map(|a| a.id.clone()).collect();
    let n = list.len() as u32;
    let title = look.title("Parameters by kind of layer");
    let entries: Vec<(String, RGBColor, bool)> = kinds
        .iter()
        .enumerate()
        .map(|(k, kind)| (kind.as_str().to_string(), color(k), false))
        .collect();
    let label_area = names
        .iter()
        .map(|s| s.len() as u32 * 8 + 14)
        .max()
        .unwrap_or(60)
        .min(look.frame.width / 2);
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
            .x_desc(format!("parameters ({suffix})"))
            .x_labels(look.ticks(8))
            .x_label_formatter(&|v| format!("{v:.decimals$}"))
            .y_labels(n as usize)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .draw()
            .map_err(plot_err)?;
        for (k, kind) in kinds.iter().enumerate() {
            let col = color(k);
            c.draw_series(list.iter().enumerate().map(|(i, a)| {
                let before: u64 = kinds[..k].iter().map(|kk| a.kind(*kk).params).sum();
                let x0 = before as f64 / scale;
                let x1 = (before + a.kind(*kind).params) as f64 / scale;
                let mut r = Rectangle::new(
                    [
                        (x0, SegmentValue::Exact(i as u32)),
                        (x1, SegmentValue::Exact(i as u32 + 1)),
                    ],
                    col.filled(),
                );
                r.set_margin(3, 3, 0, 0);
                r
            }))
            .map_err(plot_err)?;
        }
        Ok(())
    })?;
    let mut alt = String::from("Stacked bars of parameters by kind. ");
    let mut csv = String::from("model,conv,linear,norm,total\n");
    for a in list {
        let t = a.total.params;
        alt.push_str(&format!(
            "{}: {} in total, conv {}, linear {}. ",
            a.name,
            si(t, 1),
            percent(crate::count::Totals::share(a.kind(Kind::Conv).params, t), 0),
            percent(
                crate::count::Totals::share(a.kind(Kind::Linear).params, t),
                0
            )
        ));
        csv.push_str(&format!(
            "{},{},{},{},{}\n",
            a.id,
            a.kind(Kind::Conv).params,
            a.kind(Kind::Linear).params,
            a.kind(Kind::Norm).params,
            t
        ));
    }
    Ok(chart(title, alt.trim_end().into(), svg, csv))
}
