//! The differential corpus: Ignition configs around the layer's files, generated deterministically
//! (no randomness: the same list on every run), family by family, for every 3.x spec that
//! Ignition's judges on this machine read (3.0.0 to 3.5.0). Each config is JSON text (bytes: some
//! families hold what only raw text can: duplicate keys, invalid UTF-8).

use base64::Engine;
use serde_json::{json, Value};

/// The specs the corpus covers.
pub const SPECS: &[&str] = &["3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.4.0", "3.5.0"];

/// The layer's paths.
pub const BL: &str = "/etc/modprobe.d/sctp-blacklist.conf";
/// The layer's load file.
pub const LOAD: &str = "/etc/modules-load.d/sctp-load.conf";

/// One generated config.
pub struct Case {
    /// Stable name: `<spec>/<family>/<n>`.
    pub id: String,
    /// The spec it is written in.
    pub spec: &'static str,
    /// The family (mutation kind).
    pub family: &'static str,
    /// The config's bytes.
    pub text: Vec<u8>,
}

fn minor(spec: &str) -> u32 {
    spec.split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn file(path: &str, source: &str) -> Value {
    json!({"path": path, "contents": {"source": source}, "mode": 420, "overwrite": true})
}

fn layer() -> Vec<Value> {
    vec![file(BL, "data:,"), file(LOAD, "data:,sctp")]
}

fn cfg(spec: &str, files: Vec<Value>) -> Value {
    json!({"ignition": {"version": spec}, "storage": {"files": files}})
}

fn with_storage(spec: &str, files: Vec<Value>, key: &str, v: Value) -> Value {
    let mut c = cfg(spec, files);
    c["storage"][key] = v;
    c
}

fn child_url(v: &Value) -> String {
    format!("data:;base64,{}", b64(v.to_string().as_bytes()))
}

/// Data URL spellings of the load file's 4 bytes `sctp` (or not), as configs carry them.
pub fn data_urls() -> Vec<String> {
    let mut v: Vec<String> = [
        "data:,sctp",
        "data:,sctp%0A",
        "data:,sctp#frag",
        "data:,sctp#",
        "data:;base64,c2N0cA",
        "data:;base64,c2N0cA==",
        "data:;base64,c2N0cA=",
        "data:;base64,c2N0\ncA==",
        "data:;base64, c2N0cA==",
        "data:;base64,c2N0cA==\n",
        "data:;base64,c2N0cA-_",
        "data:text,sctp",
        "data:text/plain,sctp",
        "data:text/plain;charset=utf-8,sctp",
        "data:text/plain;charset=utf-8;base64,c2N0cA==",
        "data:text/plain;base64,c2N0cA==",
        "data:application/octet-stream;base64,c2N0cA==",
        "data:application/x-sh,sctp",
        "data:x-foo/bar,sctp",
        "data:foo/bar,sctp",
        "data:image/png,sctp",
        "data:message/rfc822,sctp",
        "data:TEXT/PLAIN,sctp",
        "data:;charset=utf-8,sctp",
        "data:;charset=\"utf-8\",sctp",
        "data:;charset=\"utf\\\"8\",sctp",
        "data:;a=b;base64,c2N0cA==",
        "data:;base64;a=b,c2N0cA==",
        "data:;BASE64,c2N0cA==",
        "data:;base64x,c2N0cA==",
        "data:;,sctp",
        "data:;=a,sctp",
        "data:;a,sctp",
        "data:;a=,sctp",
        "data:;a=b",
        "data:text/plain",
        "data:text/,sctp",
        "data:/plain,sctp",
        "data:base64,c2N0cA==",
        "data:,%ZZ",
        "data:,sc%74p",
        "data:,sc%7",
        "data:,sctp%",
        "data:,%73%63%74%70",
        "data:,%73%63%74%70%0a",
        "data:, sctp",
        "data:,sctp ",
        "data:,sc\ttp",
        "data:,sctp\n",
        "DATA:,sctp",
        "Data:,sctp",
        "data:,sctp?x=1",
        "data:,{sctp}",
        "data:,sctp|",
        "data:,sctp^",
        "data:,sc`tp",
        "data:,<sctp>",
        "data:,\"sctp\"",
        "data:,sctp\\",
        "data:,[sctp]",
        "data:,s%C3%A9",
        "data:,s\u{e9}",
        "data:,sctp\u{7f}",
        "data:,sctp!~*'()-_.",
        "data:,sctp;x",
        "data:,sctp,x",
        "data:,sctp/x:y@z&a=b+c$",
        "data:,%2",
        "data:,%",
        "data:",
        "data:,",
        "data:;base64,",
        "data:;base64,=",
        "data:;base64,c2N0cA===",
        "data:;base64,c2N0c",
        "data:;base64,c2N0cB==",
        "data:;base64,c2N0cA\r\n==",
        "data:;base64,c2N0cA%3D%3D",
        "data:text/plain;charset=US-ASCII,sctp",
        "data:text/plain;;,sctp",
        "data:text/plain;a=b c,sctp",
        "data:text/plain;a=\"b c\",sctp",
        "data:text/plain;a=\"b,sctp",
        "data:text/plain;a=%41,sctp",
        "data:text/plain;a=%4,sctp",
        "data:text/pl ain,sctp",
        "data:te(xt/plain,sctp",
        "data: ,sctp",
        "data:\t,sctp",
        "data:x-,sctp",
        "data:x-/y,sctp",
        "data:X-a/b,sctp",
        "data:multipart/mixed,sctp",
        "data:textual/plain,sctp",
        "data:text/plain/x,sctp",
        "data:,sctp%0A%0A",
        "data:,%0Asctp",
        "data:,sctp%00",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("data:;base64,{}", b64(b"sctp\n")));
    v
}

/// A few sources of other kinds.
fn other_sources() -> Vec<&'static str> {
    vec![
        "https://example.com/sctp",
        "http://example.com/sctp",
        "ftp://example.com/sctp",
        "file:///etc/sctp",
        "s3://bucket/sctp",
        "gs://bucket/sctp",
        "tftp://host/sctp",
        "arn:aws:s3:::bucket/sctp",
        "",
        "sctp",
        "/etc/sctp",
        "http://[::1",
        "https://example.com/%zz",
        "data",
        "data:",
    ]
}

