//! A whole model file: TOML, blocks, sections, then the count under every convention.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netledger::count::{analyze, Convention};
use netledger::model::Loader;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `extends` resolves beside this path: an empty folder, so bases are unknown.
    let path = std::env::temp_dir().join("netledger-fuzz-models/fuzz.toml");
    let outcome = Loader::default()
        .load_text(&path, text)
        .and_then(|spec| analyze(&spec, None));
    match outcome {
        Ok(analysis) => {
            for c in Convention::ALL {
                let _ = analysis.convention_total(c).map_err(|e| e.render());
            }
            let params: u64 = analysis.layers.iter().map(|l| l.params()).sum();
            assert_eq!(
                params, analysis.total.params,
                "params are the sum over layers"
            );
        }
        Err(e) => {
            let _ = e.render();
        }
    }
});
