//! One block of each model, drawn as its layers compute it: the main path
//! top to bottom, the shortcut beside it, the merge that joins them, and
//! the tensor shape on every arrow. Put a residual block beside a
//! concatenating one and the difference is in the shapes.

use crate::chart::canvas::{
    arrow, box_size, diagram, labelled_box, text, text_width, wrap, Flow, LINE,
};
use crate::chart::structure::{describe, sections, shape_text, Block, Shortcut, Unit};
use plotters::style::RGBColor;

use crate::chart::style::GRID;
use crate::chart::{chart, Chart, Look, Series};
use crate::count::Layer;
use crate::error::{Error, Result};
use crate::numfmt::thousands;

/// A box of the diagram: one layer that computes, with the cheap layers
/// after it folded in (`bn, relu`).
struct Step {
    lines: Vec<String>,
    output: String,
}

/// Groups layers into steps.
fn steps(layers: &[&Layer]) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    let mut folded: Vec<&'static str> = Vec::new();
    let flush = |out: &mut Vec<Step>, folded: &mut Vec<&'static str>| {
        if let Some(last) = out.last_mut() {
            if !folded.is_empty() {
                last.lines.push(folded.join(", "));
            }
        }
        folded.clear();
    };
    for l in layers {
        match describe(l) {
            Some(d) => {
                flush(&mut out, &mut folded);
                out.push(Step {
                    lines: vec![d],
                    output: shape_text(&l.cost.output),
                });
            }
            None => {
                if out.is_empty() {
                    out.push(Step {
                        lines: Vec::new(),
                        output: String::new(),
                    });
                }
                folded.push(l.op.name());
                if let Some(last) = out.last_mut() {
                    last.output = shape_text(&l.cost.output);
                }
            }
        }
    }
    flush(&mut out, &mut folded);
    out.retain(|s| !s.lines.is_empty());
    out
}

/// The laid-out drawing of one block, relative to its top-left corner.
struct Drawing {
    width: i32,
    height: i32,
    title: Vec<String>,
    input: String,
    body: Vec<Step>,
    shortcut: Vec<Step>,
    kind: Shortcut,
    merge: Option<String>,
    merged: String,
    after: Vec<Step>,
    output: String,
    footer: String,
    main_w: i32,
    label_w: i32,
    lane_w: i32,
    tint: RGBColor,
}

const ARROW: i32 = 34;

impl Drawing {
    fn new(name: &str, b: &Block, tint: RGBColor, max_width: i32) -> Drawing {
        let body = steps(&b.body);
        let shortcut = steps(&b.shortcut_layers);
        let after = steps(&b.after);
        let merge = b.merge_word().map(|w| match w {
            "add" => "add (+)".to_string(),
            w => w.to_string(),
        });
        let merged = b
            .merge
            .map_or_else(String::new, |m| shape_text(&m.cost.output));
        let input = shape_text(b.input);
        let output = shape_text(b.output());
        let all_steps = body.iter().chain(&after);
        let main_w = all_steps
            .clone()
            .map(|s| box_size(&s.lines).0)
            .chain(merge.iter().map(|m| box_size(std::slice::from_ref(m)).0))
            .max()
            .unwrap_or(60);
        let label_w = all_steps
            .map(|s| text_width(&s.output))
            .chain([text_width(&merged), text_width(&input), text_width(&output)])
            .max()
            .unwrap_or(0)
            + 12;
        // The shortcut's lane: a line right of the shape labels, with its
        // label right of it (identity) or its boxes centred on it.
        let lane_w = match b.shortcut {
            Shortcut::Projection => shortcut
                .iter()
                .map(|s| box_size(&s.lines).0)
                .max()
                .unwrap_or(40),
            Shortcut::Identity => 8 + text_width("identity").max(text_width(&input)),
            Shortcut::None => 0,
        } + 8;
        let width = (main_w + label_w + lane_w + 4).min(max_width);
        let title = wrap(name, width);
        let mut d = Drawing {
            width,
            height: 0,
            title,
            input,
            body,
            shortcut,
            kind: b.shortcut,
            merge,
            merged,
            after,
            output,
            footer: format!("{} params", thousands(b.params())),
            main_w,
            label_w,
            lane_w,
            tint,
        };
        d.height = d.paint_or_measure(None, (0, 0)).unwrap_or(0);
        d
    }

