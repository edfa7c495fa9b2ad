#!/usr/bin/env node
// Builds the npm packages of bifrost from built binaries (the esbuild layout):
//
//   @bifrost-rs/cli             the `bifrost` command: npm/cli's launcher, with every platform
//                               package below as an optional dependency of the same version
//   @bifrost-rs/cli-<os>-<cpu>  one binary each, with `os`/`cpu` (and `libc`) so that npm
//                               installs only the one matching the machine
//
// Usage:
//   node scripts/build-npm.mjs --out DIR [--pack] (--binary FILE (--target TRIPLE | --platform OS-CPU))...
//
// The version is the one in Cargo.toml. `--target` takes a Rust target triple (see
// npm/cli/platforms.json for those each package accepts); `--platform` names the package
// directly (linux-x64, darwin-arm64, ...). The packages are written to DIR/cli and
// DIR/cli-<os>-<cpu>; `--pack` also runs `npm pack` on each and leaves the tarballs in DIR.
// A binary that can run here is checked to print this version first.
// Publishing: `npm publish` every platform package, then the main one.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TEMPLATE = path.join(ROOT, "npm", "cli");
const PLATFORMS = JSON.parse(fs.readFileSync(path.join(TEMPLATE, "platforms.json"), "utf8"));
const MAIN = JSON.parse(fs.readFileSync(path.join(TEMPLATE, "package.json"), "utf8"));

function die(message) {
  process.stderr.write(`build-npm: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = { out: undefined, pack: false, binaries: [] };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = () => {
      i += 1;
      if (i >= argv.length) die(`${flag} needs a value`);
      return argv[i];
    };
    switch (flag) {
      case "--out":
        args.out = path.resolve(value());
        break;
      case "--pack":
        args.pack = true;
        break;
      case "--binary":
        args.binaries.push({ file: path.resolve(value()) });
        break;
      case "--target":
      case "--platform": {
        const last = args.binaries.at(-1);
        if (!last || last.spec) die(`${flag} must follow its --binary`);
        last.spec = { [flag.slice(2)]: value() };
        break;
      }
      case "-h":
      case "--help":
        process.stdout.write(
          "usage: node scripts/build-npm.mjs --out DIR [--pack] " +
            "(--binary FILE (--target TRIPLE | --platform OS-CPU))...\n",
        );
        process.exit(0);
        break;
      default:
        die(`unknown argument ${flag} (try --help)`);
    }
  }
  if (!args.out) die("--out DIR is required");
  if (args.binaries.length === 0) die("at least one --binary is required");
  for (const b of args.binaries) {
    if (!b.spec) die(`--binary ${b.file} needs a --target or --platform`);
    if (!fs.statSync(b.file, { throwIfNoEntry: false })?.isFile()) die(`no file ${b.file}`);
  }
  return args;
}

// The package version: `version` of Cargo.toml's [package] table.
function cargoVersion() {
  const toml = fs.readFileSync(path.join(ROOT, "Cargo.toml"), "utf8");
  const pkg = toml.split(/^\[/m).find((table) => table.startsWith("package]"));
  const version = pkg?.match(/^version\s*=\s*"([^"]+)"/m)?.[1];
  if (!version) die("no version in Cargo.toml's [package]");
  return version;
}

// The platform key (e.g. linux-x64) and the libc a binary needs, from --target or --platform.
function resolvePlatform(spec) {
  if (spec.platform) {
    if (!PLATFORMS[spec.platform]) {
      die(`unknown platform ${spec.platform}; known: ${Object.keys(PLATFORMS).join(", ")}`);
    }
    return { key: spec.platform, libc: undefined };
  }
  const key = Object.keys(PLATFORMS).find((k) => PLATFORMS[k].targets.includes(spec.target));
  if (!key) die(`no npm package for target ${spec.target}; see npm/cli/platforms.json`);
  // A glibc binary does not start on musl systems (Alpine); a static musl one runs everywhere.
  return { key, libc: spec.target.endsWith("-linux-gnu") ? "glibc" : undefined };
}

function writeJson(file, value) {
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

// Fails when a binary that runs on this machine reports another version.
function checkVersion(file, version) {
  let printed;
  try {
    printed = execFileSync(file, ["--version"], { encoding: "utf8", timeout: 30_000 });
  } catch (err) {
    if (["ENOEXEC", "EACCES", "ENOENT"].includes(err.code)) return;
    die(`${file} --version failed: ${err.message}`);
  }
  if (!printed.startsWith(`bifrost ${version} `)) {
    die(`${file} prints "${printed.trim()}", not version ${version} of Cargo.toml`);
  }
}

function buildPlatformPackage(out, version, binary) {
  const { key, libc } = resolvePlatform(binary.spec);
  const platform = PLATFORMS[key];
  const name = `${MAIN.name}-${key}`;
  const dir = path.join(out, `cli-${key}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
  const target = path.join(dir, "bin", platform.bin);
  fs.copyFileSync(binary.file, target);
  fs.chmodSync(target, 0o755);
  writeJson(path.join(dir, "package.json"), {
    name,
    version,
    description: `The ${key} binary of ${MAIN.name}, the bifrost AI gateway.`,
    license: MAIN.license,
    os: [platform.os],
    cpu: [platform.cpu],
    ...(libc ? { libc: [libc] } : {}),
    files: [`bin/${platform.bin}`],
    preferUnplugged: true,
  });
  fs.writeFileSync(
    path.join(dir, "README.md"),
    `# ${name}\n\nThe ${key} binary of [${MAIN.name}](https://www.npmjs.com/package/${MAIN.name}); ` +
      `install that package instead (\`npx ${MAIN.name}\`).\n`,
  );
  return dir;
}

function buildMainPackage(out, version) {
  const dir = path.join(out, "cli");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(TEMPLATE, dir, { recursive: true });
  const optionalDependencies = Object.fromEntries(
    Object.keys(PLATFORMS).map((key) => [`${MAIN.name}-${key}`, version]),
  );
  writeJson(path.join(dir, "package.json"), { ...MAIN, version, optionalDependencies });
  fs.chmodSync(path.join(dir, "bin", "bifrost.js"), 0o755);
  return dir;
}

function pack(dir, out) {
  const printed = execFileSync("npm", ["pack", "--silent", "--pack-destination", out], {
    cwd: dir,
    encoding: "utf8",
  });
  return path.join(out, printed.trim().split("\n").at(-1));
}

const args = parseArgs(process.argv.slice(2));
const version = cargoVersion();
fs.mkdirSync(args.out, { recursive: true });
const dirs = [buildMainPackage(args.out, version)];
for (const binary of args.binaries) {
  checkVersion(binary.file, version);
  dirs.push(buildPlatformPackage(args.out, version, binary));
}
for (const dir of dirs) {
  process.stdout.write(`${args.pack ? pack(dir, args.out) : dir}\n`);
}
