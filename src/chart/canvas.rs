//! What the diagrams share: a frame as tall as its content below the
//! charts' title-and-legend head, text measured with the charts' font,
//! a flow that places items left to right and wraps them, and the few
//! shapes diagrams are drawn with (boxes, arrows, labels).
//!
//! Diagrams are laid out in pixels rather than plotted on axes, but they are
//! drawn with plotters on the same frames, so their text size, font, dark
//! mode and browser checks are the charts'.

use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::chart::frame::{draw, font, head, plot_err, Area, Frame, Look, TEXT};
use crate::chart::style::{init_font, INK, PAPER};
use crate::error::Result;

/// Height of one line of diagram text.
pub const LINE: i32 = TEXT as i32 + 4;

/// Width in pixels of `text` drawn at the diagrams' size.
pub fn text_width(text: &str) -> i32 {
    init_font();
    font(TEXT)
        .font
        .box_size(text)
        .map_or(text.chars().count() as i32 * 9, |(w, _)| w as i32)
}

/// `text` broken at spaces into lines no wider than `width`.
pub fn wrap(text: &str, width: i32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if text_width(&format!("{line} {word}")) <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// Places items of known size left to right, wrapping to a new row when
/// the next one does not fit: the same layout serves the wide and the
/// narrow frame.
pub struct Flow {
    width: i32,
    gap: i32,
    x: i32,
    y: i32,
    row: i32,
}

impl Flow {
    /// A flow over `width` pixels, starting at `y`, with `gap` between items.
    pub fn new(width: i32, y: i32, gap: i32) -> Flow {
        Flow {
            width,
            gap,
            x: gap,
            y,
            row: 0,
        }
    }

    /// Where an item of `w` x `h` goes (its top-left corner).
    pub fn place(&mut self, w: i32, h: i32) -> (i32, i32) {
        if self.x > self.gap && self.x + w > self.width - self.gap {
            self.break_row();
        }
        let at = (self.x, self.y);
        self.x += w + self.gap;
        self.row = self.row.max(h);
        at
    }

    /// Ends the row: the next item starts at the left, below the tallest.
    pub fn break_row(&mut self) {
        if self.x > self.gap {
            self.y += self.row + self.gap;
        }
        self.x = self.gap;
        self.row = 0;
    }

    /// The bottom of everything placed so far.
    pub fn bottom(&self) -> i32 {
        if self.x > self.gap {
            self.y + self.row
        } else {
            self.y
        }
    }
}

/// Draws a diagram: the head (title, legend) on `look`'s frame, then
/// `paint` on an area `content_height` pixels tall below it.
pub fn diagram(
    look: &Look,
    title: &str,
    entries: &[(String, RGBColor, bool)],
    content_height: i32,
    paint: impl FnOnce(&Area) -> Result<()>,
) -> Result<(String, Frame)> {
    // The head's height depends on how its title and legend wrap: measure
    // it on a throwaway canvas first.
    let mut head_height = 0;
    draw(look.frame, |root| {
        let body = head(root, look, title, entries)?;
        head_height = body.get_base_pixel().1;
        Ok(())
    })?;
    let frame = Frame {
        height: (head_height + content_height + 12).max(1) as u32,
        ..look.frame
    };
    let sized = Look {
        frame,
        title: look.title,
        colours: look.colours,
    };
    let svg = draw(frame, |root| {
        let body = head(root, &sized, title, entries)?;
        paint(&body)
    })?;
    Ok((svg, frame))
}

/// A line of text with its top-left corner at `(x, y)`.
pub fn text(area: &Area, s: &str, (x, y): (i32, i32)) -> Result<()> {
    area.draw(&Text::new(s.to_string(), (x, y), font(TEXT)))
        .map_err(plot_err)
}

/// A line of text centred on `x`, its top at `y`.
pub fn centred(area: &Area, s: &str, (x, y): (i32, i32)) -> Result<()> {
    let style = font(TEXT).pos(Pos::new(HPos::Center, VPos::Top));
    area.draw(&Text::new(s.to_string(), (x, y), style))
        .map_err(plot_err)
}

/// A box at `(x, y)` of `w` x `h`, tinted with `tint`, with `lines`
/// centred in it.
pub fn labelled_box(
    area: &Area,
    (x, y): (i32, i32),
    (w, h): (i32, i32),
    tint: RGBColor,
    lines: &[String],
) -> Result<()> {
    area.draw(&Rectangle::new([(x, y), (x + w, y + h)], PAPER.filled()))
        .map_err(plot_err)?;
    area.draw(&Rectangle::new(
        [(x, y), (x + w, y + h)],
        tint.mix(0.22).filled(),
    ))
    .map_err(plot_err)?;
    area.draw(&Rectangle::new(
        [(x, y), (x + w, y + h)],
        tint.stroke_width(2),
    ))
    .map_err(plot_err)?;
    let top = y + (h - LINE * lines.len() as i32) / 2 + 2;
    for (i, line) in lines.iter().enumerate() {
        centred(area, line, (x + w / 2, top + i as i32 * LINE))?;
    }
    Ok(())
}

/// The size of a box holding `lines`.
pub fn box_size(lines: &[String]) -> (i32, i32) {
    let w = lines.iter().map(|l| text_width(l)).max().unwrap_or(0) + 20;
    (w, LINE * lines.len() as i32 + 10)
}

/// A polyline through `points` ending in an arrowhead, solid or dashed.
pub fn arrow(area: &Area, points: &[(i32, i32)], dashed: bool) -> Result<()> {
    let style = INK.stroke_width(2);
    if dashed {
        area.draw(&DashedPathElement::new(points.iter().copied(), 6, 4, style))
            .map_err(plot_err)?;
    } else {
        area.draw(&PathElement::new(points.to_vec(), style))
            .map_err(plot_err)?;
    }
    let (Some(&(x1, y1)), Some(&(x0, y0))) = (points.last(), points.iter().rev().nth(1)) else {
        return Ok(());
    };
    let (dx, dy) = ((x1 - x0) as f64, (y1 - y0) as f64);
    let len = (dx * dx + dy * dy).sqrt().max(1.0);
    let (ux, uy) = (dx / len, dy / len);
    let (bx, by) = (x1 as f64 - ux * 9.0, y1 as f64 - uy * 9.0);
    let head = vec![
        (x1, y1),
        (
            (bx - uy * 5.0).round() as i32,
            (by + ux * 5.0).round() as i32,
        ),
        (
            (bx + uy * 5.0).round() as i32,
            (by - ux * 5.0).round() as i32,
        ),
    ];
    area.draw(&Polygon::new(head, INK.filled()))
        .map_err(plot_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_wraps_rows_and_tracks_the_bottom() {
        let mut f = Flow::new(100, 10, 5);
        assert_eq!(f.place(40, 20), (5, 10));
        assert_eq!(f.place(40, 30), (50, 10));
        // 95 + 40 > 95: a new row below the tallest.
        assert_eq!(f.place(40, 10), (5, 45));
        assert_eq!(f.bottom(), 55);
        f.break_row();
        assert_eq!(
            f.place(200, 10),
            (5, 60),
            "an item wider than the row still goes in"
        );
        assert_eq!(f.bottom(), 70);
    }

    #[test]
    fn text_is_measured_and_wrapped() {
        let short = text_width("conv");
        assert!(short > 20 && short < 60, "{short}");
        assert!(text_width("conv conv") > 2 * short);
        let lines = wrap("a long title that wraps", text_width("a long title"));
        assert_eq!(lines, ["a long title", "that wraps"]);
    }
}
