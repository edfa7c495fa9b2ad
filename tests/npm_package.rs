//! The npm packages (`npx @bifrost-rs/cli`): scripts/build-npm.mjs packs this build's binary as
//! the host's platform package, npm installs the tarballs into a temp project with no registry
//! (offline, empty cache), and the launcher runs the binary: `--version`, exit codes, a clear
//! message without the platform package, and `serve` until SIGTERM.
//!
//! Skipped, loudly, only where `npm` is not installed (CI has it: the dashboard build needs it).
#![cfg(unix)]

use std::ffi::OsStr;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::common::{eventually, http, within, BIN};

/// The main package and the prefix of its platform packages.
const PACKAGE: &str = "@bifrost-rs/cli";

#[tokio::test]
async fn npx_runs_the_binary_from_the_packed_platform_package_offline() {
    within(300, async {
        if !npm_available().await {
            eprintln!("\n!!!! SKIPPED npx_runs_the_binary_...: `npm` is not installed !!!!\n");
            return;
        }
        let platform = host_platform();
        let tmp = tempfile::tempdir().unwrap();
        let npm = Npm::new(tmp.path());

        let tarballs = npm
            .build_packages(&shrunk_binary(tmp.path()), &platform)
            .await;
        assert_eq!(
            tarballs.len(),
            2,
            "main and platform tarballs: {tarballs:?}"
        );
        npm.install(&tarballs).await;

        let expected = format!("bifrost {} ({})", bifrost::VERSION, bifrost::GIT_COMMIT);
        assert!(
            bifrost::GIT_COMMIT.len() == 12 || bifrost::GIT_COMMIT == "unknown",
            "{expected}"
        );
        for command in ["bifrost", PACKAGE] {
            let out = npm.run("npx", &[command, "--version"], &[]).await;
            assert!(out.status.success(), "npx {command} --version: {out:?}");
            assert_eq!(out.stdout.trim(), expected, "npx {command} --version");
        }

        // The binary's own errors and exit code come through unchanged.
        let missing = tmp.path().join("missing.json");
        let missing = missing.to_str().unwrap();
        let out = npm
            .run("npx", &["bifrost", "config", "check", missing], &[])
            .await;
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(out.stderr.contains("does not exist"), "{}", out.stderr);

        // The main package alone (optional dependencies skipped): a message naming what is
        // missing, and the BIFROST_BINARY_PATH escape hatch.
        let lone_launcher = npm.packages.join("cli/bin/bifrost.js");
        let lone_launcher = lone_launcher.to_str().unwrap();
        let out = npm.run("node", &[lone_launcher, "--version"], &[]).await;
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let wanted = format!("the package {PACKAGE}-{platform}, which carries the binary");
        assert!(out.stderr.contains(&wanted), "{}", out.stderr);
        let out = npm
            .run(
                "node",
                &[lone_launcher, "--version"],
                &[("BIFROST_BINARY_PATH", BIN)],
            )
            .await;
        assert_eq!(out.stdout.trim(), expected, "{out:?}");

        // The installed command (what `npm install -g` puts on PATH): SIGTERM to the launcher
        // alone reaches the server, which drains and exits 0, and so does the launcher.
        let launcher = npm.project.join("node_modules/.bin/bifrost");
        let server = npm.serve(launcher.as_os_str(), &[]).await;
        signal(&server.pid.to_string(), "TERM");
        let status = server.wait().await;
        assert_eq!(
            status.code(),
            Some(0),
            "the launcher exits as the server did"
        );

        // Through npx, a terminal's ^C or a supervisor signals the whole process group (npm, its
        // `sh -c`, the launcher, the server): the server drains and everything exits. npm itself
        // then dies of the signal it got, whatever the server returned.
        let server = npm.serve(OsStr::new("npx"), &["bifrost"]).await;
        signal(&format!("-{}", server.pid), "TERM");
        let status = server.wait().await;
        assert!(
            status.code() == Some(0) || status.signal() == Some(15),
            "npx ended with {status:?}"
        );
    })
    .await;
}

/// npm's `<os>-<cpu>` name of this machine (`process.platform`-`process.arch`).
fn host_platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        "windows" => "win32",
        other => other,
    };
    let cpu = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{os}-{cpu}")
}

async fn npm_available() -> bool {
    Command::new("npm")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success())
}

/// A copy of the debug binary without its debug info (about 30 MB instead of 230), which packs
/// and installs in seconds. Release binaries are stripped by their profile.
fn shrunk_binary(dir: &Path) -> PathBuf {
    let copy = dir.join("bifrost");
    std::fs::copy(BIN, &copy).unwrap();
    let stripped = std::process::Command::new("strip")
        .arg(&copy)
        .stderr(Stdio::null())
        .status();
    if !stripped.is_ok_and(|s| s.success()) {
        eprintln!("no `strip`: packing the 200+ MB debug binary as it is (slower)");
    }
    copy
}

