#!/usr/bin/env node
// The `bifrost` command of the npm package: finds the native binary that npm installed from
// this platform's optional dependency (@bifrost-rs/cli-<os>-<cpu>) and runs it with the same
// arguments and terminal. Nothing is downloaded here or at install time.
//
// BIFROST_BINARY_PATH, when set, names the binary to run instead (a local build, or a platform
// npm has no package for).
"use strict";

const { spawn } = require("node:child_process");
const path = require("node:path");
const platforms = require("../platforms.json");

const MAIN_PACKAGE = "@bifrost-rs/cli";
// Signals a terminal or a supervisor sends to stop the gateway; the child gets them too, so it
// can drain in-flight requests and exit on its own terms. Windows has no such signals between
// processes: a console's Ctrl+C reaches the child directly.
const FORWARDED_SIGNALS =
  process.platform === "win32" ? [] : ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];

function fail(message) {
  process.stderr.write(`bifrost: ${message}\n`);
  process.exit(1);
}

function binaryPath() {
  const override = process.env.BIFROST_BINARY_PATH;
  if (override) {
    return override;
  }
  const key = `${process.platform}-${process.arch}`;
  const platform = platforms[key];
  if (!platform) {
    fail(
      `no prebuilt binary for ${key} (there are: ${Object.keys(platforms).join(", ")}).\n` +
        "Build it from source with `cargo install --git <repository>` or see the README, " +
        "then point BIFROST_BINARY_PATH at it.",
    );
  }
  const platformPackage = `${MAIN_PACKAGE}-${key}`;
  try {
    return require.resolve(`${platformPackage}/bin/${platform.bin}`);
  } catch {
    fail(
      `the package ${platformPackage}, which carries the binary for this platform, is not ` +
        "installed.\nnpm installs it as an optional dependency of " +
        `${MAIN_PACKAGE}; it is missing when optional dependencies were skipped ` +
        "(--omit=optional, --no-optional) or the lockfile was made on another platform.\n" +
        `Reinstall with them, e.g. \`npm install ${MAIN_PACKAGE}\` or \`npm install ` +
        `${platformPackage}\`, or set BIFROST_BINARY_PATH to a bifrost binary.`,
    );
  }
  return undefined;
}

function run() {
  const binary = binaryPath();
  const child = spawn(binary, process.argv.slice(2), { stdio: "inherit" });

  const forwarders = new Map();
  for (const signal of FORWARDED_SIGNALS) {
    const forward = () => {
      // The child may already be gone (a terminal's ^C reaches both processes).
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
      }
    };
    forwarders.set(signal, forward);
    process.on(signal, forward);
  }

  child.on("error", (err) => {
    fail(`cannot run ${path.resolve(binary)}: ${err.message}`);
  });
  child.on("exit", (code, signal) => {
    for (const [name, forward] of forwarders) {
      process.removeListener(name, forward);
    }
    if (signal) {
      // Die of the same signal, so that the caller sees what the binary saw.
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code === null ? 1 : code);
  });
}

run();
