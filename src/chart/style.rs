//! What every chart shares: the embedded font, the palette, the SVG
//! finishing (title, description, dark mode, responsive size).

use std::sync::Once;

use plotters::style::{FontStyle, RGBColor};

use crate::escape::escape;

/// DejaVu Sans, shipped in `assets/fonts` (licence beside it): text is
/// measured with the same font on every machine, so SVG bytes are identical.
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The font family name charts use.
pub const FAMILY: &str = "sans-serif";

/// Registers the embedded font with plotters (once per process).
pub fn init_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is a valid TrueType file compiled into the binary.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// Paul Tol's "vibrant" scheme, then three of his "muted" colours that
/// differ from it: distinct for colour-blind readers, legible on light and dark.
pub const PALETTE: [RGBColor; 9] = [
    RGBColor(0, 119, 187),
    RGBColor(238, 119, 51),
    RGBColor(0, 153, 136),
    RGBColor(204, 51, 17),
    RGBColor(51, 187, 238),
    RGBColor(238, 51, 119),
    RGBColor(170, 68, 153),
    RGBColor(153, 153, 51),
    RGBColor(17, 119, 51),
];

/// Colour of series `i`.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Text and axes.
pub const INK: RGBColor = RGBColor(34, 34, 34);
/// Light grid lines.
pub const GRID: RGBColor = RGBColor(221, 221, 221);
/// Background.
pub const PAPER: RGBColor = RGBColor(255, 255, 255);

/// Adds `<title>`, `<desc>`, a viewBox and dark-mode rules to plotters' SVG,
/// at the size it was drawn (a chart may be taller than its frame).
pub fn finish(svg: &str, title: &str, desc: &str) -> String {
    let Some(open_end) = svg.find('>') else {
        return svg.to_string();
    };
    let size = |attr: &str| {
        svg[..open_end]
            .split(&format!(" {attr}=\""))
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or("0")
            .to_string()
    };
    let (w, h) = (size("width"), size("height"));
    let head = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\">\
<title>{}</title><desc>{}</desc>\
<style>text{{font-family:'DejaVu Sans',Verdana,sans-serif}}\
@media (prefers-color-scheme:dark){{[fill=\"#FFFFFF\"]{{fill:#1b1d22}}[fill=\"#222222\"]{{fill:#e6e6e6}}\
[stroke=\"#222222\"]{{stroke:#d0d0d0}}[stroke=\"#DDDDDD\"]{{stroke:#3a3d44}}text{{fill:#e6e6e6}}}}</style>",
        escape(title),
        escape(desc)
    );
    let mut out = head;
    out.push_str(&svg[open_end + 1..]);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}
