//! The YAML reader and writer against the behaviour of go-yaml v2, PyYAML and kubectl.

use super::*;
use serde_json::json;

/// The single document of `text`.
fn one(text: &str) -> Document {
    let mut docs = parse_documents(text).unwrap();
    assert_eq!(docs.len(), 1, "{text:?}");
    docs.remove(0)
}

/// The value of the single document of `text`.
fn value(text: &str) -> Value {
    one(text).value
}

/// The error for `text`.
fn error(text: &str) -> YamlError {
    match parse_documents(text) {
        Ok(docs) => panic!("{text:?} parsed: {:?}", docs[0].value),
        Err(e) => e,
    }
}

#[test]
fn file_modes_read_as_kubernetes_reads_them() {
    assert_eq!(value("mode: 0644"), json!({"mode": 420}));
    assert_eq!(value("mode: 0755\n"), json!({"mode": 493}));
    assert_eq!(value("mode: 420"), json!({"mode": 420}));
    assert_eq!(value("mode: 0x1A4"), json!({"mode": 420}));
    assert_eq!(value("mode: 0b110100100"), json!({"mode": 420}));
    assert_eq!(value("mode: 0o644"), json!({"mode": 420}));
    assert_eq!(value("mode: 0_644"), json!({"mode": 420}));
    assert_eq!(value("mode: -0x10"), json!({"mode": -16}));
    assert_eq!(value("mode: 0"), json!({"mode": 0}));
    let doc = one("kind: x\nmode: '0644'\n");
    assert_eq!(doc.value, json!({"kind": "x", "mode": "0644"}));
    assert_eq!(doc.style("/mode"), Some(Style::SingleQuoted));
    assert_eq!(doc.pos("/mode"), Some(Pos { line: 2, col: 7 }));
    assert_eq!(doc.style("/kind"), Some(Style::Plain));
    assert_eq!(doc.style(""), None);
    assert_eq!(doc.pos(""), Some(Pos { line: 1, col: 1 }));
    assert_eq!(doc.pos("/missing"), None);
    assert_eq!(value(r#"mode: "0644""#), json!({"mode": "0644"}));
}

#[test]
fn plain_scalars_resolve_as_yaml_1_1() {
    for t in ["yes", "on", "y", "Y", "True", "ON"] {
        assert_eq!(value(t), json!(true), "{t}");
    }
    for f in ["no", "off", "n", "N", "FALSE"] {
        assert_eq!(value(f), json!(false), "{f}");
    }
    for n in ["~", "null", "Null", "NULL"] {
        assert_eq!(value(n), json!(null), "{n}");
    }
    assert_eq!(value("a:\nb: nULL"), json!({"a": null, "b": "nULL"}));
    assert_eq!(value("1.5"), json!(1.5));
    assert!(value("1.5").is_f64());
    assert_eq!(value("1e3"), json!(1000.0));
    assert_eq!(value("-.5"), json!(-0.5));
    assert_eq!(value(".5"), json!(0.5));
    assert_eq!(value("09"), json!(9.0));
    assert_eq!(value("1_000"), json!(1000));
    assert_eq!(value("1__0"), json!(10));
    assert_eq!(value(".5_5"), json!(0.55));
    assert_eq!(value("._5"), json!("._5"));
    assert_eq!(value("3.2.0"), json!("3.2.0"));
    assert_eq!(value("12:30"), json!("12:30"));
    assert_eq!(value("2001-12-14"), json!("2001-12-14"));
    assert_eq!(value("1e400"), json!("1e400"));
    assert_eq!(value("0x"), json!("0x"));
    assert_eq!(value("yess"), json!("yess"));
    assert_eq!(
        value("18446744073709551615"),
        json!(18446744073709551615u64)
    );
    assert_eq!(value("-9223372036854775808"), json!(i64::MIN));
    assert_eq!(value("99999999999999999999"), json!(1e20));
    assert_eq!(value("'yes'"), json!("yes"));
    assert_eq!(value("|\n  0644\n"), json!("0644\n"));
}

#[test]
fn explicit_tags_decide_the_type() {
    assert_eq!(value("!!str 0644"), json!("0644"));
    assert_eq!(value("!!int \"0644\""), json!(420));
    assert_eq!(value("!!float 1"), json!(1.0));
    assert_eq!(value("!!bool 'yes'"), json!(true));
    assert_eq!(value("!!null ''"), json!(null));
    assert_eq!(value("!!binary aGk="), json!("hi"));
    assert_eq!(value("!!binary |\n  aGVs\n  bG8=\n"), json!("hello"));
    assert_eq!(value("!!binary /w=="), json!("\u{fffd}"));
    assert_eq!(value("!!binary ''"), json!(""));
    for bad in ["!!binary aGk", "!!binary a=k=", "!!binary 'aG k='"] {
        assert!(error(bad).message.contains("base64"), "{bad}");
    }
    assert_eq!(value("! 12"), json!("12"));
    assert_eq!(value("!local 12"), json!("12"));
    assert_eq!(value("!!timestamp 2001-12-14"), json!("2001-12-14"));
    assert_eq!(value("!local {a: 12}"), json!({"a": 12}));
    assert_eq!(value("!<tag:yaml.org,2002:str> 12"), json!("12"));
    assert_eq!(value("a: !!str\n"), json!({"a": ""}));
    let e = error("a: !!int abc");
    assert_eq!(e.pos, Pos { line: 1, col: 10 });
    assert!(e.message.contains("!!int"), "{e}");
    assert_eq!(error("- !!bool 1").pos, Pos { line: 1, col: 10 });
}

#[test]
fn infinity_and_nan_are_errors() {
    let e = error("a:\n  b: .inf\n");
    assert_eq!(e.pos, Pos { line: 2, col: 6 });
    assert_eq!(error("- -.inf").pos, Pos { line: 1, col: 3 });
    assert_eq!(error(".nan").pos, Pos { line: 1, col: 1 });
    assert_eq!(value("'.inf'"), json!(".inf"));
}

#[test]
fn keys_are_their_printed_form() {
    let v = value("0644: a\ntrue: b\n'~': c\nnull2: d\n1.5: e\n");
    assert_eq!(
        v,
        json!({"420": "a", "true": "b", "~": "c", "null2": "d", "1.5": "e"})
    );
    let v = value("{1e3: a, 1e30: b, 1e-7: c, 1234567.0: d, 0.1: e, -0.0: f, 1e300: g}");
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "1000",
            "1e+30",
            "1e-07",
            "1.234567e+06",
            "0.1",
            "-0",
            ".inf"
        ]
    );
    assert_eq!(error("a: 1\n~: 2\n").pos, Pos { line: 2, col: 1 });
    assert_eq!(
        error("{18446744073709551615: 2}").pos,
        Pos { line: 1, col: 2 }
    );
    let e = error("0644: a\n420: b\n");
    assert_eq!(e.pos, Pos { line: 2, col: 1 });
    assert!(e.message.contains("\"420\""), "{e}");
}

