//! What every chart kind shares: the two frames, the title-and-legend
//! head, axis units, the mesh style, and drawing into an SVG string.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::chart::style::{color, FAMILY, INK, PAPER};
use crate::error::{Error, Result};

pub type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// The canvas a chart is drawn on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Width in SVG pixels (shown at about this many CSS pixels).
    pub width: u32,
    /// Height in SVG pixels.
    pub height: u32,
    /// The phone variant: fewer ticks, a smaller title.
    pub narrow: bool,
}

/// Desktop charts: the article column is 48rem (768 px) wide.
pub const WIDE: Frame = Frame {
    width: 760,
    height: 460,
    narrow: false,
};

/// Phone charts: a 390 px screen leaves a 350 px column.
pub const NARROW: Frame = Frame {
    width: 350,
    height: 440,
    narrow: true,
};

/// Axis labels, legend and point labels. plotters writes a font of size
/// N as `font-size` 0.806 N in the SVG, so 16 is drawn at 12.9 px and shown
/// at 12 CSS px or more on either frame.
pub const TEXT: u32 = 16;

/// Model id -> its place in the palette, the same on every chart of a site.
pub type Colours = std::collections::BTreeMap<String, usize>;

/// How one chart is drawn: its frame, its title, and the models' colours.
pub struct Look<'a> {
    pub frame: Frame,
    /// `title=` from the page, which replaces the default.
    pub title: Option<&'a str>,
    /// Each model's place in the palette (models not listed take the first).
    pub colours: &'a Colours,
}

impl Look<'_> {
    pub(crate) fn title(&self, default: &str) -> String {
        self.title
            .map_or_else(|| default.to_string(), str::to_string)
    }

    /// A model's colour, the same on every chart of the site.
    pub(crate) fn colour(&self, id: &str) -> RGBColor {
        color(self.colours.get(id).copied().unwrap_or(0))
    }

    /// Ticks on an axis of `wide` labels when wide.
    pub(crate) fn ticks(&self, wide: usize) -> usize {
        if self.frame.narrow {
            wide.div_ceil(2).max(3)
        } else {
            wide
        }
    }
}

/// An axis unit for values up to `max`: the divisor, its suffix and the
/// decimals that keep ticks distinct (0 for a range of 5 units or more).
pub fn unit(max: f64) -> (f64, &'static str, usize) {
    let (scale, suffix) = if max >= 1e9 {
        (1e9, "G")
    } else if max >= 1e6 {
        (1e6, "M")
    } else if max >= 1e3 {
        (1e3, "K")
    } else {
        (1.0, "")
    };
    let decimals = if max / scale >= 5.0 { 0 } else { 1 };
    (scale, suffix, decimals)
}

/// Draws the title and a legend row above the plot; returns the plot's area.
pub fn head<'a>(
    root: &Area<'a>,
    look: &Look,
    title: &str,
    entries: &[(String, RGBColor, bool)],
) -> Result<Area<'a>> {
    let size = if look.frame.narrow { 19 } else { 22 };
    let title_font = font(size);
    // Titles too wide for the frame wrap onto a second line.
    let mut lines: Vec<String> = vec![String::new()];
    for word in title.split(' ') {
        let line = lines.last_mut().expect("one line");
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        let (w, _) = root
            .estimate_text_size(&candidate, &title_font)
            .map_err(plot_err)?;
        if w + 16 > look.frame.width && !line.is_empty() {
            lines.push(word.to_string());
        } else {
            *line = candidate;
        }
    }
    let mut y = 8i32;
    for line in &lines {
        let (w, h) = root
            .estimate_text_size(line, &title_font)
            .map_err(plot_err)?;
        let x = (look.frame.width.saturating_sub(w) / 2) as i32;
        root.draw(&Text::new(line.clone(), (x, y), title_font.clone()))
            .map_err(plot_err)?;
        y += h as i32 + 4;
    }
    // Legend entries, wrapped into rows.
    let legend = font(TEXT);
    let (mut x, row_h) = (12i32, TEXT as i32 + 8);
    if !entries.is_empty() {
        y += 4;
    }
    for (label, col, line) in entries {
        let (w, _) = root.estimate_text_size(label, &legend).map_err(plot_err)?;
        let need = 22 + w as i32 + 14;
        if x + need > look.frame.width as i32 - 8 && x > 12 {
            x = 12;
            y += row_h;
        }
        let mid = y + TEXT as i32 / 2 + 1;
        if *line {
            root.draw(&PathElement::new(
                [(x, mid), (x + 16, mid)],
                col.stroke_width(3),
            ))
            .map_err(plot_err)?;
        } else {
            root.draw(&Rectangle::new(
                [(x + 2, mid - 6), (x + 14, mid + 6)],
                col.filled(),
            ))
            .map_err(plot_err)?;
        }
        root.draw(&Text::new(label.clone(), (x + 22, y), legend.clone()))
            .map_err(plot_err)?;
        x += need;
    }
    if !entries.is_empty() {
        y += row_h;
    }
    Ok(root.split_vertically(y + 4).1)
}

/// `configure_mesh()` with the shared grid, axis and label style.
macro_rules! styled_mesh {
    ($chart:expr, $size:expr) => {
        $chart
            .configure_mesh()
            .light_line_style($crate::chart::style::GRID)
            .max_light_lines(1)
            .bold_line_style($crate::chart::style::GRID)
            .axis_style($crate::chart::style::INK)
            .label_style($crate::chart::frame::font($size))
    };
}
pub(crate) use styled_mesh;

/// Draws plotters' series legend at `position` (the measured chapter's charts).
pub fn legend<'a, 'b: 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, CT>,
    position: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(PAPER)
        .border_style(INK)
        .label_font(font(TEXT))
        .draw()
        .map_err(plot_err)
}

pub fn plot_err(e: impl std::fmt::Display) -> Error {
    Error::Render {
        message: format!("drawing a chart failed: {e}"),
        span: None,
        location: None,
    }
}

/// Draws into an SVG string of the frame's size.
pub fn draw(frame: Frame, f: impl FnOnce(&Area) -> Result<()>) -> Result<String> {
    crate::chart::style::init_font();
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (frame.width, frame.height)).into_drawing_area();
        root.fill(&PAPER).map_err(plot_err)?;
        f(&root)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

pub fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&INK)
}

/// Upper end of a segmented axis with `n` rows (plotters adds one segment past the end).
pub(crate) fn rows_range(n: u32) -> u32 {
    n.saturating_sub(1).max(1)
}
