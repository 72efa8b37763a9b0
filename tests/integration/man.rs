//! man/*.1 are generated from the clap definitions in src/cli.rs. This test fails when they are
//! stale; `OSDOCTOR_UPDATE_MAN=1 cargo test man_pages` rewrites them.

use clap::CommandFactory;

use crate::util::repo;

fn render(cmd: clap::Command) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut buf)
        .expect("render man page");
    buf
}

#[test]
fn man_pages_are_generated_from_the_cli() {
    let top = osdoctor::cli::Cli::command();
    top.clone().build();
    let mut pages = vec![("osdoctor.1".to_string(), render(top.clone()))];
    for sub in top.get_subcommands() {
        let name = format!("osdoctor-{}", sub.get_name());
        let cmd = sub
            .clone()
            .name(name.clone())
            .version(top.get_version().unwrap_or_default().to_string());
        pages.push((format!("{name}.1"), render(cmd)));
    }
    let dir = repo().join("man");
    let update = std::env::var_os("OSDOCTOR_UPDATE_MAN").is_some();
    let mut stale = Vec::new();
    for (file, text) in &pages {
        let path = dir.join(file);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, text).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(text.as_slice()) {
            stale.push(file.clone());
        }
    }
    assert!(
        stale.is_empty(),
        "stale man pages {stale:?}: run OSDOCTOR_UPDATE_MAN=1 cargo test man_pages"
    );
}
