//! Records the git commit for `bifrost --version` and `GET /api/version` as the compile-time
//! variable `BIFROST_GIT_COMMIT`.
//!
//! Where the commit comes from, first match wins:
//! 1. `BIFROST_GIT_COMMIT` in the build's environment: source tarballs and the Homebrew formula
//!    have no `.git`, so their builders pass the commit this way;
//! 2. `git rev-parse HEAD` when the crate itself is the top of a git checkout (a tarball
//!    unpacked inside some unrelated repository must not report that repository's commit);
//! 3. `unknown`.
//!
//! The script reruns only when the override or the checked-out commit changes (HEAD, the branch
//! it points to, packed refs), so edits and rebuilds stay incremental.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The build environment variable that overrides the commit.
const OVERRIDE: &str = "BIFROST_GIT_COMMIT";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed={OVERRIDE}");
    let commit = std::env::var(OVERRIDE)
        .ok()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .or_else(commit_from_git)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env={OVERRIDE}={commit}");
}

/// The short commit of the checkout this crate is the root of, watching the files that move
/// when it changes.
fn commit_from_git() -> Option<String> {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let top = git(&manifest_dir, &["rev-parse", "--show-toplevel"])?;
    if !same_dir(Path::new(&top), &manifest_dir) {
        return None;
    }
    // `--git-path` resolves worktrees (HEAD per worktree, refs in the common dir).
    let head = manifest_dir.join(git(&manifest_dir, &["rev-parse", "--git-path", "HEAD"])?);
    watch(&head);
    if let Some(branch) = git(&manifest_dir, &["symbolic-ref", "-q", "HEAD"]) {
        let loose = manifest_dir.join(git(&manifest_dir, &["rev-parse", "--git-path", &branch])?);
        if loose.exists() {
            watch(&loose);
        } else if let Some(parent) = loose.parent().filter(|p| p.exists()) {
            // A packed branch gets its loose file back on the next commit.
            watch(parent);
        }
        let packed = git(&manifest_dir, &["rev-parse", "--git-path", "packed-refs"])?;
        let packed = manifest_dir.join(packed);
        if packed.exists() {
            watch(&packed);
        }
    }
    git(&manifest_dir, &["rev-parse", "--short=12", "HEAD"])
}

/// Runs git in `dir`; its trimmed stdout when it succeeded and printed something.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Reruns the script when `path` changes. Only existing paths are watched: cargo reruns on
/// every build for a missing one.
fn watch(path: &Path) {
    println!("cargo:rerun-if-changed={}", path.display());
}
