//! A strict reader of the Prometheus text exposition format (0.0.4), enough
//! to validate what `drift --metrics` writes: metric and label name syntax,
//! quoted label values with their three escapes, float values, HELP/TYPE at
//! most once per family and TYPE before its samples, families not
//! interleaved, no duplicate series, a final newline.

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

fn is_metric_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_' || ch == ':')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "NaN" => Ok(f64::NAN),
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => s.parse::<f64>().map_err(|_| format!("bad value {s:?}")),
    }
}

pub fn parse(text: &str) -> Result<Vec<Sample>, String> {
    if !text.ends_with('\n') {
        return Err("no final newline".into());
    }
    let mut samples = Vec::new();
    let mut help = BTreeSet::new();
    let mut typed = BTreeSet::new();
    let mut finished: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut series = BTreeSet::new();
    let mut enter = |name: &str, current: &mut Option<String>| -> Result<(), String> {
        if current.as_deref() != Some(name) {
            if finished.contains(name) {
                return Err(format!("family {name} is interleaved with another"));
            }
            if let Some(c) = current.take() {
                finished.insert(c);
            }
            *current = Some(name.to_string());
        }
        Ok(())
    };
    for (no, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", no + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let mut parts = rest.trim_start().splitn(3, ' ');
            match parts.next() {
                Some("HELP") => {
                    let name = parts.next().unwrap_or_default();
                    if !is_metric_name(name) {
                        return Err(at("bad metric name in HELP".into()));
                    }
                    if !help.insert(name.to_string()) {
                        return Err(at("second HELP".into()));
                    }
                    let text = parts.next().unwrap_or_default();
                    let mut chars = text.chars();
                    while let Some(c) = chars.next() {
                        if c == '\\' && !matches!(chars.next(), Some('\\' | 'n')) {
                            return Err(at("bad escape in HELP".into()));
                        }
                    }
                    enter(name, &mut current).map_err(at)?;
                }
                Some("TYPE") => {
                    let name = parts.next().unwrap_or_default();
                    if !is_metric_name(name) {
                        return Err(at("bad metric name in TYPE".into()));
                    }
                    let kind = parts.next().unwrap_or_default();
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(at(format!("bad type {kind:?}")));
                    }
                    if !typed.insert(name.to_string()) {
                        return Err(at("second TYPE".into()));
                    }
                    if samples.iter().any(|s: &Sample| s.name == name) {
                        return Err(at("TYPE after samples".into()));
                    }
                    enter(name, &mut current).map_err(at)?;
                }
                _ => {} // a comment
            }
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => return Err(at("no value".into())),
        };
        if !is_metric_name(name) {
            return Err(at("bad metric name".into()));
        }
        let mut labels = BTreeMap::new();
        let rest = if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices().peekable();
            let end;
            loop {
                // label name
                let start = chars
                    .peek()
                    .map(|(i, _)| *i)
                    .ok_or_else(|| at("unclosed {".into()))?;
                if body[start..].starts_with('}') {
                    end = start + 1;
                    break;
                }
                let eq = body[start..]
                    .find('=')
                    .ok_or_else(|| at("label without =".into()))?
                    + start;
                let lname = &body[start..eq];
                if !is_label_name(lname) {
                    return Err(at(format!("bad label name {lname:?}")));
                }
                while chars.peek().is_some_and(|(i, _)| *i <= eq) {
                    chars.next();
                }
                if chars.next().map(|(_, c)| c) != Some('"') {
                    return Err(at("label value not quoted".into()));
                }
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some((_, '\\')) => match chars.next() {
                            Some((_, '\\')) => value.push('\\'),
                            Some((_, '"')) => value.push('"'),
                            Some((_, 'n')) => value.push('\n'),
                            _ => return Err(at("bad escape in label value".into())),
                        },
                        Some((_, '"')) => break,
                        Some((_, c)) => value.push(c),
                        None => return Err(at("unterminated label value".into())),
                    }
                }
                if labels.insert(lname.to_string(), value).is_some() {
                    return Err(at(format!("label {lname} twice")));
                }
                match chars.next() {
                    Some((_, ',')) => continue,
                    Some((i, '}')) => {
                        end = i + 1;
                        break;
                    }
                    _ => return Err(at("expected , or }".into())),
                }
            }
            &body[end..]
        } else {
            rest
        };
        let rest = rest
            .strip_prefix(' ')
            .ok_or_else(|| at("no space before value".into()))?;
        let mut fields = rest.split(' ');
        let value = parse_value(fields.next().unwrap_or_default()).map_err(at)?;
        if let Some(ts) = fields.next() {
            ts.parse::<i64>().map_err(|_| at("bad timestamp".into()))?;
        }
        if fields.next().is_some() {
            return Err(at("trailing fields".into()));
        }
        enter(name, &mut current).map_err(at)?;
        if !series.insert((
            name.to_string(),
            labels.clone().into_iter().collect::<Vec<_>>(),
        )) {
            return Err(at("duplicate series".into()));
        }
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(samples)
}

/// The reader rejects what Prometheus rejects (so a passing parse means something).
#[test]
fn reader_rejects_malformed_exposition() {
    let ok = "# HELP a_b Help with \\\\ and \\n.\n# TYPE a_b gauge\na_b{x=\"1\",y=\"q\\\"\"} 2\na_b{x=\"2\"} 3.5\n";
    let s = parse(ok).expect("valid");
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].labels["y"], "q\"");
    for bad in [
        "a_b 1",                                // no final newline
        "1ab 1\n",                              // bad name
        "a_b{x=1} 1\n",                         // unquoted value
        "a_b{x=\"1\"}1\n",                      // no space
        "a_b{x=\"\\t\"} 1\n",                   // bad escape
        "a_b{0x=\"1\"} 1\n",                    // bad label name
        "a_b{x=\"1\",x=\"2\"} 1\n",             // label twice
        "a_b one\n",                            // bad value
        "a_b 1\na_b 2\n",                       // duplicate series
        "a_b 1\n# TYPE a_b gauge\n",            // TYPE after samples
        "# TYPE a_b gauge\n# TYPE a_b gauge\n", // second TYPE
        "# TYPE a_b gaug\n",                    // bad type
        "a 1\nb 1\na{x=\"1\"} 1\n",             // interleaved
        "a{x=\"1\" 1\n",                        // unclosed
    ] {
        assert!(parse(bad).is_err(), "accepted {bad:?}");
    }
}