    /// Draws at `(x, y)` when given an area; returns the height either way.
    fn paint_or_measure(
        &self,
        area: Option<&crate::chart::Area>,
        (x, y): (i32, i32),
    ) -> Result<i32> {
        let cx = x + self.main_w / 2;
        let mut at = y;
        for line in &self.title {
            if let Some(a) = area {
                text(a, line, (x, at))?;
            }
            at += LINE;
        }
        at += 6;
        if let Some(a) = area {
            text(a, &format!("in {}", self.input), (cx + 8, at))?;
        }
        at += LINE;
        let fork_y = at;
        let mut previous = at;
        let draw_steps = |steps: &[Step], at: &mut i32, previous: &mut i32| -> Result<()> {
            for s in steps {
                let (_, h) = box_size(&s.lines);
                let top = *at + ARROW;
                if let Some(a) = area {
                    arrow(a, &[(cx, *previous), (cx, top)], false)?;
                    labelled_box(a, (x, top), (self.main_w, h), self.tint, &s.lines)?;
                }
                *at = top + h;
                *previous = *at;
                if let Some(a) = area {
                    text(a, &s.output, (cx + 8, *at + (ARROW - LINE) / 2 + 2))?;
                }
            }
            Ok(())
        };
        draw_steps(&self.body, &mut at, &mut previous)?;
        if let Some(m) = &self.merge {
            let lines = [m.clone()];
            let (_, h) = box_size(&lines);
            // The merge sits below the main path, and below the
            // projection's boxes when they are taller.
            let projection: i32 = self
                .shortcut
                .iter()
                .map(|s| box_size(&s.lines).1 + 10)
                .sum();
            let top = (at + ARROW).max(fork_y + projection + 20 - h / 2);
            // The shortcut lane, right of the shape labels.
            let lane_x = x
                + self.main_w
                + self.label_w
                + if self.kind == Shortcut::Projection {
                    self.lane_w / 2
                } else {
                    4
                };
            let merge_mid = top + h / 2;
            if let Some(a) = area {
                arrow(a, &[(cx, previous), (cx, top)], false)?;
                labelled_box(a, (x, top), (self.main_w, h), GRID, &lines)?;
            }
            match self.kind {
                Shortcut::Identity => {
                    if let Some(a) = area {
                        arrow(
                            a,
                            &[
                                (cx, fork_y - 4),
                                (lane_x, fork_y - 4),
                                (lane_x, merge_mid),
                                (x + self.main_w, merge_mid),
                            ],
                            true,
                        )?;
                        let label_y = (fork_y + merge_mid) / 2 - LINE;
                        let lx = lane_x + 8;
                        text(a, "identity", (lx, label_y))?;
                        text(a, &self.input, (lx, label_y + LINE))?;
                    }
                }
                Shortcut::Projection => {
                    let mut sy = ((fork_y + merge_mid) / 2 - projection / 2).max(fork_y + 10);
                    let mut last = fork_y - 4;
                    if let Some(a) = area {
                        arrow(a, &[(cx, fork_y - 4), (lane_x, fork_y - 4)], false)?;
                        for s in &self.shortcut {
                            let (w, h) = box_size(&s.lines);
                            let bw = w.max(self.lane_w - 8);
                            let tint = self.tint;
                            arrow(a, &[(lane_x, last), (lane_x, sy)], false)?;
                            labelled_box(a, (lane_x - bw / 2, sy), (bw, h), tint, &s.lines)?;
                            last = sy + h;
                            sy = last + 10;
                        }
                        arrow(
                            a,
                            &[
                                (lane_x, last),
                                (lane_x, merge_mid),
                                (x + self.main_w, merge_mid),
                            ],
                            false,
                        )?;
                    }
                }
                Shortcut::None => {}
            }
            at = top + h;
            previous = at;
            if let Some(a) = area {
                text(a, &self.merged, (cx + 8, at + (ARROW - LINE) / 2 + 2))?;
            }
        }
        draw_steps(&self.after, &mut at, &mut previous)?;
        at += ARROW;
        if let Some(a) = area {
            arrow(a, &[(cx, previous), (cx, at)], false)?;
        }
        at += 4;
        if let Some(a) = area {
            text(a, &format!("out {}", self.output), (x, at))?;
            text(a, &self.footer, (x, at + LINE))?;
        }
        Ok(at + 2 * LINE - y)
    }
}