/// The documentation's MachineConfig (testdata/doc-machineconfig.yaml).
const MACHINE_CONFIG: &str = include_str!("../../../testdata/doc-machineconfig.yaml");

/// The value of [`MACHINE_CONFIG`].
fn machine_config() -> Value {
    json!({
        "apiVersion": "machineconfiguration.openshift.io/v1",
        "kind": "MachineConfig",
        "metadata": {
            "name": "load-sctp-module",
            "labels": {"machineconfiguration.openshift.io/role": "worker"}
        },
        "spec": {"config": {
            "ignition": {"version": "3.2.0"},
            "storage": {"files": [
                {
                    "path": "/etc/modprobe.d/sctp-blacklist.conf",
                    "mode": 420,
                    "overwrite": true,
                    "contents": {"source": "data:,"}
                },
                {
                    "path": "/etc/modules-load.d/sctp-load.conf",
                    "mode": 420,
                    "overwrite": true,
                    "contents": {"source": "data:,sctp"}
                }
            ]}
        }}
    })
}

#[test]
fn openshift_machine_config_reads_as_expected() {
    let doc = one(MACHINE_CONFIG);
    assert_eq!(doc.value, machine_config());
    assert_eq!(doc.span, 0..MACHINE_CONFIG.len());
    let mode = "/spec/config/storage/files/1/mode";
    assert_eq!(doc.pos(mode), Some(Pos { line: 19, col: 17 }));
    assert_eq!(doc.style(mode), Some(Style::Plain));
    let role = "/metadata/labels/machineconfiguration.openshift.io~1role";
    assert_eq!(doc.pos(role), Some(Pos { line: 6, col: 45 }));
    assert_eq!(
        doc.pos("/spec/config/storage/files/0"),
        Some(Pos { line: 13, col: 11 })
    );
}

