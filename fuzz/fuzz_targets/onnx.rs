//! An ONNX file from a stranger: decoding, shape propagation, integer
//! folding, then the count under every convention.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netledger::count::Convention;

fuzz_target!(|data: &[u8]| {
    match netledger::onnx::from_bytes(data, "fuzz").and_then(|m| m.analyze()) {
        Ok(analysis) => {
            for c in Convention::ALL {
                let _ = analysis.convention_total(c).map_err(|e| e.render());
            }
            let params: u64 = analysis.layers.iter().map(|l| l.params()).sum();
            assert_eq!(params, analysis.total.params, "params are the sum over layers");
        }
        Err(e) => {
            let _ = e.render();
        }
    }
});
