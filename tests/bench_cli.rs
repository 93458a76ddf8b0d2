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

#[test]
fn the_sampler_answers_on_stdout_and_names_a_bad_request_by_line() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_netledger"))
        .args(["bench", "--sample-stdin", "--network", "none"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"resnet34/head/fc\nresnet34/head/fc\nnetwork:vgg19\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: stdin:3: no case or network named `network:vgg19`\n"
    );
    assert_eq!(lines.len(), 3, "header and two samples: {stdout}");
    assert!(lines[0].starts_with("{\"machine\":{"), "{}", lines[0]);
    for l in &lines[1..] {
        assert!(l.parse::<f64>().is_ok_and(|s| s > 0.0), "{l}");
    }
}

#[test]
fn pinning_to_a_cpu_this_process_may_not_use_is_an_error() {
    let (code, err) = bench(&["--cpu", "100000", "--quick", "--network", "none"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.starts_with("error: --cpu 100000: this process may run on CPUs 0"),
        "{err}"
    );
    assert!(err.trim_end().ends_with(" only"), "{err}");
}
