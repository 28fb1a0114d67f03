//! A strict reader of Prometheus's text exposition format (version 0.0.4), written here so that
//! the tests hold `/metrics` to the format rather than to its own writer: every sample line is
//! `name{label="value",…} value`, each family's `# HELP` and `# TYPE` come before its samples
//! and once, a family's samples are together, counters end in `_total`, and a histogram's
//! buckets carry `le`, only grow, and end at `+Inf` with the family's `_count`. Its own tests
//! (at the bottom) show it refuses each of those mistakes.

use std::collections::{BTreeMap, BTreeSet};

/// The samples read: `name{labels as written}` to the value.
pub type Samples = BTreeMap<String, f64>;

fn is_name(s: &str, colons: bool) -> bool {
    let mut chars = s.chars();
    let first_ok = |c: char| c.is_ascii_alphabetic() || c == '_' || (colons && c == ':');
    chars.next().is_some_and(first_ok)
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colons && c == ':'))
}

/// `name{a="x",b="y"}` → the name and the labels in order.
fn split_sample(series: &str) -> Result<(String, Vec<(String, String)>), String> {
    let Some(open) = series.find('{') else {
        return if is_name(series, true) {
            Ok((series.to_owned(), Vec::new()))
        } else {
            Err(format!("bad metric name {series:?}"))
        };
    };
    let name = &series[..open];
    if !is_name(name, true) {
        return Err(format!("bad metric name {name:?}"));
    }
    let inner = series[open + 1..]
        .strip_suffix('}')
        .ok_or_else(|| format!("labels of {name} not closed"))?;
    let mut labels = Vec::new();
    let mut rest = inner;
    while !rest.is_empty() {
        let (label, after) = rest
            .split_once("=\"")
            .ok_or_else(|| format!("{name}: a label without =\"…\""))?;
        if !is_name(label, false) {
            return Err(format!("{name}: bad label name {label:?}"));
        }
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    _ => return Err(format!("{name}: bad escape in {label}")),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => return Err(format!("{name}: value of {label} not closed")),
            }
        };
        labels.push((label.to_owned(), value));
        rest = &after[end + 1..];
        rest = match rest.strip_prefix(',') {
            Some(more) if !more.is_empty() => more,
            Some(_) => "",
            None if rest.is_empty() => rest,
            None => return Err(format!("{name}: labels must be separated by commas")),
        };
    }
    Ok((name.to_owned(), labels))
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse().map_err(|_| format!("bad value {s:?}")),
    }
}

fn series_key(name: &str, labels: &[(String, String)]) -> String {
    if labels.is_empty() {
        return name.to_owned();
    }
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}}", inner.join(","))
}

/// What is known of one family while reading.
#[derive(Default)]
struct FamilyState {
    help: bool,
    kind: Option<String>,
    sampled: bool,
}

