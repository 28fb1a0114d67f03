//! Settings from a file: `latchkey --config FILE` (or `LATCHKEY_CONFIG`) reads `key = value`
//! lines, a small subset of TOML, where each key is the long name of a setting's flag (the
//! global options and `serve`'s):
//!
//! ```text
//! # /etc/latchkey.conf
//! db = "postgres://latchkey@db/latchkey"
//! db-max-connections = 16
//! listen = "0.0.0.0:8080"
//! trusted-proxy = ["10.0.0.0/8", "192.168.0.0/16"]
//! skip-migrations = true
//! ```
//!
//! Values are quoted strings (`"…"` with `\"`, `\\`, `\n`, `\t` escapes, or `'…'` as written),
//! integers, `true` / `false`, or lists of strings for the settings that repeat; `#` starts a
//! comment. A flag beats its environment variable, which beats the file, which beats the
//! default: the file's values become the flags' defaults before the command line is parsed.
//! Every entry is checked first, by the flag's own parser: an unknown key or a bad value stops
//! the start with one line naming the file, the line and the key.

use clap::{Arg, ArgAction, Command};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The subcommand whose options are settings besides the global ones.
const SERVE: &str = "serve";

/// The flag, and its environment variable, that name the file.
const CONFIG_FLAG: &str = "config";
const CONFIG_ENV: &str = "LATCHKEY_CONFIG";

/// A value as the file wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A quoted string.
    Text(String),
    /// An integer, as written (the flag's parser reads it).
    Integer(String),
    /// `true` or `false`.
    Bool(bool),
    /// A list of strings.
    List(Vec<String>),
}

/// One `key = value` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The key, a flag's long name.
    pub key: String,
    /// The value.
    pub value: Value,
    /// The line it is on, from 1.
    pub line: usize,
}

/// Why the settings cannot be used: one line, naming the file (and the line and key).
#[derive(Debug)]
pub struct SettingsError(String);

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SettingsError {}

/// The file the command line or the environment names, if any: `--config FILE` or
/// `--config=FILE` before any `--`, else `LATCHKEY_CONFIG`.
pub fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let flag = format!("--{CONFIG_FLAG}");
    let mut args = args.iter().skip(1);
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else { continue };
        if text == "--" {
            break;
        }
        if text == flag {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix(&format!("{flag}=")) {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os(CONFIG_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Reads the file at `path` into `command`: each entry, checked, becomes its flag's default.
pub fn load(command: Command, path: &Path) -> Result<Command, SettingsError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| SettingsError(format!("cannot read the config file {shown}: {e}")))?;
    let entries = parse(&text)
        .map_err(|(line, message)| SettingsError(format!("{shown} line {line}: {message}")))?;
    apply(command, &entries)
        .map_err(|(line, message)| SettingsError(format!("{shown} line {line}: {message}")))
}

/// The entries of a file's text; or the line and what is wrong with it.
pub fn parse(text: &str) -> Result<Vec<Entry>, (usize, String)> {
    let mut entries: Vec<Entry> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.starts_with('[') {
            return Err((
                line,
                "sections are not supported: write `key = value` lines".into(),
            ));
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            return Err((line, "expected `key = value`".into()));
        };
        let key = key.trim();
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err((line, format!("`{key}` is not a setting's name")));
        }
        let value = parse_value(value.trim()).map_err(|e| (line, format!("`{key}`: {e}")))?;
        if let Some(first) = entries.iter().find(|e| e.key == key) {
            return Err((
                line,
                format!("`{key}` is set twice (first on line {})", first.line),
            ));
        }
        entries.push(Entry {
            key: key.to_owned(),
            value,
            line,
        });
    }
    Ok(entries)
}

/// A value, and nothing after it but a comment.
fn parse_value(text: &str) -> Result<Value, String> {
    let (value, rest) = if let Some(list) = text.strip_prefix('[') {
        let mut items = Vec::new();
        let mut rest = list.trim_start();
        loop {
            if let Some(after) = rest.strip_prefix(']') {
                break (Value::List(items), after);
            }
            let (item, after) = quoted(rest)?;
            items.push(item);
            rest = after.trim_start();
            if let Some(after) = rest.strip_prefix(',') {
                rest = after.trim_start();
            } else if !rest.starts_with(']') {
                return Err("a list is `[\"a\", \"b\"]`, on one line".into());
            }
        }
    } else if text.starts_with('"') || text.starts_with('\'') {
        let (s, rest) = quoted(text)?;
        (Value::Text(s), rest)
    } else {
        let end = text.find([' ', '\t', '#']).unwrap_or(text.len());
        let (word, rest) = text.split_at(end);
        let value = match word {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ if is_integer(word) => Value::Integer(word.replace('_', "")),
            _ => {
                return Err(format!(
                    "`{word}` is not a value: quote a string (\"…\"), or write a number, \
                     true, false or a list"
                ))
            }
        };
        (value, rest)
    };
    let rest = rest.trim_start();
    if rest.is_empty() || rest.starts_with('#') {
        Ok(value)
    } else {
        Err(format!("unexpected `{rest}` after the value"))
    }
}

