//! A model's architecture at a glance: each section a row of glyphs, one
//! per layer that computes or per block, with every block's shortcut drawn
//! over it (dashed: the input itself; solid: a projection), and a line
//! saying what the section is made of and what it hands on.

use plotters::element::DashedPathElement;
use plotters::prelude::*;

use crate::chart::canvas::{diagram, text, wrap, Flow, LINE};
use crate::chart::structure::{describe, sections, shape_text, summary, Block, Shortcut, Unit};
use crate::chart::style::{color, GRID, INK};
use crate::chart::{chart, plot_err, Area, Chart, Look};
use crate::count::{Analysis, Kind};
use crate::error::Result;
use crate::numfmt::{si, thousands};

const GLYPH_W: i32 = 14;
const GLYPH_H: i32 = 22;
const ARC: i32 = 9;

/// What a glyph is, for its colour and the legend.
#[derive(Clone, Copy, PartialEq)]
enum Glyph {
    Conv,
    Linear,
    Pool,
    Block,
    Other,
}

impl Glyph {
    const ALL: [Glyph; 5] = [
        Glyph::Conv,
        Glyph::Linear,
        Glyph::Pool,
        Glyph::Block,
        Glyph::Other,
    ];

    fn colour(self) -> RGBColor {
        match self {
            Glyph::Conv => color(0),
            Glyph::Linear => color(1),
            Glyph::Pool => RGBColor(150, 150, 150),
            Glyph::Block => color(2),
            Glyph::Other => color(5),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Glyph::Conv => "conv",
            Glyph::Linear => "linear",
            Glyph::Pool => "pooling",
            Glyph::Block => "block",
            Glyph::Other => "other",
        }
    }

    fn of(unit: &Unit) -> Option<Glyph> {
        match unit {
            Unit::Block(_) => Some(Glyph::Block),
            Unit::Layer(l) => {
                describe(l)?;
                Some(match l.op.kind() {
                    Kind::Conv => Glyph::Conv,
                    Kind::Linear => Glyph::Linear,
                    _ if l.op.name().contains("pool") || l.op.name() == "gap" => Glyph::Pool,
                    _ => Glyph::Other,
                })
            }
        }
    }
}

/// A block in words: `[2 x 3x3 conv 64, add]`, and its shortcut.
fn block_text(b: &Block) -> String {
    let mut parts: Vec<String> = b.body.iter().filter_map(|l| describe(l)).collect();
    if !b.branches.is_empty() {
        parts.push(format!("{} more branches", b.branches.len()));
    }
    if let Some(m) = b.merge_word() {
        parts.push(m.to_string());
    }
    let shortcut = match b.shortcut {
        Shortcut::Identity => ", identity shortcut",
        Shortcut::Projection => ", projection shortcut",
        Shortcut::None => "",
    };
    format!("[{}]{shortcut}", summary(&parts))
}

/// Consecutive blocks that read the same, counted: `3 blocks [2 x 3x3 conv
/// 64, add], identity shortcut`.
fn blocks_text(blocks: &[&Block]) -> String {
    let words: Vec<String> = blocks.iter().map(|b| block_text(b)).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let n = words[i..].iter().take_while(|w| **w == words[i]).count();
        out.push(format!(
            "{n} block{} {}",
            if n == 1 { "" } else { "s" },
            words[i]
        ));
        i += n;
    }
    out.join(", ")
}

/// What a section is made of, in words.
fn section_text(units: &[Unit]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < units.len() {
        match &units[i] {
            Unit::Layer(_) => {
                let mut layers = Vec::new();
                while let Some(Unit::Layer(l)) = units.get(i) {
                    layers.extend(describe(l));
                    i += 1;
                }
                if !layers.is_empty() {
                    parts.push(summary(&layers));
                }
            }
            Unit::Block(_) => {
                let mut blocks = Vec::new();
                while let Some(Unit::Block(b)) = units.get(i) {
                    blocks.push(b);
                    i += 1;
                }
                parts.push(blocks_text(&blocks));
            }
        }
    }
    parts.join(", then ")
}

/// One row per section: its words, its glyphs, what it hands on.
struct Row {
    words: Vec<String>,
    glyphs: Vec<(Glyph, Shortcut)>,
    output: Vec<String>,
}

fn draw_glyph(area: &Area, (x, y): (i32, i32), glyph: Glyph, shortcut: Shortcut) -> Result<()> {
    let top = y + ARC;
    area.draw(&Rectangle::new(
        [(x, top), (x + GLYPH_W, top + GLYPH_H)],
        glyph.colour().mix(0.75).filled(),
    ))
    .map_err(plot_err)?;
    area.draw(&Rectangle::new(
        [(x, top), (x + GLYPH_W, top + GLYPH_H)],
        INK.stroke_width(1),
    ))
    .map_err(plot_err)?;
    let arc = vec![
        (x - 2, top),
        (x - 2, y + 1),
        (x + GLYPH_W + 2, y + 1),
        (x + GLYPH_W + 2, top),
    ];
    match shortcut {
        Shortcut::Identity => area
            .draw(&DashedPathElement::new(arc, 3, 2, INK.stroke_width(2)))
            .map_err(plot_err),
        Shortcut::Projection => area
            .draw(&PathElement::new(arc, INK.stroke_width(2)))
            .map_err(plot_err),
        Shortcut::None => Ok(()),
    }
}

