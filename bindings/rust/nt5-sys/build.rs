// Finds libnt5: NT5_LIB_DIR if set, else the `pkg-config` program (no
// crates from outside are needed).
use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=NT5_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    if let Ok(dir) = env::var("NT5_LIB_DIR") {
        println!("cargo:rustc-link-search=native={}", dir);
        return;
    }
    let out = Command::new("pkg-config").args(["--libs-only-L", "--atleast-version=0.1", "nt5"]).output();
    match out {
        Ok(o) if o.status.success() => {
            for flag in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                if let Some(dir) = flag.strip_prefix("-L") {
                    println!("cargo:rustc-link-search=native={}", dir);
                }
            }
        }
        _ => println!("cargo:warning=libnt5 not found by pkg-config; set NT5_LIB_DIR to the directory of libnt5.so"),
    }
}
