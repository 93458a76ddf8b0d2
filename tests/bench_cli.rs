//! `netledger bench` refuses bad input before measuring anything.

use std::process::Command;

fn bench(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_netledger"))
        .arg("bench")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_unknown_filter_is_an_error_and_writes_nothing() {
    let out = std::env::temp_dir().join(format!(
        "netledger-bench-filter-{}.json",
        std::process::id()
    ));
    let (code, err) = bench(&[
        "--quick",
        "--filter",
        "no-such-kernel",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("filter `no-such-kernel` matches no benchmark case"),
        "{err}"
    );
    assert!(!out.exists());
    assert!(
        !out.with_extension("json.partial").exists(),
        "no partial file left"
    );
}

#[test]
fn an_unwritable_output_fails_before_measuring() {
    let blocker =
        std::env::temp_dir().join(format!("netledger-bench-blocker-{}", std::process::id()));
    std::fs::write(&blocker, "a file").unwrap();
    let out = blocker.join("bench.json");
    let (code, err) = bench(&["--quick", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("netledger-bench-blocker"), "{err}");
    let _ = std::fs::remove_file(blocker);
}

#[test]
fn misuse_is_exit_code_2() {
    assert_eq!(bench(&["--quick=yes"]).0, 2);
    assert_eq!(bench(&["--bogus"]).0, 2);
}