/// The overview of one model.
pub fn architecture(a: &Analysis, look: &Look) -> Result<Chart> {
    let width = look.frame.width as i32;
    let structure = sections(a);
    let mut rows = Vec::new();
    let mut alt = Vec::new();
    let mut csv = String::from("section,unit,kind,shortcut,output,params,macs\n");
    for s in &structure {
        let words = section_text(&s.units);
        let output = s
            .units
            .last()
            .map_or_else(String::new, |u| shape_text(u.output()));
        let params: u64 = s.units.iter().map(Unit::params).sum();
        let macs: u64 = s.units.iter().map(Unit::macs).sum();
        alt.push(format!("{}: {words}; out {output}", s.name));
        let mut glyphs = Vec::new();
        for u in &s.units {
            let Some(glyph) = Glyph::of(u) else { continue };
            let (name, shortcut) = match u {
                Unit::Block(b) => (b.path.to_string(), b.shortcut),
                Unit::Layer(l) => (l.local_path().to_string(), Shortcut::None),
            };
            let shortcut_word = match shortcut {
                Shortcut::Identity => "identity",
                Shortcut::Projection => "projection",
                Shortcut::None => "",
            };
            csv.push_str(&format!(
                "{},{name},{},{shortcut_word},{},{},{}\n",
                s.name,
                glyph.label(),
                shape_text(u.output()),
                u.params(),
                u.macs()
            ));
            glyphs.push((glyph, shortcut));
        }
        rows.push(Row {
            words: wrap(&format!("{}: {words}", s.name), width - 24),
            glyphs,
            output: wrap(
                &format!(
                    "out {output} · {} params · {} MACs",
                    thousands(params),
                    si(macs, 2)
                ),
                width - 24,
            ),
        });
    }
    let present: Vec<Glyph> = Glyph::ALL
        .into_iter()
        .filter(|g| rows.iter().any(|r| r.glyphs.iter().any(|(k, _)| k == g)))
        .collect();
    let entries: Vec<(String, RGBColor, bool)> = present
        .iter()
        .map(|g| (g.label().to_string(), g.colour(), false))
        .collect();
    let has_shortcuts = rows
        .iter()
        .any(|r| r.glyphs.iter().any(|(_, s)| *s != Shortcut::None));
    // Layout: the shortcut key, then per section its words, glyphs and output.
    let mut flow = Flow::new(width, 4, 12);
    let key_at = has_shortcuts.then(|| flow.place(width - 24, LINE + 4));
    let mut placed = Vec::new();
    for r in &rows {
        flow.break_row();
        let words = flow.place(width - 24, LINE * r.words.len() as i32);
        flow.break_row();
        let mut glyph_flow = Vec::new();
        let mut gf = Flow::new(width - 12, flow.bottom() - 6, 6);
        for _ in &r.glyphs {
            glyph_flow.push(gf.place(GLYPH_W + 4, GLYPH_H + ARC));
        }
        let below = gf.bottom() + 4;
        placed.push((words, glyph_flow, below));
        flow = Flow::new(width, below + LINE * r.output.len() as i32 + 10, 12);
    }
    let height = flow.bottom();
    let title = look.title(&format!("{}: sections and blocks", a.name));
    let (svg, _) = diagram(look, &title, &entries, height, |area| {
        if let Some((x, y)) = key_at {
            let mut kx = x;
            for (dashed, label) in [(true, "identity shortcut"), (false, "projection shortcut")] {
                let arc = vec![
                    (kx, y + 14),
                    (kx, y + 4),
                    (kx + 18, y + 4),
                    (kx + 18, y + 14),
                ];
                if dashed {
                    area.draw(&DashedPathElement::new(arc, 3, 2, INK.stroke_width(2)))
                        .map_err(plot_err)?;
                } else {
                    area.draw(&PathElement::new(arc, INK.stroke_width(2)))
                        .map_err(plot_err)?;
                }
                text(area, label, (kx + 24, y))?;
                kx += 24 + crate::chart::canvas::text_width(label) + 20;
            }
        }
        for (r, (words, glyphs, below)) in rows.iter().zip(&placed) {
            for (i, line) in r.words.iter().enumerate() {
                text(area, line, (words.0, words.1 + i as i32 * LINE))?;
            }
            for (&(g, s), &(x, y)) in r.glyphs.iter().zip(glyphs) {
                draw_glyph(area, (x + 2, y), g, s)?;
            }
            for (i, line) in r.output.iter().enumerate() {
                text(area, line, (12, below + i as i32 * LINE))?;
            }
            let rule = below + LINE * r.output.len() as i32 + 4;
            area.draw(&PathElement::new(
                vec![(12, rule), (look.frame.width as i32 - 12, rule)],
                GRID.stroke_width(1),
            ))
            .map_err(plot_err)?;
        }
        Ok(())
    })?;
    Ok(chart(title, alt.join(". "), svg, csv))
}