/// `[+-]digits`, with `_` between digits as TOML allows.
fn is_integer(word: &str) -> bool {
    let digits = word.strip_prefix(['+', '-']).unwrap_or(word);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
}

/// A quoted string at the start of `text`, and what follows it.
fn quoted(text: &str) -> Result<(String, &str), String> {
    let mut chars = text.char_indices();
    let Some((_, quote @ ('"' | '\''))) = chars.next() else {
        return Err("expected a quoted string".into());
    };
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            _ if c == quote => return Ok((out, &text[i + 1..])),
            '\\' if quote == '"' => match chars.next().map(|(_, e)| e) {
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                other => {
                    return Err(format!(
                        "unknown escape `\\{}`",
                        other.map(String::from).unwrap_or_default()
                    ))
                }
            },
            _ => out.push(c),
        }
    }
    Err("a quoted string is not closed on its line".into())
}

/// Where a setting's flag is: global, or `serve`'s.
enum Owner {
    Global,
    Serve,
}

/// The flag whose long name is `key`, among the settings (not `--config` itself).
fn find<'c>(command: &'c Command, key: &str) -> Option<(Owner, &'c Arg)> {
    let named = |a: &&Arg| a.get_long() == Some(key) && key != CONFIG_FLAG;
    if let Some(arg) = command.get_arguments().find(named) {
        return Some((Owner::Global, arg));
    }
    let serve = command.find_subcommand(SERVE)?;
    serve.get_arguments().find(named).map(|a| (Owner::Serve, a))
}

/// The entries become their flags' defaults, each checked by its flag's parser first.
fn apply(mut command: Command, entries: &[Entry]) -> Result<Command, (usize, String)> {
    for entry in entries {
        let key = entry.key.as_str();
        let Some((owner, arg)) = find(&command, key) else {
            let hint = find(&command, &key.replace('_', "-"))
                .map(|(_, a)| format!(" (did you mean `{}`?)", a.get_long().unwrap_or_default()))
                .unwrap_or_default();
            return Err((entry.line, format!("unknown key `{key}`{hint}")));
        };
        let values =
            values_for(arg, &entry.value).map_err(|e| (entry.line, format!("`{key}`: {e}")))?;
        check(arg, &values).map_err(|e| (entry.line, format!("`{key}`: {e}")))?;
        let id = arg.get_id().clone();
        let set = move |a: Arg| a.default_values(values);
        command = match owner {
            Owner::Global => command.mut_arg(id, set),
            Owner::Serve => command.mut_subcommand(SERVE, |s| s.mut_arg(id, set)),
        };
    }
    Ok(command)
}

/// The strings a flag gets for a value.
fn values_for(arg: &Arg, value: &Value) -> Result<Vec<String>, String> {
    let switch = matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse);
    let repeats = matches!(arg.get_action(), ArgAction::Append);
    match value {
        Value::Bool(b) => Ok(vec![b.to_string()]),
        _ if switch => Err("expected true or false".into()),
        // A repeating flag that splits its values (as its environment variable is split).
        Value::Text(s) if repeats => Ok(match arg.get_value_delimiter() {
            Some(d) => s.split(d).map(str::to_owned).collect(),
            None => vec![s.clone()],
        }),
        Value::Text(s) | Value::Integer(s) => Ok(vec![s.clone()]),
        Value::List(items) if repeats => Ok(items.clone()),
        Value::List(_) => Err("takes one value, not a list".into()),
    }
}