#[test]
fn to_yaml_writes_like_oc() {
    let yaml = to_yaml(&machine_config());
    let expected = "\
apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata:
  name: load-sctp-module
  labels:
    machineconfiguration.openshift.io/role: worker
spec:
  config:
    ignition:
      version: 3.2.0
    storage:
      files:
      - path: /etc/modprobe.d/sctp-blacklist.conf
        mode: 420
        overwrite: true
        contents:
          source: data:,
      - path: /etc/modules-load.d/sctp-load.conf
        mode: 420
        overwrite: true
        contents:
          source: data:,sctp
";
    assert_eq!(yaml, expected);
    let nested = json!({"a": [[1, [2, {}]], {"b": [], "c": {"d": null}}], "e": {}});
    let expected = "a:\n- - 1\n  - - 2\n    - {}\n- b: []\n  c:\n    d: null\ne: {}\n";
    assert_eq!(to_yaml(&nested), expected);
    assert_eq!(to_yaml(&json!({})), "{}\n");
    assert_eq!(to_yaml(&json!("x")), "x\n");
}

#[test]
fn strings_are_plain_only_when_unambiguous() {
    for s in [
        "data:,",
        "data:,sctp",
        "/etc/modprobe.d/sctp-blacklist.conf",
        "machineconfiguration.openshift.io/role",
        "3.2.0",
        "worker",
        "a:b",
        "a#b",
        "4.18.0-305.el8.x86_64",
    ] {
        assert_eq!(string_text(s), s, "{s} should be plain");
    }
    for s in [
        "0644",
        "yes",
        "on",
        "1e3",
        "12:30",
        "~",
        "null",
        "",
        "-",
        "- x",
        "y",
        "N",
        "Yes",
        "2001-12-14",
        ".5",
        "+1",
        "0o17",
        "1_000",
        "1:20.5",
        ".inf",
        "<<",
        "=",
        "a: b",
        "a #b",
        "x:",
        "...",
        "--- a",
        " a",
        "a ",
        "#x",
        "é",
        "1.0",
        "a\tb",
        "@x",
        "`x",
        "%x",
        "!x",
        "&x",
        "*x",
        "?x",
        "|",
        ">",
        "'x",
        "\"x",
        "[x",
        "{x",
        ",x",
        "1e+5",
    ] {
        assert!(string_text(s).starts_with('"'), "{s:?} should be quoted");
    }
    assert_eq!(
        string_text("é\n\u{85}\u{2028}\u{7f}\""),
        "\"é\\n\\u0085\\u2028\\u007F\\\"\""
    );
    assert_eq!(float_text("1e16"), "1.0e+16");
    assert_eq!(float_text("1.5e-7"), "1.5e-7");
    assert_eq!(float_text("2.0"), "2.0");
}

/// Values whose YAML must read back exactly.
fn tricky_values() -> Vec<Value> {
    let strings = [
        "0644",
        "yes",
        "on",
        "y",
        "n",
        "Y",
        "N",
        "1e3",
        "12:30",
        "1:20.5",
        "~",
        "null",
        "",
        "-",
        "- x",
        "3.2.0",
        "data:,",
        "data:,sctp",
        "2001-12-14",
        "2001-12-14 21:59:43.10 -5",
        ".5",
        "+1",
        "0o17",
        "0b101",
        "0x1A4",
        "1_000",
        ".inf",
        "-.inf",
        ".nan",
        "<<",
        "=",
        "a: b",
        "a #b",
        "x:",
        "...",
        "---",
        " lead",
        "trail ",
        "#c",
        "é ü 日本 🎉",
        "a\tb",
        "line1\nline2\n",
        "\r\n",
        "\u{0}\u{1}\u{7f}\u{85}\u{a0}\u{2028}\u{feff}",
        "\\",
        "\"",
        "'",
        "true",
        "False",
        "NULL",
        "09",
        "1.0",
        "-0",
        "@at",
        "`tick",
        "%pct",
        "key: value",
    ];
    let mut map = Map::new();
    for (i, s) in strings.iter().enumerate() {
        map.insert((*s).to_owned(), json!(i));
    }
    map.insert("x".repeat(1500), json!({"deep": [[]]}));
    map.insert("y".repeat(1100), json!([{"a": 1}, "b"]));
    let mut values: Vec<Value> = strings.iter().map(|s| json!(s)).collect();
    values.extend([
        Value::Object(map),
        json!(strings.to_vec()),
        json!({"a": {}, "b": [], "c": [{}, [], [[]], {"d": {}}], "e": [[1, 2], [3]]}),
        json!([1.5, 1e16, 1e-7, -0.0, 1e300, 0.1, 123456789.125, 2.0]),
        json!([0, -1, i64::MAX, i64::MIN, u64::MAX, true, false, null]),
        json!({"spec": {"files": [{"path": "/etc/x", "mode": 420}]}}),
        json!([]),
        json!({}),
        json!(null),
        json!(3.25),
        machine_config(),
    ]);
    values
}

