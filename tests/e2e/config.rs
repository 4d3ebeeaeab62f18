//! The config file and FERRY_* variables, through the binary.

use crate::support::{Ferry, ferry_command, run_to_end, site};

#[tokio::test]
async fn ferry_toml_in_the_served_directory_applies_and_is_never_served() {
    let dir = site();
    std::fs::write(
        dir.path().join("ferry.toml"),
        "cache = 120\nheader = [\"X-From: file\"]\n\n[headers]\n\"*.wasm\" = { \"Cache-Control\" = \"max-age=31536000, immutable\" }\n",
    )
    .unwrap();
    let ferry = Ferry::serve(dir.path(), &[]);
    let page = reqwest::get(ferry.url("/")).await.unwrap();
    assert_eq!(page.headers()["cache-control"], "max-age=120");
    assert_eq!(page.headers()["x-from"], "file");
    let wasm = reqwest::get(ferry.url("/app.wasm")).await.unwrap();
    assert_eq!(
        wasm.headers()["cache-control"],
        "max-age=31536000, immutable"
    );
    let config = reqwest::get(ferry.url("/ferry.toml")).await.unwrap();
    assert_eq!(config.status(), 404);
}

#[tokio::test]
async fn environment_beats_the_file_and_flags_beat_both() {
    let dir = site();
    std::fs::write(dir.path().join("ferry.yaml"), "cache: 120\n").unwrap();
    let mut command = ferry_command();
    command
        .arg("serve")
        .arg(dir.path())
        .args(["--port", "0"])
        .env("FERRY_CACHE", "300");
    let from_env = Ferry::start(command);
    let response = reqwest::get(from_env.url("/")).await.unwrap();
    assert_eq!(response.headers()["cache-control"], "max-age=300");

    let mut command = ferry_command();
    command
        .arg("serve")
        .arg(dir.path())
        .args(["--port", "0", "--cache", "5"])
        .env("FERRY_CACHE", "300");
    let from_flag = Ferry::start(command);
    let response = reqwest::get(from_flag.url("/")).await.unwrap();
    assert_eq!(response.headers()["cache-control"], "max-age=5");
}

#[tokio::test]
async fn config_flag_reads_json_and_may_choose_the_directory() {
    let dir = site();
    let configs = tempfile::tempdir().unwrap();
    let config = configs.path().join("site.json");
    std::fs::write(
        &config,
        format!(
            "{{\n  \"dir\": \"{}\",\n  \"no_isolation\": true\n}}\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let mut command = ferry_command();
    command
        .args(["serve", "--port", "0", "--config"])
        .arg(&config);
    let ferry = Ferry::start(command);
    let response = reqwest::get(ferry.url("/app.wasm")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        !response
            .headers()
            .contains_key("cross-origin-opener-policy")
    );
}

#[test]
fn a_bad_config_file_names_the_file_the_line_and_the_key() {
    let dir = site();
    std::fs::write(
        dir.path().join("ferry.toml"),
        "spa = true\nmax_connections = \"lots\"\n",
    )
    .unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let (status, _, stderr) = run_to_end(&["serve", dir_arg, "--port", "0"]);
    assert_eq!(status.code(), Some(1));
    let file = dir.path().join("ferry.toml");
    assert!(
        stderr.contains(&format!(
            "{}:2: `max_connections`: invalid value 'lots'",
            file.display()
        )),
        "{stderr}"
    );
}
