//! `bench.json` from a stranger: parsed and range-checked, then drawn as the
//! measured chapter draws it (roofline, batch chart, tables).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use netledger::report::{render, BuildOptions};

const PAGE: &str = "+++\ntitle = \"M\"\n+++\n{% if measured() %}{{ machine() }} {{ kernel_table() }} {{ time_table(models=[\"vgg11\"]) }} {{ roofline(models=[\"vgg11\"]) }} {{ batch_chart() }} {{ model_time(model=\"vgg11\") }}{% endif %}\n";

fn project() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root =
            std::env::temp_dir().join(format!("netledger-fuzz-bench-{}", std::process::id()));
        std::fs::create_dir_all(root.join("content/models")).unwrap();
        std::fs::create_dir_all(root.join("content/data")).unwrap();
        let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/../content/models/vgg11.toml");
        std::fs::copy(shipped, root.join("content/models/vgg11.toml")).unwrap();
        std::fs::write(root.join("content/index.md"), PAGE).unwrap();
        root
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = std::path::Path::new("bench.json");
    if netledger::bench::results::parse(text, path).is_err() {
        return;
    }
    let root = project();
    std::fs::write(root.join("content/data/bench.json"), text).unwrap();
    let opts = BuildOptions::new(root.join("content"), root.join("templates"), root.join("site"));
    if let Err(e) = render(&opts) {
        let _ = e.render();
    }
});