#[test]
fn to_yaml_round_trips() {
    for v in tricky_values() {
        let yaml = to_yaml(&v);
        assert!(yaml.ends_with('\n'));
        assert_eq!(value(&yaml), v, "YAML was:\n{yaml}");
    }
}

/// Whether `program args` runs successfully; if not, skip (or fail when
/// `MODLAYER_REQUIRE_ORACLES=1`) with a reason naming `what`.
/// Whether an oracle runs here; a missing required one fails under MODLAYER_REQUIRE_ORACLES=1.
/// kubectl is optional: no Debian package CI installs ships a current one.
fn oracle_available(program: &str, args: &[&str], what: &str) -> bool {
    let ok = std::process::Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let reason = format!("skipped: {what} is not available");
        let required =
            program != "kubectl" && std::env::var("MODLAYER_REQUIRE_ORACLES").as_deref() == Ok("1");
        assert!(!required, "{reason}");
        eprintln!("{reason}");
    }
    ok
}

/// Run `program args` with `input` on stdin: (success, stdout, stderr).
fn run(program: &str, args: &[&str], input: &str) -> (bool, String, String) {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.success(), text(out.stdout), text(out.stderr))
}

#[test]
fn pyyaml_reads_to_yaml_output_back() {
    let python = "/usr/bin/python3";
    if !oracle_available(python, &["-c", "import yaml"], "python3 with PyYAML") {
        return;
    }
    let script = "import sys, yaml, json\n\
                      for doc in yaml.safe_load_all(sys.stdin):\n    print(json.dumps(doc))\n";
    let values = tricky_values();
    let stream: String = values
        .iter()
        .map(|v| format!("---\n{}", to_yaml(v)))
        .collect();
    let (ok, stdout, stderr) = run(python, &["-c", script], &stream);
    assert!(ok, "{stderr}");
    let read: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(read.len(), values.len());
    for (got, want) in read.iter().zip(&values) {
        assert_eq!(got, want, "PyYAML read:\n{}", to_yaml(want));
    }
}

/// `value` with every number as a float (Go's JSON drops `.0` and int64 precision).
fn numbers_as_floats(value: Value) -> Value {
    match value {
        Value::Number(n) => json!(n.as_f64().unwrap()),
        Value::Array(items) => items.into_iter().map(numbers_as_floats).collect(),
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| (k, numbers_as_floats(v)))
            .collect(),
        other => other,
    }
}

