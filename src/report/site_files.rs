//! Files of the site that are not rendered pages: `content/static/**`
//! copied verbatim, and the `sitemap.xml` written when a `base_url` is set.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::report::assets;

/// A `sitemap.xml` of every HTML file under `base_url` (sorted, no dates,
/// so that it is byte-identical between builds).
pub fn sitemap(base_url: &str, files: &BTreeMap<String, Vec<u8>>) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for name in files.keys().filter(|n| n.ends_with(".html")) {
        xml.push_str(&format!(
            "  <url><loc>{}</loc></url>\n",
            assets::escape(&format!("{base_url}{name}"))
        ));
    }
    xml.push_str("</urlset>\n");
    xml
}

/// Copies `content/static/**` into the site's `static/` folder byte for byte,
/// so that a page's `static/fig.png` works in the sources and in the site.
pub fn copy_static(dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::io("read folder", dir, e.into()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        let rel = path.strip_prefix(dir).unwrap_or(path);
        let Some(rel) = rel.to_str() else {
            return Err(Error::Render {
                message: "a static file's name is not UTF-8; rename it".into(),
                span: None,
                location: Some(path.display().to_string()),
            });
        };
        let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
        files.insert(format!("static/{}", rel.replace('\\', "/")), bytes);
    }
    Ok(())
}
