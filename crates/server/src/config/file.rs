//! The TOML configuration file (`--config FILE`): every server flag by its
//! long name (`http = "0.0.0.0:8080"`, `trusted-proxy = ["10.0.0.0/8"]`).
//!
//! clap stays the source of truth: each key must be a long flag of the
//! command, its value is checked by that flag's own parser, and the file's
//! values become the flags' defaults. So the order is the one clap already
//! applies — command line, then environment, then file, then built-in default.

use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, Command};

/// Where the server looks for a configuration file when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/aethex/server.toml";

/// Why a configuration file was refused. Each message names the file, the
/// line and key when there is one, and the reason, on one line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// The file could not be read.
    #[error("{}: cannot read the configuration file: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{}:{line}: not valid TOML: {reason}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// What the TOML parser said.
        reason: String,
    },
    /// A key that is not one of the server's long flag names.
    #[error(
        "{}:{line}: unknown key `{key}` (keys are the long flag names of `aethex-server --help`, e.g. `data-dir`)",
        path.display()
    )]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// 1-based line of the key (0 when not found).
        line: usize,
        /// The key as written.
        key: String,
    },
    /// A known key with a value its flag refuses.
    #[error("{}:{line}: `{key}`: {reason}", path.display())]
    BadValue {
        /// The file.
        path: PathBuf,
        /// 1-based line of the key (0 when not found).
        line: usize,
        /// The key as written.
        key: String,
        /// Why the value was refused.
        reason: String,
    },
}

/// Flags that make no sense inside the file.
const NOT_IN_FILE: &[&str] = &["config", "help", "version"];

/// Reads `path` and returns `cmd` with the file's values as the defaults of
/// the matching flags. Nothing is applied unless the whole file is valid.
pub fn apply(cmd: Command, path: &Path) -> Result<Command, ConfigFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    apply_str(cmd, path, &text)
}

/// [`apply`] over the file's text (`path` only names it in errors).
pub fn apply_str(mut cmd: Command, path: &Path, text: &str) -> Result<Command, ConfigFileError> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e.span().map_or(0, |s| {
            text[..s.start.min(text.len())].lines().count().max(1)
        });
        ConfigFileError::Syntax {
            path: path.to_path_buf(),
            line,
            reason: e.message().trim().to_string(),
        }
    })?;
    let mut defaults: Vec<(String, Vec<String>)> = Vec::new();
    for (key, value) in &table {
        let line = line_of(text, key);
        let long = key.replace('_', "-");
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()))
            .filter(|a| !NOT_IN_FILE.contains(&a.get_id().as_str()))
            .ok_or_else(|| ConfigFileError::UnknownKey {
                path: path.to_path_buf(),
                line,
                key: key.clone(),
            })?;
        let bad = |reason: String| ConfigFileError::BadValue {
            path: path.to_path_buf(),
            line,
            key: key.clone(),
            reason,
        };
        let values = values_for(arg, value).map_err(bad)?;
        check_values(arg, &values).map_err(bad)?;
        defaults.push((arg.get_id().to_string(), values));
    }
    for (id, values) in defaults {
        cmd = cmd.mut_arg(&id, |a| {
            // A secret's value must not show up in `--help` either.
            let secret = a.is_hide_env_values_set();
            a.default_values(values).hide_default_value(secret)
        });
    }
    Ok(cmd)
}

/// The 1-based line where `key` is set (0 when it cannot be found, e.g. a quoted key).
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(0, |i| i + 1)
}

fn is_switch(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse)
}

fn is_list(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Append)
}

/// The TOML value as the strings the flag would be given on a command line.
fn values_for(arg: &Arg, value: &toml::Value) -> Result<Vec<String>, String> {
    if is_switch(arg) {
        return match value {
            toml::Value::Boolean(b) => Ok(vec![b.to_string()]),
            other => Err(format!("expected true or false, found {}", kind(other))),
        };
    }
    match value {
        toml::Value::Array(items) if is_list(arg) => items.iter().map(scalar).collect(),
        toml::Value::Array(_) => Err("takes one value, not a list".into()),
        other => Ok(vec![scalar(other)?]),
    }
}

fn scalar(value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        other => Err(format!(
            "expected a string or a number, found {}",
            kind(other)
        )),
    }
}

fn kind(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "a list",
        toml::Value::Table(_) => "a table",
    }
}

/// Runs the flag's own parser over `values` (without its environment
/// variable, so only the file's value is judged).
fn check_values(arg: &Arg, values: &[String]) -> Result<(), String> {
    if is_switch(arg) {
        return Ok(());
    }
    let long = arg.get_long().unwrap_or_default();
    let probe = Command::new("aethex-server")
        .no_binary_name(true)
        .arg(arg.clone().env(None).required(false).global(false));
    let argv = values.iter().map(|v| format!("--{long}={v}"));
    probe
        .try_get_matches_from(argv)
        .map(|_| ())
        .map_err(|e| match std::error::Error::source(&e) {
            Some(why) => format!("invalid value {:?}: {why}", values.join(",")),
            None => clap_reason(&e),
        })
}

/// clap's message without its `error:` prefix and usage footer.
fn clap_reason(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}
