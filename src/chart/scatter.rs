//! Parameters against MACs, one named point per model.

use plotters::prelude::*;

use crate::chart::{
    chart,
    frame::{draw, font, head, plot_err, unit},
    styled_mesh, Chart, Look, Series, TEXT,
};
use crate::error::Result;
use crate::numfmt::si;

/// Places point labels so that none overlaps another or leaves the plot:
/// for each point, the first of eight spots around it that is free.
fn place_labels(
    points: &[((i32, i32), &str)],
    area: (i32, i32, i32, i32),
    char_w: f64,
    h: i32,
) -> Vec<Option<(i32, i32)>> {
    let mut taken: Vec<(i32, i32, i32, i32)> = points
        .iter()
        .map(|((x, y), _)| (x - 5, y - 5, x + 5, y + 5))
        .collect();
    let (x0, y0, x1, y1) = area;
    points
        .iter()
        .map(|((x, y), text)| {
            let w = (text.chars().count() as f64 * char_w).ceil() as i32;
            let spots = [
                (x + 7, y - h - 2),
                (x + 7, y + 3),
                (x - 7 - w, y - h - 2),
                (x - 7 - w, y + 3),
                (x - w / 2, y - h - 8),
                (x - w / 2, y + 8),
                (x + 7, y - h / 2),
                (x - 7 - w, y - h / 2),
            ];
            let free = spots.into_iter().find(|(sx, sy)| {
                let r = (*sx, *sy, sx + w, sy + h);
                r.0 >= x0
                    && r.1 >= y0
                    && r.2 <= x1
                    && r.3 <= y1
                    && taken
                        .iter()
                        .all(|t| r.2 <= t.0 || t.2 <= r.0 || r.3 <= t.1 || t.3 <= r.1)
            });
            if let Some((sx, sy)) = free {
                taken.push((sx, sy, sx + w, sy + h));
            }
            free
        })
        .collect()
}

pub fn scatter(list: Series, look: &Look) -> Result<Chart> {
    let px_max = list.iter().map(|a| a.total.params).max().unwrap_or(1) as f64;
    let mx_max = list.iter().map(|a| a.total.macs).max().unwrap_or(1) as f64;
    let (pscale, psuffix, pdec) = unit(px_max);
    let (mscale, msuffix, mdec) = unit(mx_max);
    let xmax = px_max / pscale * 1.12;
    let ymax = mx_max / mscale * 1.12;
    let title = look.title("Parameters against MACs");
    let mut unplaced = Vec::new();
    let svg = draw(look.frame, |root| {
        let body = head(root, look, &title, &[])?;
        let mut c = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(if look.frame.narrow { 56 } else { 64 })
            .build_cartesian_2d(0f64..xmax.max(0.001), 0f64..ymax.max(0.001))
            .map_err(plot_err)?;
        styled_mesh!(c, TEXT)
            .x_desc(format!("parameters ({psuffix})"))
            .y_desc(format!("MACs ({msuffix})"))
            .x_labels(look.ticks(8))
            .y_labels(look.ticks(8))
            .x_label_formatter(&|v| format!("{v:.pdec$}"))
            .y_label_formatter(&|v| format!("{v:.mdec$}"))
            .draw()
            .map_err(plot_err)?;
        let pts: Vec<(f64, f64)> = list
            .iter()
            .map(|a| (a.total.params as f64 / pscale, a.total.macs as f64 / mscale))
            .collect();
        let pixels: Vec<((i32, i32), &str)> = pts
            .iter()
            .zip(list)
            .map(|(p, a)| (c.backend_coord(p), a.id.as_str()))
            .collect();
        let (xr, yr) = c.plotting_area().get_pixel_range();
        let spots = place_labels(
            &pixels,
            (xr.start, yr.start, xr.end, yr.end),
            TEXT as f64 * 0.806 * 0.62,
            (TEXT as f64 * 0.806) as i32 + 3,
        );
        for ((p, a), spot) in pts.iter().zip(list).zip(&spots) {
            let col = look.colour(&a.id);
            c.draw_series(std::iter::once(Circle::new(*p, 5, col.filled())))
                .map_err(plot_err)?;
            match spot {
                Some((sx, sy)) => {
                    // Spots are in the SVG's pixels; the body area draws relative to itself.
                    let (ox, oy) = body.get_base_pixel();
                    body.draw(&Text::new(a.id.clone(), (sx - ox, sy - oy), font(TEXT)))
                        .map_err(plot_err)?;
                }
                None => unplaced.push(a.id.clone()),
            }
        }
        Ok(())
    })?;
    let mut alt = String::from("Scatter of parameters (x) against MACs (y), each point named. ");
    if !unplaced.is_empty() {
        alt.push_str(&format!(
            "Points too crowded to label: {}. ",
            unplaced.join(", ")
        ));
    }
    let mut csv = String::from("model,params,macs\n");
    for a in list {
        alt.push_str(&format!(
            "{}: {} parameters, {} MACs. ",
            a.id,
            si(a.total.params, 1),
            si(a.total.macs, 2)
        ));
        csv.push_str(&format!("{},{},{}\n", a.id, a.total.params, a.total.macs));
    }
    Ok(chart(title, alt.trim_end().into(), svg, csv))
}