#[test]
fn kubectl_reads_like_us() {
    let kubectl = "kubectl";
    if !oracle_available(kubectl, &["version", "--client"], "kubectl") {
        return;
    }
    let read = |body: &str| {
        let text = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n{body}");
        let args = ["label", "--local", "-f", "-", "oracle=1", "-o", "json"];
        let (ok, stdout, stderr) = run(kubectl, &args, &text);
        let theirs = ok.then(|| serde_json::from_str::<Value>(&stdout).unwrap());
        let ours = parse_documents(&text).map(|mut d| d.remove(0).value);
        let ours = ours.map_err(|e| eprintln!("{body:?}: {e}")).ok();
        let strip = |v: Value| {
            let mut v = numbers_as_floats(v);
            v.as_object_mut().unwrap().remove("metadata");
            v
        };
        (ours.map(strip), theirs.map(strip), stderr)
    };
    let agreed = "\
mode: 0644
scalars: [yes, y, Y, on, n, NO, off, yEs, nUll, ~, '', 0o17, 0O17, 09, 1e3, 12:30, 0x1A4, 0b101,
  -0b101, +0x10, 2001-12-14, 1_000, 1__0, -0x10, 99999999999999999999, 1e400, .5, .5_5, ._5,
  +1, 1.0, 0_644, 1., +, ., .e5, 1.e5, '1', 3.2.0, =, <<, 1:20.5]
source: data:,
tagged: [!foo 12, !!binary aGk=, !!binary /w==, !!float 1, ! 12, !!str 0644, !!int '0644',
  !!timestamp 2001-12-14, !!seq 12, !!null '', !!str ~]
empty_tagged: !foo
keys: {0644: a, true: c, 1.5: d, 1e3: e, 1e30: f, 0.1: g, -0.0: h, 1e-7: i, 1234567.0: j,
  1e300: k, !!str <<: m}
merges:
  - {<<: {a: 1, b: 2}, a: 9}
  - {a: 9, <<: [{a: 1, c: 1}, {a: 2, b: 3, c: 2}], b: 4}
  - {<<: {a: 1}, <<: {a: 2}}
anchored: [&x {p: [1, 2]}, *x]
block: |
  text
";
    let (ours, theirs, stderr) = read(agreed);
    assert!(theirs.is_some(), "kubectl failed: {stderr}");
    assert_eq!(ours, theirs);
    let written: Map<String, Value> = tricky_values()
        .into_iter()
        .enumerate()
        .map(|(i, v)| (format!("v{i}"), v))
        .collect();
    let (ours, theirs, stderr) = read(&to_yaml(&Value::Object(written.clone())));
    assert!(theirs.is_some(), "kubectl failed: {stderr}");
    assert_eq!(ours, theirs);
    let mut theirs = theirs.unwrap();
    let theirs = theirs.as_object_mut().unwrap();
    theirs.retain(|k, _| k.starts_with('v'));
    assert_eq!(
        Value::Object(theirs.clone()),
        numbers_as_floats(Value::Object(written))
    );
    for bad in [
        "v: .inf",
        "v: !!int abc",
        "v: !!bool 1",
        "v: !!binary aGk",
        "v: {~: b}",
        "v: {[a]: b}",
        "v: {18446744073709551615: 1}",
        "v: {<<: 1}",
    ] {
        let (ours, theirs, _) = read(bad);
        assert_eq!((ours, theirs), (None, None), "{bad}");
    }
}

/// Check that the spans of `text` cover it, and that each span alone reads the same.
fn check_spans(text: &str) -> Vec<Document> {
    let docs = parse_documents(text).unwrap();
    let joined: String = docs.iter().map(|d| &text[d.span.clone()]).collect();
    assert_eq!(joined, text);
    for doc in &docs {
        let alone = &text[doc.span.clone()];
        let again = parse_documents(alone).unwrap();
        assert_eq!(again.len(), 1, "{alone:?}");
        assert_eq!(again[0].value, doc.value, "{alone:?}");
    }
    docs
}

#[test]
fn multi_document_spans_cover_the_input() {
    let text = "# head\n---\na: é\n...\n# between\n---\nb: [1, 2]\n---\n";
    let docs = check_spans(text);
    let values: Vec<&Value> = docs.iter().map(|d| &d.value).collect();
    assert_eq!(
        values,
        [&json!({"a": "é"}), &json!({"b": [1, 2]}), &json!(null)]
    );
    assert_eq!(
        &text[docs[0].span.clone()],
        "# head\n---\na: é\n...\n# between\n"
    );
    assert_eq!(&text[docs[1].span.clone()], "---\nb: [1, 2]\n");
    assert_eq!(&text[docs[2].span.clone()], "---\n");
    assert_eq!(docs[1].pos("/b/1"), Some(Pos { line: 7, col: 8 }));

    let text = "a: ü\n# c\n---\n# lead\nb: 1\n";
    let docs = check_spans(text);
    assert_eq!(&text[docs[1].span.clone()], "---\n# lead\nb: 1\n");

    let text = "a: 1\n...\n# c\nb: 2\n...\n";
    let docs = check_spans(text);
    assert_eq!(&text[docs[1].span.clone()], "# c\nb: 2\n...\n");

    let text = "%YAML 1.1\n---\nx: 日本\n...\n%YAML 1.1\n---\ny\n";
    let docs = check_spans(text);
    assert_eq!(&text[docs[1].span.clone()], "%YAML 1.1\n---\ny\n");

    let text = "\u{feff}a: 1\r\n--- \r\nb: 2\r\n";
    let docs = check_spans(text);
    assert_eq!(docs[1].span.start, "\u{feff}a: 1\r\n".len());
    assert_eq!(docs[1].pos("/b"), Some(Pos { line: 3, col: 4 }));

    check_spans("---\n---\n");
    check_spans(&format!("{MACHINE_CONFIG}---\n{MACHINE_CONFIG}"));
}

