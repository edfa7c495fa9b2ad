//! Records the git commit for `bifrost --version`.

fn main() {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    if !commit.is_empty() {
        println!("cargo:rustc-env=BIFROST_GIT_COMMIT={commit}");
    }
    let shown = if commit.is_empty() {
        "unknown".to_owned()
    } else {
        commit.clone()
    };
    println!("cargo:rustc-env=BIFROST_VERSION_COMMIT={shown}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}
