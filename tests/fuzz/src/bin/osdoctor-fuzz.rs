//! `osdoctor-fuzz TARGET`: the AFL++ harness of one target of `targets.rs` (input on stdin, as
//! afl-fuzz gives it). `cargo afl fuzz -i corpus/TARGET -o out/TARGET target/release/osdoctor-fuzz TARGET`.

#[path = "../targets.rs"]
mod targets;

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some((_, target)) = targets::TARGETS.iter().find(|(n, _)| *n == name) else {
        let names: Vec<&str> = targets::TARGETS.iter().map(|(n, _)| *n).collect();
        eprintln!("usage: osdoctor-fuzz TARGET   (one of: {})", names.join(", "));
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| {
        target(data);
    });
}
