//! The README lists every finding code, generated from the one enum (`modlayer explain` prints the
//! same descriptions).

mod common;

#[test]
fn readme_lists_every_code_as_the_enum_says() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let begin =
        "<!-- codes:begin (generated from src/findings.rs; tests/readme.rs checks it) -->\n";
    let end = "<!-- codes:end -->";
    let start = readme.find(begin).expect("codes:begin marker") + begin.len();
    let stop = readme[start..].find(end).expect("codes:end marker") + start;
    let table = modlayer::findings::markdown_table();
    if std::env::var_os("MODLAYER_WRITE_README").is_some() {
        let new = format!("{}{table}{}", &readme[..start], &readme[stop..]);
        std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"), new).unwrap();
        return;
    }
    assert_eq!(
        &readme[start..stop],
        table,
        "README codes table is stale: run MODLAYER_WRITE_README=1 cargo test --test readme"
    );
    for c in modlayer::findings::Code::ALL {
        let out = common::modlayer()
            .args(["explain", c.as_str()])
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains(c.description()) && text.contains(c.fix()),
            "{text}"
        );
    }
    let out = common::modlayer()
        .args(["explain", "no-such-code"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