/// What a finished command printed.
#[derive(Debug)]
struct Output {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// npm and node with an isolated configuration: an empty user config, an empty cache, offline,
/// and a registry that cannot answer, so that a test that passes proves no download happened.
struct Npm {
    /// Where build-npm.mjs writes the packages and tarballs.
    packages: PathBuf,
    /// The project the tarballs are installed into.
    project: PathBuf,
    env: Vec<(&'static str, PathBuf)>,
}

impl Npm {
    fn new(dir: &Path) -> Npm {
        let project = dir.join("project");
        std::fs::create_dir_all(project.join("app")).unwrap();
        std::fs::write(project.join("package.json"), "{\"private\": true}\n").unwrap();
        let userconfig = dir.join("npmrc");
        std::fs::write(&userconfig, "").unwrap();
        Npm {
            packages: dir.join("packages"),
            project,
            env: vec![
                ("npm_config_userconfig", userconfig),
                ("npm_config_cache", dir.join("npm-cache")),
                ("npm_config_offline", "true".into()),
                ("npm_config_registry", "http://127.0.0.1:9/".into()),
                ("npm_config_audit", "false".into()),
                ("npm_config_fund", "false".into()),
                ("npm_config_update_notifier", "false".into()),
            ],
        }
    }

    fn command(&self, program: &OsStr, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(&self.project)
            .env_remove("BIFROST_BINARY_PATH")
            .env_remove("NODE_PATH")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    async fn run(&self, program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let out = self
            .command(OsStr::new(program), args, env)
            .output()
            .await
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        Output {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs scripts/build-npm.mjs with `--pack`; the tarballs, main package first.
    async fn build_packages(&self, binary: &Path, platform: &str) -> Vec<PathBuf> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-npm.mjs");
        let args = [
            script.to_str().unwrap(),
            "--out",
            self.packages.to_str().unwrap(),
            "--pack",
            "--binary",
            binary.to_str().unwrap(),
            "--platform",
            platform,
        ];
        let out = self.run("node", &args, &[]).await;
        assert!(out.status.success(), "build-npm.mjs: {out:?}");
        out.stdout.lines().map(PathBuf::from).collect()
    }

    async fn install(&self, tarballs: &[PathBuf]) {
        let mut args = vec!["install", "--no-package-lock"];
        args.extend(tarballs.iter().map(|t| t.to_str().unwrap()));
        let out = self.run("npm", &args, &[]).await;
        assert!(out.status.success(), "npm install: {out:?}");
    }

    /// Starts `program args.. serve` in its own process group and waits for a healthy /health.
    async fn serve(&self, program: &OsStr, args: &[&str]) -> Server {
        let port = free_port().to_string();
        let app = self.project.join("app");
        let mut full = args.to_vec();
        full.extend(["serve", "--host", "127.0.0.1", "--port", &port, "--app-dir"]);
        full.push(app.to_str().unwrap());
        let child = self
            .command(program, &full, &[])
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server {
            pid: child.id().unwrap(),
            child,
            health: format!("http://127.0.0.1:{port}/health"),
            exited: false,
        };
        let client = http();
        eventually(60, "a healthy /health through the launcher", || async {
            let resp = client.get(&server.health).send().await.ok()?;
            let body: serde_json::Value = resp.json().await.ok()?;
            (body["status"] == "ok").then_some(())
        })
        .await;
        server
    }
}

/// `serve` started through npm, in its own process group (killed on drop, so that a failed
/// test leaves no server behind).
struct Server {
    pid: u32,
    child: Child,
    health: String,
    exited: bool,
}

impl Server {
    /// Waits for the started command to exit; then nothing of its group may be left and the
    /// port must be closed.
    async fn wait(mut self) -> ExitStatus {
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the command did not exit within 30 s of SIGTERM")
            .unwrap();
        eventually(10, "every process of the group gone", || async {
            (!group_alive(self.pid)).then_some(())
        })
        .await;
        self.exited = true;
        let after = http().get(&self.health).send().await;
        assert!(after.is_err(), "the server still answers: {after:?}");
        status
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.exited {
            signal(&format!("-{}", self.pid), "KILL");
        }
    }
}

/// Whether a process of the group still runs. On Linux zombies do not count: an orphan that
/// exited may wait a while for a container's init to reap it.
fn group_alive(pgid: u32) -> bool {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return signal(&format!("-{pgid}"), "0");
    };
    procs.flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // `pid (comm) state ppid pgrp ...`; comm may contain spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            return false;
        };
        let mut fields = rest.split(' ');
        let state = fields.next();
        let pgrp = fields.nth(1);
        state != Some("Z") && pgrp == Some(pgid.to_string().as_str())
    })
}

/// `kill -SIG -- TARGET` (a pid, or `-pgid` for a group); whether a process got it.
fn signal(target: &str, sig: &str) -> bool {
    std::process::Command::new("kill")
        .args([&format!("-{sig}"), "--", target])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