/// Parses `values` with the flag's own parser (nothing else: no environment, no other flag),
/// saying what its parser said when it refuses them.
fn check(arg: &Arg, values: &[String]) -> Result<(), String> {
    let long = arg.get_long().unwrap_or_default();
    let lone = arg.clone().env(None::<&'static str>).global(false);
    let mut argv = vec!["latchkey".to_owned()];
    match arg.get_action() {
        ArgAction::SetTrue | ArgAction::SetFalse => {
            // A switch's value is its presence; `true` and `false` are all it can be.
            return Ok(());
        }
        _ => argv.extend(values.iter().map(|v| format!("--{long}={v}"))),
    }
    Command::new("latchkey")
        .arg(lone)
        .try_get_matches_from(argv)
        .map(|_| ())
        .map_err(|e| {
            let said = std::error::Error::source(&e)
                .map_or_else(|| first_line(&e.to_string()), ToString::to_string);
            let possible: Vec<String> = arg
                .get_possible_values()
                .iter()
                .map(|v| v.get_name().to_owned())
                .collect();
            if possible.is_empty() {
                said
            } else {
                format!("{said} (expected one of: {})", possible.join(", "))
            }
        })
}

/// When clap refused a value that came from an environment variable (its flag is not on the
/// command line, and the variable is set), the one line that names the variable; `None` for
/// every other mistake, which clap reports itself. The value is not repeated (a database URL
/// holds a password); the flag's parser's reason is.
pub fn from_environment(
    command: &Command,
    args: &[OsString],
    error: &clap::Error,
) -> Option<SettingsError> {
    use clap::error::{ContextKind, ContextValue};
    let Some(ContextValue::String(shown)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = shown.strip_prefix("--")?.split([' ', '=']).next()?;
    let (_, arg) = find(command, long)?;
    let variable = arg.get_env()?;
    std::env::var_os(variable)?;
    let flag = format!("--{long}");
    let given = args
        .iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .filter_map(|a| a.to_str())
        .any(|a| a == flag || a.starts_with(&format!("{flag}=")));
    if given {
        return None;
    }
    let reason = std::error::Error::source(error)
        .map_or_else(|| first_line(&error.to_string()), ToString::to_string);
    Some(SettingsError(format!(
        "environment variable {} (--{long}): {reason}",
        variable.to_string_lossy()
    )))
}

/// The first line of a clap message, without its `error: `.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests stop loudly")]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::CommandFactory;

    #[test]
    fn the_file_reads_strings_numbers_switches_lists_and_comments() {
        let text = "# a comment\n\nlisten = \"127.0.0.1:9\" # trailing\n\
                    db-max-connections = 1_000\nskip-migrations = true\n\
                    trusted-proxy = [\"10.0.0.0/8\", '192.168.0.0/16',]\n\
                    service-token-prefix = 'a\\b'\nadmin-email = \"x\\\"y\"\n";
        let entries = parse(text).unwrap();
        let values: Vec<(&str, &Value, usize)> = entries
            .iter()
            .map(|e| (e.key.as_str(), &e.value, e.line))
            .collect();
        assert_eq!(
            values,
            [
                ("listen", &Value::Text("127.0.0.1:9".into()), 3),
                ("db-max-connections", &Value::Integer("1000".into()), 4),
                ("skip-migrations", &Value::Bool(true), 5),
                (
                    "trusted-proxy",
                    &Value::List(vec!["10.0.0.0/8".into(), "192.168.0.0/16".into()]),
                    6
                ),
                ("service-token-prefix", &Value::Text("a\\b".into()), 7),
                ("admin-email", &Value::Text("x\"y".into()), 8),
            ]
        );
    }

    #[test]
    fn a_malformed_line_is_named() {
        for (text, line) in [
            ("listen 127.0.0.1:9\n", 1),
            ("\n[serve]\n", 2),
            ("listen = 127.0.0.1:9\n", 1),
            ("listen = \"open\n", 1),
            ("listen = \"a\" \"b\"\n", 1),
            ("a = 1\na = 2\n", 2),
            ("Listen = \"x\"\n", 1),
            ("trusted-proxy = [\"a\" \"b\"]\n", 1),
        ] {
            assert_eq!(parse(text).unwrap_err().0, line, "{text:?}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_naming_the_key() {
        let bad = [
            ("lisen = \"127.0.0.1:1\"", "unknown key `lisen`"),
            (
                "db_max_connections = 4",
                "did you mean `db-max-connections`?",
            ),
            ("config = \"/x\"", "unknown key `config`"),
            ("account = \"x\"", "unknown key `account`"),
            (
                "db-max-connections = 0",
                "`db-max-connections`: 0 is not in 1..=1000",
            ),
            ("listen = \"nowhere\"", "`listen`:"),
            (
                "skip-migrations = \"yes\"",
                "`skip-migrations`: expected true or false",
            ),
            ("listen = [\"a\"]", "`listen`: takes one value"),
            ("log-format = \"xml\"", "`log-format`:"),
        ];
        for (text, expected) in bad {
            let entries = parse(text).unwrap();
            let (line, message) = apply(Cli::command(), &entries).unwrap_err();
            assert_eq!(line, 1);
            assert!(message.contains(expected), "{text}: {message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }

    #[test]
    fn every_setting_has_a_flag_and_an_environment_variable() {
        let command = Cli::command();
        let serve = command.find_subcommand(SERVE).unwrap();
        for arg in command.get_arguments().chain(serve.get_arguments()) {
            let long = arg.get_long().unwrap();
            let env = arg.get_env().and_then(|e| e.to_str()).unwrap_or_default();
            assert!(
                env.starts_with("LATCHKEY_"),
                "--{long} has no environment variable"
            );
        }
    }
}