#[test]
fn places_locate_the_text() {
    let text = "\u{feff}é: 1\r\nm:\r\n  - k: 'q' # c\r\n    e:\r\n    lit: |\r\n      x\r\n\r\n  -   {a: [1, 2]}\r\nr: &r {z: 1}\r\ns: *r\r\nt:\r\n  <<: *r\r\n";
    let doc = one(text);
    let at = |p: &str| {
        let place = doc.place(p).unwrap_or_else(|| panic!("{p}"));
        (
            &text[place.span.clone()],
            &text[place.entry..place.span.start],
            place.flow,
            place.copied,
        )
    };
    assert_eq!(at("/é"), ("1", "é: ", false, false));
    assert_eq!(at("/m/0/k"), ("'q'", "k: ", false, false));
    assert_eq!(at("/m/0/e"), ("", "e:", false, false));
    assert_eq!(at("/m/0/lit"), ("x", "lit: |\r\n      ", false, false));
    assert_eq!(at("/m/0").1, "- ");
    assert!(at("/m/0").0.starts_with("k: 'q' # c\r\n") && at("/m/0").0.ends_with("x"));
    assert_eq!(at("/m/1"), ("{a: [1, 2]}", "-   ", true, false));
    let kept = "a: |+\n  x\n\n# c\nb: 1\n";
    let kept_doc = one(kept);
    let place = kept_doc.place("/a").unwrap();
    assert_eq!(&kept[place.span.clone()], "x\n");
    assert_eq!(kept_doc.value["a"], "x\n\n");
    assert_eq!(at("/m/1/a/1"), ("2", "", false, false));
    assert_eq!(at("/r"), ("{z: 1}", "r: &r ", true, false));
    assert!(at("/s").3);
    assert!(at("/s/z").3);
    assert!(at("/t/z").3);
    assert!(!at("/m").2);
    assert_eq!(doc.place("").map(|p| p.span.start), Some(3));
}

#[test]
fn empty_input_is_one_null_document() {
    for text in ["", "# only a comment\n", "\n\n", "...\n"] {
        let docs = check_spans(text);
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].value, Value::Null);
    }
}

#[test]
fn anchors_aliases_and_merges() {
    let text = "\
base: &base {a: 1, b: 2}
more: &more {b: 3, c: 4}
one:
  <<: *base
  a: 9
two:
  <<: [*base, *more]
  d: 5
list: &l [x, z]
again: *l
";
    let v = value(text);
    assert_eq!(v["one"], json!({"a": 9, "b": 2}));
    assert_eq!(v["two"], json!({"a": 1, "b": 2, "c": 4, "d": 5}));
    assert_eq!(v["again"], json!(["x", "z"]));
    assert_eq!(value("'<<': 1"), json!({"<<": 1}));
    assert_eq!(value("!!str <<: 1"), json!({"<<": 1}));
    assert_eq!(value("[<<]"), json!(["<<"]));
    assert_eq!(value("{a: 9, <<: {a: 1, b: 2}}"), json!({"a": 1, "b": 2}));
    assert_eq!(value("{<<: {a: 1}, <<: {a: 2}}"), json!({"a": 2}));
    assert_eq!(value("{a: 1, <<: {b: 2}, b: 3}"), json!({"a": 1, "b": 3}));
    assert_eq!(error("a:\n  <<: 1\n").pos, Pos { line: 2, col: 7 });
    assert_eq!(
        error("a:\n  <<: [{x: 1}, 2]\n").pos,
        Pos { line: 2, col: 16 }
    );
    assert_eq!(error("a: &a [*a]\n").pos, Pos { line: 1, col: 8 });
    assert!(error("a: *nope\n").message.contains("anchor"));
    assert_eq!(error("a: &x 1\n---\nb: *x\n").pos, Pos { line: 3, col: 4 });
}

