//! A page (front matter, Tera, Markdown, math) rendered in memory with two real models.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use netledger::report::{render, BuildOptions};

/// A scratch project with two shipped models, made once per process.
fn project() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("netledger-fuzz-page-{}", std::process::id()));
        let models = root.join("content/models");
        std::fs::create_dir_all(&models).unwrap();
        let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/../content/models");
        for name in ["resnet18.toml", "vgg11.toml"] {
            std::fs::copy(format!("{shipped}/{name}"), models.join(name)).unwrap();
        }
        root
    })
}

fuzz_target!(|data: &[u8]| {
    let root = project();
    std::fs::write(root.join("content/index.md"), data).unwrap();
    let opts = BuildOptions::new(root.join("content"), root.join("templates"), root.join("site"));
    if let Err(e) = render(&opts) {
        let _ = e.render();
    }
});
