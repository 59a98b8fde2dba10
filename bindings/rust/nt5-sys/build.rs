// Finds libnt5 for the linker (no crates from outside are needed):
//
// 1. NT5_LIB_DIR, the directory holding libnt5.so (a meson build directory
//    or <prefix>/lib/<triplet>). Cargo runs build scripts and rustc in
//    directories of its own, so a relative NT5_LIB_DIR is taken from the
//    repository root (three levels above this crate), not from where cargo
//    was started: `NT5_LIB_DIR=build` means <repository>/build.
// 2. Else the `pkg-config` program (or the one $PKG_CONFIG names) asked for
//    nt5 at least MIN_VERSION, then for its -L and -l flags in separate calls
//    (with --atleast-version pkg-config prints no flags). pkg-config reads
//    PKG_CONFIG_PATH, PKG_CONFIG_LIBDIR and PKG_CONFIG_SYSROOT_DIR from the
//    environment this script passes on unchanged; with a sysroot (a staged
//    `meson install --destdir`) it prefixes the -L paths itself.
// 3. Else a cargo warning saying what to set; linking then fails unless the
//    linker finds libnt5 in its default directories.
//
// Running a program still needs the loader to find libnt5.so.1: installed
// in a system directory, or LD_LIBRARY_PATH (an absolute path: cargo runs
// tests from the crate's directory).
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const MIN_VERSION: &str = "0.4"; // the release of ABI 4, whose fields the crates set

fn main() {
    for var in ["NT5_LIB_DIR", "PKG_CONFIG", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "PKG_CONFIG_SYSROOT_DIR"] {
        println!("cargo:rerun-if-env-changed={}", var);
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-link-lib=dylib=nt5");

    if let Some(dir) = env::var_os("NT5_LIB_DIR").filter(|d| !d.is_empty()) {
        let dir = lib_dir(Path::new(&dir));
        if !dir.join("libnt5.so").exists() {
            println!("cargo:warning=NT5_LIB_DIR: no libnt5.so in {}", dir.display());
        }
        println!("cargo:rustc-link-search=native={}", dir.display());
        return;
    }
    if let Err(why) = from_pkg_config() {
        println!("cargo:warning=libnt5 not found: {}", why);
        println!(
            "cargo:warning=set NT5_LIB_DIR to the directory of libnt5.so, or PKG_CONFIG_PATH to the directory of nt5.pc \
             (with PKG_CONFIG_SYSROOT_DIR for a staged install)"
        );
    }
}

/// NT5_LIB_DIR as an absolute path: a relative one from the repository root.
fn lib_dir(dir: &Path) -> PathBuf {
    if dir.is_absolute() {
        return dir.to_path_buf();
    }
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.join("../../..");
    let root = root.canonicalize().unwrap_or(root);
    root.join(dir)
}

/// Runs pkg-config with `args` then "nt5"; its output, or why it failed.
fn pkg_config(args: &[&str]) -> Result<String, String> {
    let program = env::var("PKG_CONFIG").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "pkg-config".into());
    let out = Command::new(&program)
        .args(args)
        .arg("nt5")
        .output()
        .map_err(|e| format!("cannot run {}: {}", program, e))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let err = err.trim();
        return Err(if err.is_empty() { format!("`{} {} nt5` failed", program, args.join(" ")) } else { err.to_string() });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn from_pkg_config() -> Result<(), String> {
    let found = pkg_config(&["--modversion"]).map_err(|e| format!("pkg-config: {}", e))?;
    let version = found.trim();
    pkg_config(&[&format!("--atleast-version={}", MIN_VERSION)])
        .map_err(|_| format!("pkg-config found nt5 {}, older than {}", version, MIN_VERSION))?;
    let dirs = pkg_config(&["--libs-only-L"])?;
    for flag in dirs.split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={}", dir);
        }
    }
    // libnt5 itself is linked above (and by bindings.rs); other libraries a
    // future nt5.pc names are linked too
    let libs = pkg_config(&["--libs-only-l"])?;
    for flag in libs.split_whitespace() {
        if let Some(lib) = flag.strip_prefix("-l").filter(|l| *l != "nt5") {
            println!("cargo:rustc-link-lib={}", lib);
        }
    }
    Ok(())
}
