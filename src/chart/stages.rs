//! Feature maps stage by stage, as boxes to scale: the front face's side is
//! the map's height (and width), the depth its channels, on one scale for
//! every model in the figure. What a stage costs follows from both.

use plotters::prelude::*;

use crate::chart::canvas::{centred, diagram, text, text_width, Flow, LINE};
use crate::chart::structure::shape_text;
use crate::chart::style::INK;
use crate::chart::{chart, Chart, Look, Series};
use crate::count::{Analysis, Kind};
use crate::error::Result;
use crate::numfmt::si;

/// One box: a section (or the input) and the map it works on.
struct Map {
    label: String,
    /// Channels, height, width.
    chw: [u64; 3],
    macs: Option<u64>,
}

/// The map each section works on: the output of its last conv or linear
/// layer when that is a CxHxW map, else the section's input (a head's
/// flatten or pooling sees the last map).
fn maps(a: &Analysis) -> Vec<Map> {
    let mut out = Vec::new();
    if let [c, h, w] = a.input[..] {
        out.push(Map {
            label: "input".into(),
            chw: [c, h, w],
            macs: None,
        });
    }
    for (name, totals) in &a.sections {
        let layers: Vec<_> = a.layers.iter().filter(|l| l.section == *name).collect();
        let weighted = layers
            .iter()
            .rev()
            .find(|l| matches!(l.op.kind(), Kind::Conv | Kind::Linear));
        let shape = weighted
            .map(|l| l.cost.output.as_slice())
            .filter(|s| s.len() == 3)
            .or_else(|| {
                layers
                    .first()
                    .and_then(|l| l.inputs.first())
                    .map(Vec::as_slice)
            });
        if let Some(&[c, h, w]) = shape {
            out.push(Map {
                label: name.clone(),
                chw: [c, h, w],
                macs: Some(totals.macs),
            });
        }
    }
    out
}

/// The boxes of every model, one row (wrapped on a phone) per model.
pub fn stages(list: Series, look: &Look) -> Result<Chart> {
    let narrow = look.frame.narrow;
    let all: Vec<(&Analysis, Vec<Map>)> = list.iter().map(|a| (a.as_ref(), maps(a))).collect();
    let max_side = all
        .iter()
        .flat_map(|(_, m)| m.iter().map(|m| m.chw[1].max(m.chw[2])))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let max_c = all
        .iter()
        .flat_map(|(_, m)| m.iter().map(|m| m.chw[0]))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let (side_px, depth_px) = if narrow { (64.0, 30.0) } else { (80.0, 40.0) };
    let side = |v: u64| ((v as f64 / max_side * side_px).round() as i32).max(2);
    let depth = |c: u64| ((c as f64 / max_c * depth_px * 0.7).round() as i32).max(1);
    let title = look.title("Feature maps stage by stage, to scale");
    let width = look.frame.width as i32;
    let top_room = (depth_px * 0.7).round() as i32 + 4;
    let item_h = top_room + side_px as i32 + 4 + 3 * LINE;
    // Layout: each model's name, then its boxes.
    let mut flow = Flow::new(width, 4, 14);
    let mut placed: Vec<Placed> = Vec::new();
    for (mi, (_, ms)) in all.iter().enumerate() {
        flow.break_row();
        let at = flow.place(width - 28, LINE);
        placed.push((mi, None, at, 0));
        flow.break_row();
        for (i, m) in ms.iter().enumerate() {
            let labels = label_lines(m);
            let w = (side(m.chw[2]) + depth(m.chw[0]))
                .max(labels.iter().map(|l| text_width(l)).max().unwrap_or(0));
            let at = flow.place(w, item_h);
            placed.push((mi, Some(i), at, w));
        }
    }
    let (svg, _) = diagram(look, &title, &[], flow.bottom(), |area| {
        for &(mi, item, (x, y), w) in &placed {
            let (a, ms) = &all[mi];
            let Some(i) = item else {
                text(area, &a.name, (x, y))?;
                continue;
            };
            let m = &ms[i];
            let (s_h, s_w, d) = (side(m.chw[1]), side(m.chw[2]), depth(m.chw[0]));
            let colour = look.colour(&a.id);
            // Boxes stand on one baseline, so their heights compare.
            let base = y + top_room + side_px as i32;
            let left = x + (w - s_w - d) / 2;
            let (x0, y0) = (left, base - s_h);
            let front = [(x0, y0), (x0 + s_w, base)];
            let top = vec![
                (x0, y0),
                (x0 + d, y0 - d),
                (x0 + s_w + d, y0 - d),
                (x0 + s_w, y0),
            ];
            let right = vec![
                (x0 + s_w, y0),
                (x0 + s_w + d, y0 - d),
                (x0 + s_w + d, base - d),
                (x0 + s_w, base),
            ];
            let err = crate::chart::plot_err;
            area.draw(&Polygon::new(top.clone(), colour.mix(0.45).filled()))
                .map_err(err)?;
            area.draw(&Polygon::new(right.clone(), colour.mix(0.65).filled()))
                .map_err(err)?;
            area.draw(&Rectangle::new(front, colour.mix(0.3).filled()))
                .map_err(err)?;
            for outline in [top, right] {
                let mut closed = outline.clone();
                closed.push(outline[0]);
                area.draw(&PathElement::new(closed, INK.stroke_width(1)))
                    .map_err(err)?;
            }
            area.draw(&Rectangle::new(front, INK.stroke_width(1)))
                .map_err(err)?;
            for (k, line) in label_lines(m).iter().enumerate() {
                centred(area, line, (x + w / 2, base + 6 + k as i32 * LINE))?;
            }
        }
        Ok(())
    })?;
    let mut alt = Vec::new();
    let mut csv = String::from("model,stage,channels,height,width,macs\n");
    for (a, ms) in &all {
        let parts: Vec<String> = ms
            .iter()
            .map(|m| format!("{} {}", m.label, shape_text(&m.chw)))
            .collect();
        alt.push(format!("{}: {}", a.name, parts.join(", ")));
        for m in ms {
            csv.push_str(&format!(
                "{},{},{},{},{},{}\n",
                a.id,
                m.label,
                m.chw[0],
                m.chw[1],
                m.chw[2],
                m.macs.map_or_else(String::new, |v| v.to_string())
            ));
        }
    }
    let alt = format!(
        "Boxes to scale: side = height and width of the map, depth = channels. {}",
        alt.join(". ")
    );
    Ok(chart(title, alt, svg, csv))
}

/// Where one item goes: (model, its map or `None` for its name, top-left, width).
type Placed = (usize, Option<usize>, (i32, i32), i32);

/// Under a box: its name, its shape, and what the stage costs.
fn label_lines(m: &Map) -> Vec<String> {
    let mut lines = vec![m.label.clone(), shape_text(&m.chw)];
    if let Some(macs) = m.macs {
        lines.push(format!("{} MACs", si(macs, 2)));
    }
    lines
}