/// Reads `text`, or says what is wrong with it (naming the line).
pub fn parse(text: &str) -> Result<Samples, String> {
    if !text.ends_with('\n') {
        return Err("the text must end with a newline".into());
    }
    let mut families: BTreeMap<String, FamilyState> = BTreeMap::new();
    let mut finished = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut samples = Samples::new();
    // A histogram's buckets per series (without `le`): the running count.
    let mut buckets: BTreeMap<String, (f64, bool)> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        let family_of = |name: &str, families: &BTreeMap<String, FamilyState>| {
            for suffix in ["_bucket", "_sum", "_count"] {
                if let Some(base) = name.strip_suffix(suffix) {
                    if families.get(base).and_then(|f| f.kind.as_deref()) == Some("histogram") {
                        return base.to_owned();
                    }
                }
            }
            name.to_owned()
        };
        let family = if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.trim_start().splitn(3, ' ');
            let (keyword, name, rest) = (words.next(), words.next(), words.next());
            if !matches!(keyword, Some("HELP" | "TYPE")) {
                continue;
            }
            let name = name.ok_or_else(|| at("no metric name".into()))?;
            if !is_name(name, true) {
                return Err(at(format!("bad metric name {name:?}")));
            }
            let state = families.entry(name.to_owned()).or_default();
            if state.sampled {
                return Err(at(format!("{keyword:?} after the samples of {name}")));
            }
            if keyword == Some("HELP") {
                if std::mem::replace(&mut state.help, true) {
                    return Err(at(format!("a second HELP for {name}")));
                }
            } else {
                let kind = rest.unwrap_or_default();
                if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                    return Err(at(format!("unknown type {kind:?}")));
                }
                if state.kind.replace(kind.to_owned()).is_some() {
                    return Err(at(format!("a second TYPE for {name}")));
                }
                if kind == "counter" && !name.ends_with("_total") {
                    return Err(at(format!("counter {name} does not end in _total")));
                }
            }
            name.to_owned()
        } else {
            let mut parts = line.rsplitn(2, ' ');
            let (value, series) = (parts.next(), parts.next());
            let series = series.ok_or_else(|| at("no value".into()))?;
            let value = parse_value(value.unwrap_or_default()).map_err(at)?;
            let (name, labels) = split_sample(series).map_err(at)?;
            let family = family_of(&name, &families);
            let state = families.entry(family.clone()).or_default();
            if !state.help || state.kind.is_none() {
                return Err(at(format!("a sample of {family} before its HELP and TYPE")));
            }
            state.sampled = true;
            let key = series_key(&name, &labels);
            if samples.insert(key.clone(), value).is_some() {
                return Err(at(format!("{key} twice")));
            }
            if state.kind.as_deref() == Some("counter") && (value.is_nan() || value < 0.0) {
                return Err(at(format!("counter {key} is not a count")));
            }
            if state.kind.as_deref() == Some("histogram") {
                let others: Vec<(String, String)> =
                    labels.iter().filter(|(k, _)| k != "le").cloned().collect();
                let base = series_key(&family, &others);
                if name.ends_with("_bucket") {
                    let le = labels.iter().find(|(k, _)| k == "le");
                    let le = le.ok_or_else(|| at("a bucket without le".into()))?;
                    parse_value(&le.1).map_err(at)?;
                    let (below, closed) = buckets.entry(base).or_insert((0.0, false));
                    if *closed || value < *below {
                        return Err(at("buckets must grow, and end at +Inf".into()));
                    }
                    *below = value;
                    *closed = le.1 == "+Inf";
                } else if name.ends_with("_count") && buckets.get(&base) != Some(&(value, true)) {
                    return Err(at(format!("{key} is not its +Inf bucket")));
                }
            }
            family
        };
        if current.as_deref() != Some(family.as_str()) {
            if finished.contains(&family) {
                return Err(at(format!("{family} is split in two")));
            }
            if let Some(done) = current.replace(family) {
                finished.insert(done);
            }
        }
    }
    if let Some((base, _)) = buckets.iter().find(|(_, (_, closed))| !closed) {
        return Err(format!("{base}: buckets do not end at +Inf"));
    }
    Ok(samples)
}

#[test]
fn the_reader_refuses_what_the_format_does_not_allow() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{k=\"v\",w=\"x\\\"y\"} 3\n\
                # HELP h H.\n# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\n\
                h_sum 0.3\nh_count 2\n";
    let read = parse(good).unwrap();
    assert_eq!(read["a_total{k=\"v\",w=\"x\"y\"}"], 3.0);
    assert_eq!(read["h_count"], 2.0);
    let bad = [
        (
            "no newline at the end",
            "# HELP a_total A.\n# TYPE a_total counter\na_total 1",
        ),
        ("no HELP", "# TYPE a_total counter\na_total 1\n"),
        ("no TYPE", "# HELP a_total A.\na_total 1\n"),
        (
            "TYPE after a sample",
            "# HELP g G.\n# TYPE g gauge\ng 1\n# TYPE g gauge\n",
        ),
        ("bad name", "# HELP 1g G.\n# TYPE 1g gauge\n1g 1\n"),
        ("unquoted label", "# HELP g G.\n# TYPE g gauge\ng{k=v} 1\n"),
        ("no value", "# HELP g G.\n# TYPE g gauge\ng{k=\"v\"}\n"),
        ("bad value", "# HELP g G.\n# TYPE g gauge\ng one\n"),
        (
            "counter without _total",
            "# HELP c C.\n# TYPE c counter\nc 1\n",
        ),
        (
            "negative counter",
            "# HELP c_total C.\n# TYPE c_total counter\nc_total -1\n",
        ),
        ("unknown type", "# HELP g G.\n# TYPE g meter\ng 1\n"),
        ("twice", "# HELP g G.\n# TYPE g gauge\ng 1\ng 2\n"),
        (
            "split family",
            "# HELP g G.\n# TYPE g gauge\ng{a=\"1\"} 1\n# HELP f F.\n# TYPE f gauge\nf 1\n\
             g{a=\"2\"} 1\n",
        ),
        (
            "shrinking buckets",
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n\
             h_sum 1\nh_count 1\n",
        ),
        (
            "no +Inf bucket",
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\nh_count 2\n",
        ),
        (
            "count beside its buckets",
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
        ),
    ];
    for (what, text) in bad {
        assert!(parse(text).is_err(), "{what} was accepted");
    }
}