/// The block at `path` of each model, side by side where they fit.
pub fn block(list: Series, path: &str, look: &Look) -> Result<Chart> {
    let mut drawings = Vec::new();
    let mut alt = Vec::new();
    let mut csv = String::from("model,block,role,layer,output\n");
    let width = look.frame.width as i32;
    for a in list {
        let structure = sections(a);
        let found = structure
            .iter()
            .flat_map(|s| &s.units)
            .find_map(|u| match u {
                Unit::Block(b) if b.path == path => Some(b),
                _ => None,
            });
        let Some(b) = found else {
            let blocks: Vec<&str> = structure
                .iter()
                .flat_map(|s| &s.units)
                .filter_map(|u| match u {
                    Unit::Block(b) => Some(b.path),
                    Unit::Layer(_) => None,
                })
                .take(9)
                .collect();
            let more = if blocks.len() > 8 { ", ..." } else { "" };
            let known = if blocks.is_empty() {
                "it has no blocks".to_string()
            } else {
                format!("blocks: {}{more}", blocks[..blocks.len().min(8)].join(", "))
            };
            return Err(Error::Render {
                message: format!("model `{}` has no block `{path}` ({known})", a.id),
                span: None,
                location: None,
            });
        };
        let shortcut = match b.shortcut {
            Shortcut::Identity => "an identity shortcut".to_string(),
            Shortcut::Projection => "a projection shortcut".to_string(),
            Shortcut::None => "no shortcut".to_string(),
        };
        alt.push(format!(
            "{} {path}: input {}, {}, merged by {}, output {} ({} params)",
            a.name,
            shape_text(b.input),
            shortcut,
            b.merge_word().unwrap_or("nothing"),
            shape_text(b.output()),
            thousands(b.params())
        ));
        for (role, layers) in [
            ("body", &b.body),
            ("shortcut", &b.shortcut_layers),
            ("after", &b.after),
        ] {
            for l in layers.iter() {
                csv.push_str(&format!(
                    "{},{path},{role},{},{}\n",
                    a.id,
                    l.local_path(),
                    shape_text(&l.cost.output)
                ));
            }
        }
        if let Some(m) = b.merge {
            csv.push_str(&format!(
                "{},{path},merge,{},{}\n",
                a.id,
                m.local_path(),
                shape_text(&m.cost.output)
            ));
        }
        drawings.push(Drawing::new(
            &format!("{}: {path}", a.name),
            b,
            look.colour(&a.id),
            width - 24,
        ));
    }
    let title = look.title(&format!("One block, {path}, with the shape on every arrow"));
    let mut flow = Flow::new(width, 4, 24);
    let places: Vec<(i32, i32)> = drawings
        .iter()
        .map(|d| flow.place(d.width, d.height))
        .collect();
    let (svg, _) = diagram(look, &title, &[], flow.bottom(), |area| {
        for (d, at) in drawings.iter().zip(&places) {
            d.paint_or_measure(Some(area), *at)?;
        }
        Ok(())
    })?;
    Ok(chart(title, alt.join("; "), svg, csv))
}