/// Every case of the corpus, in a stable order.
pub fn corpus() -> Vec<Case> {
    let mut out = Vec::new();
    for &spec in SPECS {
        let mut n = 0usize;
        let mut add = |family: &'static str, text: Vec<u8>, out: &mut Vec<Case>| {
            out.push(Case {
                id: format!("{spec}/{family}/{n}"),
                spec,
                family,
                text,
            });
            n += 1;
        };
        let m = minor(spec);
        let j = |v: Value| v.to_string().into_bytes();

        // The layer itself, and without one file.
        add("base", j(cfg(spec, layer())), &mut out);
        add(
            "base",
            j(cfg(spec, vec![file(LOAD, "data:,sctp")])),
            &mut out,
        );
        add("base", j(cfg(spec, vec![file(BL, "data:,")])), &mut out);
        add("base", j(cfg(spec, vec![])), &mut out);

        // Data URLs: as the load file's source, as the blacklist's, as a child config's wrapper.
        for u in data_urls() {
            add(
                "dataurl-load",
                j(cfg(spec, vec![file(BL, "data:,"), file(LOAD, &u)])),
                &mut out,
            );
        }
        for u in data_urls().iter().take(40) {
            let u = u.replace("sctp", "").replace("c2N0cA", "");
            add(
                "dataurl-bl",
                j(cfg(spec, vec![file(BL, &u), file(LOAD, "data:,sctp")])),
                &mut out,
            );
        }
        for u in data_urls().iter().take(60) {
            let mut f = file("/etc/other.conf", u);
            f["overwrite"] = json!(true);
            add(
                "dataurl-other",
                j(cfg(
                    spec,
                    vec![file(BL, "data:,"), file(LOAD, "data:,sctp"), f],
                )),
                &mut out,
            );
        }
        for s in other_sources() {
            add(
                "source-kind",
                j(cfg(
                    spec,
                    vec![
                        file(BL, "data:,"),
                        file(LOAD, "data:,sctp"),
                        file("/etc/other.conf", s),
                    ],
                )),
                &mut out,
            );
        }

        // Compression and verification.
        let gz = {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(b"sctp").unwrap();
            e.finish().unwrap()
        };
        let sha512_sctp = {
            use sha2::Digest;
            let d = sha2::Sha512::digest(b"sctp");
            d.iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        let sha256_sctp = {
            use sha2::Digest;
            let d = sha2::Sha256::digest(b"sctp");
            d.iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        let gzurl = format!("data:;base64,{}", b64(&gz));
        for (comp, src, hash) in [
            (Some("gzip"), gzurl.as_str(), None),
            (Some("gzip"), "data:,sctp", None),
            (Some(""), "data:,sctp", None),
            (Some("xz"), "data:,sctp", None),
            (Some("GZIP"), gzurl.as_str(), None),
            (None, "data:,sctp", Some(format!("sha512-{sha512_sctp}"))),
            (None, "data:,sctp", Some(format!("sha256-{sha256_sctp}"))),
            (
                None,
                "data:,sctp",
                Some(format!("sha512-{}", "0".repeat(128))),
            ),
            (
                None,
                "data:,sctp",
                Some(format!("sha256-{}", "0".repeat(64))),
            ),
            (None, "data:,sctp", Some("sha512-abc".to_string())),
            (None, "data:,sctp", Some("md5-abc".to_string())),
            (None, "data:,sctp", Some(format!("SHA512-{sha512_sctp}"))),
            (
                None,
                "data:,sctp",
                Some(format!("sha512-{}", sha512_sctp.to_uppercase())),
            ),
            (None, "data:,sctp", Some(format!("sha512{sha512_sctp}"))),
            (
                Some("gzip"),
                gzurl.as_str(),
                Some(format!("sha512-{sha512_sctp}")),
            ),
            (None, "data:,sctp", Some(String::new())),
        ] {
            let mut f = file(LOAD, src);
            if let Some(c) = comp {
                f["contents"]["compression"] = json!(c);
            }
            if let Some(h) = hash {
                f["contents"]["verification"] = json!({"hash": h});
            }
            add(
                "contents",
                j(cfg(spec, vec![file(BL, "data:,"), f])),
                &mut out,
            );
        }
        // Verification without a source; httpHeaders on data: and http sources.
        for extra in [
            json!({"verification": {"hash": format!("sha512-{sha512_sctp}")}}),
            json!({"verification": {}}),
            json!({"source": "data:,sctp", "httpHeaders": [{"name": "A", "value": "b"}]}),
            json!({"source": "https://example.com/x", "httpHeaders": [{"name": "A", "value": "b"}]}),
            json!({"source": "https://example.com/x", "httpHeaders": [{"name": "A", "value": "b"}, {"name": "A", "value": "c"}]}),
            json!({"source": "https://example.com/x", "httpHeaders": [{"name": "", "value": "b"}]}),
            json!({"source": "https://example.com/x", "httpHeaders": [{"name": "A"}]}),
            json!({"source": "s3://b/x", "httpHeaders": [{"name": "A", "value": "b"}]}),
            json!({"compression": "gzip"}),
            json!({}),
        ] {
            let f = json!({"path": "/etc/other.conf", "contents": extra, "mode": 420});
            add(
                "resource",
                j(cfg(
                    spec,
                    vec![file(BL, "data:,"), file(LOAD, "data:,sctp"), f],
                )),
                &mut out,
            );
        }

        // Paths, modes, overwrite, append.
        for (path, mode, ow) in [
            ("etc/modules-load.d/sctp-load.conf", json!(420), json!(true)),
            (
                "/etc/modules-load.d/../modules-load.d/sctp-load.conf",
                json!(420),
                json!(true),
            ),
            (
                "/etc/modules-load.d//sctp-load.conf",
                json!(420),
                json!(true),
            ),
            (
                "/etc/modules-load.d/sctp-load.conf/",
                json!(420),
                json!(true),
            ),
            (
                "/etc/modules-load.d/./sctp-load.conf",
                json!(420),
                json!(true),
            ),
            (LOAD, json!(4095), json!(true)),
            (LOAD, json!(4096), json!(true)),
            (LOAD, json!(-1), json!(true)),
            (LOAD, json!(0), json!(true)),
            (LOAD, json!(511), json!(true)),
            (LOAD, json!(420.0), json!(true)),
            (LOAD, json!(420.5), json!(true)),
            (LOAD, json!("0644"), json!(true)),
            (LOAD, json!(null), json!(true)),
            (LOAD, json!(420), json!(false)),
            (LOAD, json!(420), json!(null)),
            (LOAD, json!(420), json!("true")),
            (LOAD, json!(420), json!(1)),
            (LOAD, json!(1e3), json!(true)),
            (LOAD, json!(4.2e2), json!(true)),
        ] {
            let f = json!({"path": path, "contents": {"source": "data:,sctp"}, "mode": mode, "overwrite": ow});
            add("node", j(cfg(spec, vec![file(BL, "data:,"), f])), &mut out);
        }
        for f in [
            json!({"path": BL, "overwrite": true}),
            json!({"path": BL}),
            json!({"path": BL, "overwrite": false, "contents": {"source": "data:,"}}),
            json!({"path": BL, "contents": {"source": "data:,"}}),
            json!({"path": BL, "overwrite": true, "contents": {}}),
            json!({"path": BL, "overwrite": true, "append": [{"source": "data:,"}]}),
            json!({"path": BL, "overwrite": true, "contents": {"source": "data:,"}, "append": [{"source": "data:,x"}]}),
            json!({"path": BL, "overwrite": true, "contents": {"source": "data:,"}, "append": [{}]}),
            json!({"path": BL, "overwrite": true, "contents": {"source": "data:,"}, "append": [{"source": "data:,x", "compression": "gzip"}]}),
            json!({"path": BL, "overwrite": true, "contents": {"source": "data:,"}, "user": {"id": 0}}),
            json!({"path": BL, "overwrite": true, "contents": {"source": "data:,"}, "user": {"name": "root"}}),
            json!({"path": BL, "overwrite": true, "contents": {"source": "data:,"}, "user": {"id": 0, "name": "root"}}),
            json!({"path": BL, "overwrite": true, "contents": {"source": "data:,"}, "group": {"id": 0, "name": "root"}}),
            json!({"path": BL, "overwrite": true, "contents": {"source": "data:,"}, "user": {"id": -1}}),
        ] {
            add(
                "node-bl",
                j(cfg(spec, vec![f, file(LOAD, "data:,sctp")])),
                &mut out,
            );
        }

        // Duplicates and kinds across lists, links, hard links, files below files or links.
        let d = |p: &str| json!({"path": p});
        let l = |p: &str, t: &str| json!({"path": p, "target": t});
        let hl = |p: &str, t: &str| json!({"path": p, "target": t, "hard": true});
        let lo = |p: &str, t: &str| json!({"path": p, "target": t, "overwrite": true});
        let storage_cases: Vec<(Vec<Value>, &str, Value)> = vec![
            (
                vec![file(LOAD, "data:,sctp")],
                "files",
                json!([file(BL, "data:,"), file(BL, "data:,")]),
            ),
            (
                vec![
                    file(BL, "data:,"),
                    file(LOAD, "data:,sctp"),
                    file(LOAD, "data:,sctp"),
                ],
                "directories",
                json!([]),
            ),
            (layer(), "directories", json!([d(LOAD)])),
            (layer(), "directories", json!([d("/etc/modules-load.d")])),
            (
                layer(),
                "directories",
                json!([d("/etc/modules-load.d"), d("/etc/modules-load.d")]),
            ),
            (
                layer(),
                "directories",
                json!([d("/etc/modules-load.d/sctp-load.conf/x")]),
            ),
            (layer(), "links", json!([l(LOAD, "/dev/null")])),
            (
                vec![file(BL, "data:,")],
                "links",
                json!([l(LOAD, "/etc/x.conf")]),
            ),
            (
                vec![file(BL, "data:,")],
                "links",
                json!([lo(LOAD, "/etc/x.conf")]),
            ),
            (
                layer(),
                "links",
                json!([l("/etc/modules-load.d", "/etc/x")]),
            ),
            (
                layer(),
                "links",
                json!([lo("/etc/modules-load.d", "/etc/x")]),
            ),
            (
                layer(),
                "links",
                json!([l("/etc/modprobe.d", "/usr/lib/modprobe.d")]),
            ),
            (layer(), "links", json!([l("/etc/x/y", "/etc/z")])),
            (layer(), "links", json!([l("/etc/sctp-link.conf", LOAD)])),
            (layer(), "links", json!([hl("/etc/sctp-link.conf", LOAD)])),
            (
                layer(),
                "links",
                json!([hl("/etc/sctp-link.conf", "/etc/missing")]),
            ),
            (layer(), "links", json!([hl("/etc/sctp-link.conf", "/etc")])),
            (
                layer(),
                "links",
                json!([hl("/etc/sctp-link.conf", "/etc/modules-load.d")]),
            ),
            (
                layer(),
                "links",
                json!([hl("/etc/sctp-link.conf", "relative")]),
            ),
            (
                layer(),
                "links",
                json!([l("/etc/sctp-link.conf", "relative")]),
            ),
            (layer(), "links", json!([l("/etc/sctp-link.conf", "")])),
            (layer(), "links", json!([d("/etc/sctp-link.conf")])),
            (layer(), "links", json!([hl(BL, "/etc/x")])),
            (
                vec![file(LOAD, "data:,sctp")],
                "links",
                json!([l(BL, "/dev/null")]),
            ),
            (
                vec![file(LOAD, "data:,sctp")],
                "links",
                json!([lo(BL, "/dev/null")]),
            ),
            (
                vec![file(LOAD, "data:,sctp")],
                "links",
                json!([hl(BL, "/dev/null")]),
            ),
            (
                vec![file(LOAD, "data:,sctp")],
                "links",
                json!([
                    json!({"path": BL, "target": "/dev/null", "overwrite": true, "hard": true})
                ]),
            ),
            (
                vec![
                    file(BL, "data:,"),
                    file(LOAD, "data:,sctp"),
                    file("/etc/modules-load.d/sctp-load.conf/x", "data:,"),
                ],
                "files",
                json!(null),
            ),
            (
                vec![
                    file(BL, "data:,"),
                    file(LOAD, "data:,sctp"),
                    file("/etc/modules-load.d", "data:,"),
                ],
                "files",
                json!(null),
            ),
            (
                vec![
                    file(BL, "data:,"),
                    file(LOAD, "data:,sctp"),
                    file("/etc", "data:,"),
                ],
                "files",
                json!(null),
            ),
            (
                vec![
                    file(BL, "data:,"),
                    file(LOAD, "data:,sctp"),
                    file("/etc/a", "data:,"),
                    file("/etc/a/b", "data:,"),
                ],
                "files",
                json!(null),
            ),
            (
                layer(),
                "links",
                json!([
                    l("/etc/lnk", "/etc/x"),
                    json!({"path": "/etc/lnk2", "target": "/etc/lnk"})
                ]),
            ),
            (
                vec![
                    file(BL, "data:,"),
                    file(LOAD, "data:,sctp"),
                    file("/etc/lnk/x", "data:,"),
                ],
                "links",
                json!([l("/etc/lnk", "/etc/x")]),
            ),
            (layer(), "directories", json!([d("/etc/lnk/x")])),
            (
                layer(),
                "links",
                json!([l("/etc/lnk", "/etc/x"), l("/etc/lnk/y", "/etc/z")]),
            ),
            (layer(), "links", json!([l("/", "/etc")])),
            (layer(), "directories", json!([d("/"), d("/etc")])),
            (
                layer(),
                "directories",
                json!([json!({"path": "/etc/d", "mode": 493, "overwrite": true})]),
            ),
            (
                layer(),
                "directories",
                json!([json!({"path": "/etc/d", "mode": 8192})]),
            ),
            (layer(), "links", json!([json!({"path": "/etc/lnk"})])),
            (
                layer(),
                "links",
                json!([
                    json!({"path": "/etc/lnk", "target": "/etc/x", "user": {"id": 0, "name": "root"}})
                ]),
            ),
        ];
        for (files, key, v) in storage_cases {
            let c = if v.is_null() {
                cfg(spec, files)
            } else {
                with_storage(spec, files, key, v)
            };
            add("storage", j(c), &mut out);
        }

        // Users, groups, units, drop-ins, keys.
        let pw = |p: Value| {
            let mut c = cfg(spec, layer());
            c["passwd"] = p;
            c
        };
        for p in [
            json!({"users": [{"name": "core"}, {"name": "core"}]}),
            json!({"users": [{"name": "core", "sshAuthorizedKeys": ["a", "a"]}]}),
            json!({"users": [{"name": "core", "sshAuthorizedKeys": ["ssh-ed25519 AAAA x"]}]}),
            json!({"users": [{"name": "core", "groups": ["wheel", "wheel"]}]}),
            json!({"users": [{"name": ""}]}),
            json!({"users": [{"name": "core", "uid": 1000, "shouldExist": false}]}),
            json!({"users": [{"name": "core", "shouldExist": false, "sshAuthorizedKeys": ["a"]}]}),
            json!({"groups": [{"name": "g"}, {"name": "g"}]}),
            json!({"groups": [{"name": "g", "shouldExist": false, "gid": 5}]}),
            json!({"users": [{"name": "core", "passwordHash": "x"}], "groups": [{"name": "core"}]}),
        ] {
            add("passwd", j(pw(p)), &mut out);
        }
        let sd = |u: Value| {
            let mut c = cfg(spec, layer());
            c["systemd"] = json!({"units": u});
            c
        };
        let svc = "[Service]\nType=oneshot\nExecStart=/usr/sbin/modprobe sctp\n[Install]\nWantedBy=multi-user.target\n";
        for u in [
            json!([{"name": "a.service", "enabled": true, "contents": svc}]),
            json!([{"name": "a.service", "contents": svc}, {"name": "a.service", "contents": svc}]),
            json!([{"name": "a", "contents": svc}]),
            json!([{"name": "a.foo", "contents": svc}]),
            json!([{"name": "a.service.d", "contents": svc}]),
            json!([{"name": "", "contents": svc}]),
            json!([{"name": "a/b.service", "contents": svc}]),
            json!([{"name": "a.service", "dropins": [{"name": "x.conf", "contents": "[Unit]\n"}, {"name": "x.conf", "contents": "[Unit]\n"}]}]),
            json!([{"name": "a.service", "dropins": [{"name": "x", "contents": "[Unit]\n"}]}]),
            json!([{"name": "a.service", "dropins": [{"name": "x.txt", "contents": "[Unit]\n"}]}]),
            json!([{"name": "a.service", "dropins": [{"name": "", "contents": "[Unit]\n"}]}]),
            json!([{"name": "a.service", "dropins": [{"name": "a/x.conf", "contents": "[Unit]\n"}]}]),
            json!([{"name": "a.service", "contents": "[Service\nExecStart=x\n"}]),
            json!([{"name": "a.service", "contents": "[Service]\nExecStart=x\n", "dropins": [{"name": "x.conf", "contents": "bad line\n"}]}]),
            json!([{"name": "a.service", "contents": "not a unit"}]),
            json!([{"name": "a.service", "contents": ""}]),
            json!([{"name": "a.service", "contents": "[Service]\nExecStart=x\n\\\n"}]),
            json!([{"name": "a.service", "enable": true, "contents": svc}]),
            json!([{"name": "a.service", "mask": true}]),
            json!([{"name": "a.service", "mask": true, "enabled": true, "contents": svc}]),
            json!([{"name": "systemd-modules-load.service", "mask": true}]),
            json!([{"name": "systemd-modules-load.service", "enabled": false}]),
            json!([{"name": "a@.service", "enabled": true, "contents": svc}]),
            json!([{"name": "a@x.service", "enabled": true}]),
            json!([{"name": "a.target", "contents": "[Unit]\n"}]),
            json!([{"name": "a.mount", "contents": "[Mount]\nWhat=x\nWhere=/var/y\n"}]),
            json!([{"name": "var-y.mount", "contents": "[Mount]\nWhat=x\nWhere=/var/y\n"}]),
        ] {
            add("units", j(sd(u)), &mut out);
        }
        // A file path that is a unit's or drop-in's path (systemd path conflicts).
        for (fp, u) in [
            (
                "/etc/systemd/system/a.service",
                json!([{"name": "a.service", "contents": svc}]),
            ),
            (
                "/etc/systemd/system/a.service.d/x.conf",
                json!([{"name": "a.service", "dropins": [{"name": "x.conf", "contents": "[Unit]\n"}]}]),
            ),
            (
                "/etc/systemd/system/a.service",
                json!([{"name": "a.service", "enabled": true}]),
            ),
            (
                "/etc/systemd/system/b.service",
                json!([{"name": "a.service", "contents": svc}]),
            ),
            (
                "/etc/systemd/system/a.service",
                json!([{"name": "a.service", "mask": true}]),
            ),
        ] {
            let mut c = cfg(
                spec,
                vec![
                    file(BL, "data:,"),
                    file(LOAD, "data:,sctp"),
                    file(fp, "data:,"),
                ],
            );
            c["systemd"] = json!({"units": u});
            add("unit-path", j(c), &mut out);
        }

        // Merge and replace children.
        let child = |files: Vec<Value>| cfg(spec, files);
        let mut children: Vec<Value> = vec![
            child(layer()),
            child(vec![file(LOAD, "data:,sctp")]),
            child(vec![file(LOAD, "data:,sctp"), file(LOAD, "data:,sctp")]),
            child(vec![file(LOAD, "data:,sctp#x")]),
            child(vec![file(LOAD, "data:;base64,c2N0cA")]),
            child(vec![json!({"path": LOAD, "overwrite": true})]),
            child(vec![
                json!({"path": "rel", "contents": {"source": "data:,"}}),
            ]),
            json!({"ignition": {"version": "9.9.9"}}),
            json!({"ignition": {}}),
            json!({}),
            json!({"ignition": {"version": "3.0.0"}, "storage": {"files": layer()}}),
            json!({"ignition": {"version": "3.2.0"}, "storage": {"files": layer()}}),
            json!({"ignition": {"version": "3.4.0"}, "storage": {"files": layer()}}),
            json!({"ignition": {"version": "3.5.0"}, "storage": {"files": layer()}}),
            json!({"ignition": {"version": "2.2.0"}, "storage": {"files": [{"filesystem": "root", "path": LOAD, "contents": {"source": "data:,sctp"}, "mode": 420}]}}),
        ];
        let mut ch_links = child(vec![]);
        ch_links["storage"]["links"] = json!([l(LOAD, "/etc/x")]);
        children.push(ch_links);
        let mut ch_units = child(vec![]);
        ch_units["systemd"] = json!({"units": [{"name": "a", "contents": svc}]});
        children.push(ch_units);
        let mut ch_dup_units = child(vec![]);
        ch_dup_units["systemd"] = json!({"units": [{"name": "a.service"}, {"name": "a.service"}]});
        children.push(ch_dup_units);
        for (ci, ch) in children.iter().enumerate() {
            let url = child_url(ch);
            // As a merge child over a parent with only the blacklist file.
            let mut c = cfg(spec, vec![file(BL, "data:,")]);
            c["ignition"]["config"] = json!({"merge": [{"source": url}]});
            add("merge", j(c), &mut out);
            // As a replace child.
            let mut c = cfg(spec, vec![]);
            c["ignition"]["config"] = json!({"replace": {"source": url}});
            add("replace", j(c), &mut out);
            // As a merge child in raw (percent-escaped) form.
            if ci < 4 {
                let raw = format!(
                    "data:,{}",
                    ch.to_string()
                        .bytes()
                        .map(|b| if b.is_ascii_alphanumeric() {
                            (b as char).to_string()
                        } else {
                            format!("%{b:02X}")
                        })
                        .collect::<String>()
                );
                let mut c = cfg(spec, vec![file(BL, "data:,")]);
                c["ignition"]["config"] = json!({"merge": [{"source": raw}]});
                add("merge", j(c), &mut out);
            }
        }
        // Parent link replaced by child's file (kind replacement), and the reverse.
        {
            let mut c = with_storage(
                spec,
                vec![file(BL, "data:,")],
                "links",
                json!([l(LOAD, "/etc/x")]),
            );
            c["ignition"]["config"] =
                json!({"merge": [{"source": child_url(&child(vec![file(LOAD, "data:,sctp")]))}]});
            add("merge-kind", j(c), &mut out);
            let mut ch = child(vec![]);
            ch["storage"]["links"] = json!([l(LOAD, "/dev/null")]);
            let mut c = cfg(spec, layer());
            c["ignition"]["config"] = json!({"merge": [{"source": child_url(&ch)}]});
            add("merge-kind", j(c), &mut out);
            let mut ch = child(vec![]);
            ch["storage"]["directories"] = json!([d(LOAD)]);
            let mut c = cfg(spec, layer());
            c["ignition"]["config"] = json!({"merge": [{"source": child_url(&ch)}]});
            add("merge-kind", j(c), &mut out);
            let mut c = with_storage(
                spec,
                vec![file(BL, "data:,")],
                "directories",
                json!([d(LOAD)]),
            );
            c["ignition"]["config"] =
                json!({"merge": [{"source": child_url(&child(vec![file(LOAD, "data:,sctp")]))}]});
            add("merge-kind", j(c), &mut out);
            // The child's file merges field by field over the parent's.
            let mut c = cfg(
                spec,
                vec![
                    file(BL, "data:,"),
                    json!({"path": LOAD, "contents": {"source": "data:,x"}, "mode": 420, "overwrite": true}),
                ],
            );
            c["ignition"]["config"] = json!({"merge": [{"source": child_url(&child(vec![json!({"path": LOAD, "contents": {"source": "data:,sctp"}})]))}]});
            add("merge-kind", j(c), &mut out);
            let mut c = cfg(spec, layer());
            c["ignition"]["config"] = json!({"merge": [{"source": child_url(&child(vec![json!({"path": LOAD, "overwrite": false})]))}]});
            add("merge-kind", j(c), &mut out);
        }
        // Merge list shapes.
        for m in [
            json!({"merge": [{}]}),
            json!({"merge": [{"source": ""}]}),
            json!({"merge": [{"source": null}]}),
            json!({"merge": []}),
            json!({"merge": [{"source": "ftp://x/y"}]}),
            json!({"merge": [{"source": "https://example.com/c.ign"}]}),
            json!({"merge": [{"source": "https://example.com/c.ign"}, {"source": "https://example.com/c.ign"}]}),
            json!({"merge": [{"source": child_url(&child(vec![])), "compression": "gzip"}]}),
            json!({"merge": [{"source": child_url(&child(vec![])), "verification": {"hash": format!("sha512-{}", "0".repeat(128))}}]}),
            json!({"replace": {}}),
            json!({"replace": {"source": ""}}),
            json!({"replace": {"source": "ftp://x/y"}}),
            json!({"replace": {"verification": {"hash": format!("sha512-{sha512_sctp}")}}}),
        ] {
            let mut c = cfg(spec, layer());
            c["ignition"]["config"] = m;
            add("merge-shape", j(c), &mut out);
        }

        // Go JSON reading: key case, duplicate keys, invalid UTF-8, numbers, versions, nesting.
        let head = format!("{{\"ignition\":{{\"version\":\"{spec}\"}}");
        let bl = format!("{{\"path\":\"{BL}\",\"contents\":{{\"source\":\"data:,\"}},\"mode\":420,\"overwrite\":true}}");
        let raw_load =
            |load: &str| format!("{head},\"storage\":{{\"files\":[{bl},{load}]}}}}").into_bytes();
        let raws: Vec<Vec<u8>> = vec![
            raw_load(&format!("{{\"path\":\"{LOAD}\",\"contents\":{{\"source\":\"data:,x\",\"Source\":\"data:,sctp\"}},\"mode\":420,\"overwrite\":true}}")),
            raw_load(&format!("{{\"path\":\"{LOAD}\",\"contents\":{{\"Source\":\"data:,sctp\",\"source\":\"data:,x\"}},\"mode\":420,\"overwrite\":true}}")),
            raw_load(&format!("{{\"path\":\"{LOAD}\",\"contents\":{{\"SOURCE\":\"data:,sctp\"}},\"mode\":420,\"overwrite\":true}}")),
            raw_load(&format!("{{\"Path\":\"{LOAD}\",\"Contents\":{{\"Source\":\"data:,sctp\"}},\"Mode\":420,\"Overwrite\":true}}")),
            raw_load(&format!("{{\"path\":\"{LOAD}\",\"contents\":{{\"source\":\"data:,x\",\"source\":\"data:,sctp\"}},\"mode\":420,\"overwrite\":true}}")),
            raw_load(&format!("{{\"path\":\"{LOAD}\",\"contents\":{{\"source\":\"data:,sctp\",\"source\":\"data:,x\"}},\"mode\":420,\"overwrite\":true}}")),
            raw_load(&format!("{{\"path\":\"/etc/x\",\"path\":\"{LOAD}\",\"contents\":{{\"source\":\"data:,sctp\"}},\"mode\":420,\"overwrite\":true}}")),
            raw_load(&format!("{{\"path\":\"{LOAD}\",\"contents\":{{\"source\":\"data:,sctp\"}},\"mode\":-0,\"overwrite\":true}}")),
            raw_load(&format!("{{\"path\":\"{LOAD}\",\"contents\":{{\"source\":\"data:,sctp\"}},\"mode\":420,\"overwrite\":false,\"overwrite\":true}}")),
            raw_load(&format!("{{\"path\":\"{LOAD}\",\"contents\":{{\"source\":\"data:,sctp\"}},\"mode\":420,\"overwrite\":true,\"overwrite\":null}}")),
            raw_load(&format!("{{\"path\":\"{LOAD}\",\"contents\":{{\"source\":\"data:,sctp\"}},\"mode\":420,\"overwrite\":true,\"unknownKey\":1}}")),
            raw_load(&format!("{{\"path\":\"{LOAD}\",\"contents\":{{\"source\":\"data:,sctp\"}},\"mode\":4.20e2,\"overwrite\":true}}")),
            raw_load(&format!("{{\"path\":\"{LOAD}\",\"contents\":{{\"source\":\"data:,sctp\"}},\"mode\":420,\"overwrite\":true}} ")),
            raw_load(&format!("{{\"path\":\"{LOAD}\",\"contents\":{{\"source\":\"data:,sc\\u0074p\"}},\"mode\":420,\"overwrite\":true}}")),
            raw_load(&format!("{{\"path\":\"{LOAD}\",\"contents\":{{\"source\":\"data:,sctp\",\"compression\":null,\"verification\":null}},\"mode\":420,\"overwrite\":true}}")),
            {
                let mut v = raw_load(&format!("{{\"path\":\"{LOAD}\",\"contents\":{{\"source\":\"data:,sctp\"}},\"mode\":420,\"overwrite\":true}}"));
                // Invalid UTF-8 in another file's path.
                let s = ",{\"path\":\"/etc/a\u{1}\",\"contents\":{\"source\":\"data:,\"}}]".to_string();
                let at = v.iter().rposition(|&b| b == b']').unwrap();
                let mut tail = s.into_bytes();
                let p = tail.iter().position(|&b| b == 1).unwrap();
                tail[p] = 0xff;
                v.splice(at..at + 1, tail);
                v
            },
            {
                // Invalid UTF-8 inside the load file's data URL.
                let mut v = raw_load(&format!("{{\"path\":\"{LOAD}\",\"contents\":{{\"source\":\"data:,sctp\u{1}\"}},\"mode\":420,\"overwrite\":true}}"));
                let p = v.iter().position(|&b| b == 1).unwrap();
                v[p] = 0xfe;
                v
            },
            format!("{{\"ignition\":{{\"version\":\"{spec}\"}},\"Ignition\":{{\"version\":\"{spec}\"}},\"storage\":{{\"files\":[{bl}]}}}}").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}\"}},\"storage\":{{\"files\":[{bl}]}},\"Storage\":{{\"files\":[]}}}}").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}\"}},\"storage\":{{\"files\":[{bl}]}},\"storage\":{{\"files\":[{bl}]}}}}").into_bytes(),
            format!("{{\"IGNITION\":{{\"VERSION\":\"{spec}\"}},\"storage\":{{\"files\":[{bl}]}}}}").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{}\"}},\"storage\":{{\"files\":[{bl}]}}}}", spec.replace(".0.0", ".00.0").replace("3.", "3.0")).into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"v{spec}\"}}}}").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}+meta\"}}}}").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}-experimental\"}}}}").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\" {spec}\"}}}}").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{}\"}}}}", &spec[..3]).into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}\"}},\"storage\":{{\"files\":[{bl}]}},\"systemd\":{}}}", "[".repeat(200) + &"]".repeat(200)).into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}\"}},\"storage\":{{\"files\":[{bl}]}},\"x\":{}1{}}}", "[".repeat(20000), "]".repeat(20000)).into_bytes(),
            format!("\u{feff}{{\"ignition\":{{\"version\":\"{spec}\"}}}}").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}\"}}}}\n{{}}").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}\"}}}}//").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}\",}}}}").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}\"}},\"storage\":null,\"systemd\":null,\"passwd\":null}}").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}\"}},\"storage\":{{\"files\":null}}}}").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}\"}},\"storage\":{{\"files\":[null]}}}}").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}\"}},\"storage\":{{\"files\":{{}}}}}}").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}\"}},\"storage\":[]}}").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}\"}},\"storage\":{{\"files\":[{bl}]}},\"systemd\":{{\"units\":[{{\"name\":\"a.service\",\"Mask\":true}}]}}}}").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}\"}},\"storage\":{{\"files\":[{bl}]}},\"systemd\":{{\"units\":[{{\"name\":\"systemd-modules-load.service\",\"Mask\":true}}]}}}}").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}\"}},\"storage\":{{\"files\":[{bl},{{\"path\":\"{LOAD}\",\"contents\":{{\"source\":\"data:,sctp\"}},\"mode\":420,\"overwrite\":true}}]}},\"systemd\":{{\"units\":[{{\"name\":\"systemd-modules-load.service\",\"mask\":false,\"Mask\":true}}]}}}}").into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}\"}},\"storage\":{{\"files\":[{bl},{{\"path\":\"{LOAD}\",\"contents\":{{\"source\":\"data:,sctp\"}},\"mode\":420,\"overwrite\":true}}]}},\"systemd\":{{\"units\":[{{\"name\":\"a.service\",\"enable\":true,\"contents\":{}}}]}}}}", serde_json::to_string(svc).unwrap()).into_bytes(),
            format!("{{\"ignition\":{{\"version\":\"{spec}\"}},\"storage\":{{\"files\":[{bl},{{\"path\":\"{LOAD}\",\"contents\":{{\"source\":\"data:,sctp\"}},\"mode\":420,\"overwrite\":true}}]}},\"systemd\":{{\"units\":[{{\"name\":\"a.service\",\"Enabled\":true,\"contents\":{}}}]}}}}", serde_json::to_string(svc).unwrap()).into_bytes(),
        ];
        for r in raws {
            add("gojson", r, &mut out);
        }

        // Spec-gated keys: used in a spec that lacks them.
        let gated: Vec<(u32, Value)> = vec![
            (
                1,
                json!({"storage": {"files": [{"path": "/etc/h", "contents": {"source": "https://x/y", "httpHeaders": [{"name": "a", "value": "b"}]}}]}}),
            ),
            (
                1,
                json!({"storage": {"files": [{"path": "/etc/h", "contents": {"source": "data:,", "verification": {"hash": format!("sha256-{sha256_sctp}")}}}]}}),
            ),
            (
                2,
                json!({"storage": {"luks": [{"name": "l", "device": "/dev/sda"}]}}),
            ),
            (3, json!({"kernelArguments": {"shouldExist": ["a"]}})),
            (
                4,
                json!({"ignition": {"version": spec, "security": {"tls": {"certificateAuthorities": [{"source": "data:,"}]}}}, "storage": {"luks": [{"name": "l", "device": "/dev/sda", "clevis": {"custom": {"pin": "tpm2", "config": "{}"}}}]}}),
            ),
            (
                5,
                json!({"storage": {"luks": [{"name": "l", "device": "/dev/sda", "discard": true}]}}),
            ),
        ];
        for (since, extra) in gated {
            let mut c = cfg(spec, layer());
            for (k, v) in extra.as_object().unwrap() {
                if k == "storage" {
                    for (sk, sv) in v.as_object().unwrap() {
                        if sk == "files" {
                            let mut fs = c["storage"]["files"].as_array().unwrap().clone();
                            fs.extend(sv.as_array().unwrap().iter().cloned());
                            c["storage"]["files"] = json!(fs);
                        } else {
                            c["storage"][sk] = sv.clone();
                        }
                    }
                } else {
                    c[k] = v.clone();
                }
            }
            let _ = since;
            add("gated", j(c), &mut out);
        }
        let _ = m;
    }
    out
}