#[test]
fn duplicate_keys_keep_the_last_value_when_read_leniently() {
    let text = "metadata:\n  labels:\n    role: worker\n    role: master\n  name: x\n";
    let (docs, dups) = parse_documents_lenient(text).unwrap();
    assert_eq!(docs[0].value["metadata"]["labels"]["role"], "master");
    assert_eq!(
        docs[0].pos("/metadata/labels/role"),
        Some(Pos { line: 4, col: 11 })
    );
    assert_eq!(
        dups,
        [Duplicate {
            key: "role".into(),
            first: Pos { line: 3, col: 5 },
            again: Pos { line: 4, col: 5 },
            kept: Value::String("master".into()),
        }]
    );
    // The strict reader (kustomize, kpt) still refuses it.
    assert!(parse_documents(text).is_err());
    // A `<<` merge overriding a key is no duplicate.
    let (_, dups) = parse_documents_lenient("a: &x {k: 1}\nb:\n  k: 2\n  <<: *x\n").unwrap();
    assert!(dups.is_empty(), "{dups:?}");
}

#[test]
fn duplicate_and_non_scalar_keys_are_errors() {
    let e = error("a: 1\nb:\n  c: 1\n  c: 2\n");
    assert_eq!(e.pos, Pos { line: 4, col: 3 });
    assert!(
        e.message.contains("duplicate") && e.message.contains("\"c\""),
        "{e}"
    );
    let e = error("x: 1\n? [a]\n: b\n");
    assert_eq!(e.pos, Pos { line: 2, col: 3 });
    assert!(e.message.contains("sequence"), "{e}");
    let e = error("{x: 1}: b\n");
    assert_eq!(e.pos, Pos { line: 1, col: 1 });
    assert!(e.message.contains("mapping"), "{e}");
}

#[test]
fn alias_bombs_are_stopped() {
    let mut text = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (prev, name) in "abcdefgh".chars().zip("bcdefghi".chars()) {
        let refs = vec![format!("*{prev}"); 9].join(", ");
        text.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    let e = error(&text);
    assert_eq!(e.pos, Pos { line: 6, col: 7 });
    assert!(e.message.contains("1000000"), "{e}");
    // Nested anchors copy their subtrees too, without any alias.
    let leaf = format!("[{}]", vec!["x"; 10_000].join(","));
    let nested = (0..120).fold(leaf, |inner, i| format!("&a{i} [{inner}]"));
    assert!(error(&nested).message.contains("1000000"));
    let ok = (0..120).fold("[x]".to_owned(), |inner, i| format!("&a{i} [{inner}]"));
    assert!(parse_documents(&ok).is_ok());
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let e = error(&"[".repeat(100_000));
    assert_eq!(e.pos.line, 1);
    let text = format!("{}{}", "[".repeat(200), "]".repeat(200));
    assert_eq!(error(&text).pos, Pos { line: 1, col: 129 });
    let text = "- ".repeat(100_000) + "x\n";
    assert_eq!(error(&text).pos, Pos { line: 1, col: 257 });
    assert!(parse_documents(&("- ".repeat(128) + "x\n")).is_ok());
    let text = format!(
        "a: &a {}{}\nb: [{}*a]\n",
        "[".repeat(100),
        "]".repeat(100),
        "[".repeat(30)
    );
    assert_eq!(error(&text).pos, Pos { line: 2, col: 35 });
}

#[test]
fn syntax_errors_have_positions() {
    let e = error("a:\n\tb: 1\n");
    assert_eq!(e.pos.line, 2);
    assert!(e.message.contains("tab"), "{e}");
    let e = error("a: 1\nb: \"abc\n");
    assert_eq!(e.pos.line, 2);
    assert!(e.message.contains("quoted"), "{e}");
    assert_eq!(
        e.to_string(),
        format!("line 2, column {}: {}", e.pos.col, e.message)
    );
    let e = error("a: 1\nb: x\u{0}y\n");
    assert_eq!(e.pos, Pos { line: 2, col: 5 });
    let e = error("a: é\u{1}");
    assert_eq!(e.pos, Pos { line: 1, col: 5 });
}
