//! The simulator's own parameter table for the Proxmox VE API paths it knows, and the validator
//! that checks request parameters against it the way Proxmox's JSON schema code does (same
//! order of checks, same messages).
//!
//! The table is written by hand from the schema facts (names, types, formats, ranges, enums);
//! it is not generated from, and does not read, Proxmox's schema dump. It must not know about
//! the cluster state: it only says whether parameters are well-formed.

mod formats;
mod table;

use std::collections::BTreeMap;
use std::sync::OnceLock;

pub use formats::check_named_format;
pub use table::indexed_range;

/// The JSON-schema type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Boolean,
    Integer,
    Number,
    String,
}

impl ParamType {
    /// The name Proxmox's schema uses for this type.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::Boolean => "boolean",
            ParamType::Integer => "integer",
            ParamType::Number => "number",
            ParamType::String => "string",
        }
    }
}

/// The `format` of a parameter: a named format (possibly with a `-list` suffix) or an inline
/// property-string schema.
#[derive(Debug, Clone)]
pub enum Format {
    Named(&'static str),
    PropertyString(Vec<ParamSpec>),
}

/// One parameter (or one key of a property string).
#[derive(Debug, Clone)]
pub struct ParamSpec {
    /// The name; indexed families are written like Proxmox does, e.g. `net[n]`.
    pub name: &'static str,
    pub ty: ParamType,
    pub optional: bool,
    pub format: Option<Format>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub enumeration: Option<Vec<&'static str>>,
    /// A Rust regex equivalent of the schema pattern; anchored when checked.
    pub pattern: Option<&'static str>,
    pub requires: Option<&'static str>,
    /// Inside a property string: the key a bare value belongs to.
    pub default_key: bool,
}

impl ParamSpec {
    /// A required parameter of the given type with no further constraints.
    pub fn new(name: &'static str, ty: ParamType) -> ParamSpec {
        ParamSpec {
            name,
            ty,
            optional: false,
            format: None,
            minimum: None,
            maximum: None,
            min_length: None,
            max_length: None,
            enumeration: None,
            pattern: None,
            requires: None,
            default_key: false,
        }
    }
    pub fn opt(mut self) -> Self {
        self.optional = true;
        self
    }
    pub fn fmt(mut self, name: &'static str) -> Self {
        self.format = Some(Format::Named(name));
        self
    }
    pub fn props(mut self, keys: Vec<ParamSpec>) -> Self {
        self.format = Some(Format::PropertyString(keys));
        self
    }
    pub fn min(mut self, v: f64) -> Self {
        self.minimum = Some(v);
        self
    }
    pub fn max(mut self, v: f64) -> Self {
        self.maximum = Some(v);
        self
    }
    pub fn min_len(mut self, v: usize) -> Self {
        self.min_length = Some(v);
        self
    }
    pub fn max_len(mut self, v: usize) -> Self {
        self.max_length = Some(v);
        self
    }
    pub fn one_of(mut self, values: &[&'static str]) -> Self {
        self.enumeration = Some(values.to_vec());
        self
    }
    pub fn pattern(mut self, re: &'static str) -> Self {
        self.pattern = Some(re);
        self
    }
    pub fn requires(mut self, other: &'static str) -> Self {
        self.requires = Some(other);
        self
    }
    pub fn default_key(mut self) -> Self {
        self.default_key = true;
        self
    }

    /// Whether the format is a named `-list` format (`pve-configid-list`, `pve-tag-list`, ...),
    /// whose repeated form values Proxmox joins with `,`.
    pub fn is_list_format(&self) -> bool {
        matches!(&self.format, Some(Format::Named(name)) if name.ends_with("-list"))
    }

    /// Whether a concrete parameter name (e.g. `net0`) belongs to this spec (e.g. `net[n]`).
    pub fn matches_name(&self, name: &str) -> bool {
        match self.name.strip_suffix("[n]") {
            None => self.name == name,
            Some(prefix) => match name.strip_prefix(prefix) {
                Some(index) if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) => {
                    let Ok(n) = index.parse::<u32>() else {
                        return false;
                    };
                    // "net01" is not "net1".
                    index == n.to_string() && n <= indexed_range(prefix)
                }
                _ => false,
            },
        }
    }
}

/// The parameters of one method of one API path.
#[derive(Debug, Clone)]
pub struct MethodSchema {
    pub method: &'static str,
    /// The path pattern as Proxmox writes it, e.g. `/nodes/{node}/lxc/{vmid}/config`.
    pub path: &'static str,
    /// Whether API tokens may call it (`allowtoken`).
    pub allow_token: bool,
    pub params: Vec<ParamSpec>,
}

impl MethodSchema {
    /// The spec a concrete parameter name belongs to.
    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|p| p.matches_name(name))
    }
}

/// The whole table, built once.
pub fn api_schema() -> &'static [MethodSchema] {
    static TABLE: OnceLock<Vec<MethodSchema>> = OnceLock::new();
    TABLE.get_or_init(table::build)
}

/// The schema of one method and path pattern.
pub fn method_schema(method: &str, path: &str) -> Option<&'static MethodSchema> {
    api_schema()
        .iter()
        .find(|m| m.method == method && m.path == path)
}

/// Parameter errors keyed by parameter name, as in Proxmox's 400 `errors` map.
pub type ParamErrors = BTreeMap<String, String>;

/// Validates request parameters (path parameters included) against a method's schema.
pub fn validate(
    schema: &MethodSchema,
    params: &BTreeMap<String, String>,
) -> Result<(), ParamErrors> {
    let mut errors = ParamErrors::new();
    for spec in &schema.params {
        if spec.name.ends_with("[n]") {
            for (name, value) in params.iter().filter(|(n, _)| spec.matches_name(n)) {
                check_value(spec, name, value, &mut errors);
            }
        } else {
            match params.get(spec.name) {
                Some(value) => check_value(spec, spec.name, value, &mut errors),
                None if !spec.optional => add_error(
                    &mut errors,
                    spec.name,
                    "property is missing and it is not optional",
                ),
                None => {}
            }
        }
    }
    for name in params.keys() {
        match schema.param(name) {
            None => add_error(
                &mut errors,
                name,
                "property is not defined in schema and the schema does not allow additional properties",
            ),
            Some(spec) => {
                if let Some(required) = spec.requires {
                    if !params.contains_key(required) {
                        add_error(
                            &mut errors,
                            required,
                            &format!("missing property required by '{name}'"),
                        );
                    }
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn add_error(errors: &mut ParamErrors, path: &str, msg: &str) {
    let path = if path.is_empty() { "_root" } else { path };
    errors
        .entry(path.to_string())
        .and_modify(|e| {
            e.push_str("\\n");
            e.push_str(msg);
        })
        .or_insert_with(|| msg.to_string());
}

fn is_integer(value: &str) -> bool {
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn is_number(value: &str) -> bool {
    let v = value.strip_prefix(['+', '-']).unwrap_or(value);
    let (mantissa, exponent) = match v.find(['e', 'E']) {
        Some(i) => (&v[..i], Some(&v[i + 1..])),
        None => (v, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (!a.is_empty() || !b.is_empty())
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|c| c.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(is_integer);
    mantissa_ok && exponent_ok
}

fn regex_matches(pattern: &str, value: &str) -> bool {
    static CACHE: OnceLock<std::sync::Mutex<BTreeMap<String, regex::Regex>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = match cache.lock() {
        Ok(c) => c,
        Err(poisoned) => poisoned.into_inner(),
    };
    if !cache.contains_key(pattern) {
        match regex::Regex::new(&format!("^(?:{pattern})$")) {
            Ok(re) => {
                cache.insert(pattern.to_string(), re);
            }
            // A broken pattern in our own table: refuse rather than accept silently.
            Err(_) => return false,
        }
    }
    cache.get(pattern).is_some_and(|re| re.is_match(value))
}

/// Checks one value against its spec, in Proxmox's order: type, format, pattern, length,
/// range, enumeration. Adds at most one error.
pub fn check_value(spec: &ParamSpec, path: &str, value: &str, errors: &mut ParamErrors) {
    let type_ok = match spec.ty {
        ParamType::String => true,
        ParamType::Boolean => value == "0" || value == "1",
        ParamType::Integer => is_integer(value),
        ParamType::Number => is_number(value),
    };
    if !type_ok {
        add_error(
            errors,
            path,
            &format!("type check ('{}') failed - got '{value}'", spec.ty.as_str()),
        );
        return;
    }
    match &spec.format {
        Some(Format::Named(name)) => {
            if let Err(msg) = check_named_format(name, value) {
                add_error(errors, path, &format!("invalid format - {msg}\n"));
                return;
            }
        }
        Some(Format::PropertyString(keys)) => {
            if let Err(msg) = check_property_string(keys, path, value) {
                add_error(errors, path, &format!("invalid format - {msg}"));
                return;
            }
        }
        None => {}
    }
    if let Some(pattern) = spec.pattern {
        if !regex_matches(pattern, value) {
            add_error(errors, path, "value does not match the regex pattern");
            return;
        }
    }
    let chars = value.chars().count();
    if let Some(max) = spec.max_length {
        if chars > max {
            add_error(
                errors,
                path,
                &format!("value may only be {max} characters long"),
            );
            return;
        }
    }
    if let Some(min) = spec.min_length {
        if chars < min {
            add_error(
                errors,
                path,
                &format!("value must be at least {min} characters long"),
            );
            return;
        }
    }
    if is_number(value) {
        if let Ok(number) = value.parse::<f64>() {
            if let Some(max) = spec.maximum {
                if number > max {
                    add_error(
                        errors,
                        path,
                        &format!("value must have a maximum value of {max}"),
                    );
                    return;
                }
            }
            if let Some(min) = spec.minimum {
                if number < min {
                    add_error(
                        errors,
                        path,
                        &format!("value must have a minimum value of {min}"),
                    );
                    return;
                }
            }
        }
    }
    if let Some(values) = &spec.enumeration {
        if !values.contains(&value) {
            add_error(
                errors,
                path,
                &format!(
                    "value '{value}' does not have a value in the enumeration '{}'",
                    values.join(", ")
                ),
            );
        }
    }
}

/// Parses a property string (`key=value,key=value`, with an optional default key) into its
/// keys, checking duplicate and unknown keys. Booleans are normalised to `0`/`1`.
pub fn parse_property_string(
    keys: &[ParamSpec],
    value: &str,
) -> Result<BTreeMap<String, String>, String> {
    let mut parsed = BTreeMap::new();
    let mut default_key_used = false;
    for part in value.split(',') {
        if part.trim().is_empty() {
            continue;
        }
        if let Some((k, v)) = part.split_once('=') {
            if k.is_empty() || v.is_empty() {
                return Err("missing key in comma-separated list property".to_string());
            }
            if parsed.contains_key(k) {
                return Err(format!(
                    "duplicate key in comma-separated list property: {k}"
                ));
            }
            let Some(spec) = keys.iter().find(|s| s.name == k) else {
                return Err(format!("invalid key in comma-separated list property: {k}"));
            };
            let v = if spec.ty == ParamType::Boolean {
                parse_boolean(v)
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            } else {
                v.to_string()
            };
            parsed.insert(k.to_string(), v);
        } else {
            let Some(spec) = keys.iter().find(|s| s.default_key) else {
                return Err(
                    "value without key, but schema does not define a default key".to_string(),
                );
            };
            if default_key_used || parsed.contains_key(spec.name) {
                return Err(format!(
                    "duplicate key in comma-separated list property: {}",
                    spec.name
                ));
            }
            default_key_used = true;
            parsed.insert(spec.name.to_string(), part.to_string());
        }
    }
    Ok(parsed)
}

/// Proxmox's `parse_boolean` for values inside property strings.
pub fn parse_boolean(v: &str) -> Option<&'static str> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "on" | "yes" | "true" => Some("1"),
        "0" | "off" | "no" | "false" => Some("0"),
        _ => None,
    }
}

/// Validates a property string against its key specs; the error text is what follows
/// `invalid format - ` in Proxmox's message.
pub fn check_property_string(keys: &[ParamSpec], path: &str, value: &str) -> Result<(), String> {
    let parsed = parse_property_string(keys, value).map_err(|e| format!("{e}\n"))?;
    let mut errors = ParamErrors::new();
    for spec in keys {
        let sub_path = format!("{path}.{}", spec.name);
        match parsed.get(spec.name) {
            Some(v) => check_value(spec, &sub_path, v, &mut errors),
            None if !spec.optional => add_error(
                &mut errors,
                &sub_path,
                "property is missing and it is not optional",
            ),
            None => {}
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    let mut msg = String::from("format error\n");
    for (k, v) in errors {
        // PVE::Exception's stringify appends "\n" to each sub-error, which may end in one
        // already (a named format's `die "...\n"`): then the line ends in "\n\n".
        msg.push_str(&format!("{k}: {v}\n"));
    }
    Err(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn unknown_parameter_is_refused_with_proxmox_text() {
        let schema = method_schema("POST", "/nodes/{node}/lxc/{vmid}/snapshot").expect("schema");
        let errors = validate(
            schema,
            &params(&[
                ("node", "pve"),
                ("vmid", "100"),
                ("snapname", "a1"),
                ("vmstate", "1"),
            ]),
        )
        .expect_err("vmstate is unknown");
        assert_eq!(
            errors["vmstate"],
            "property is not defined in schema and the schema does not allow additional properties"
        );
    }

    #[test]
    fn out_of_range_and_type_errors_use_proxmox_text() {
        let schema = method_schema("POST", "/nodes/{node}/lxc").expect("schema");
        let errors = validate(
            schema,
            &params(&[
                ("node", "pve"),
                ("vmid", "99"),
                ("ostemplate", "local:vztmpl/x.tar.zst"),
                ("cores", "0"),
                ("memory", "abc"),
                ("onboot", "true"),
                ("arch", "sparc"),
            ]),
        )
        .expect_err("invalid");
        assert_eq!(
            errors["vmid"],
            "invalid format - value does not look like a valid VM ID\n"
        );
        assert_eq!(errors["cores"], "value must have a minimum value of 1");
        assert_eq!(
            errors["memory"],
            "type check ('integer') failed - got 'abc'"
        );
        assert_eq!(
            errors["onboot"],
            "type check ('boolean') failed - got 'true'"
        );
        assert_eq!(
            errors["arch"],
            "value 'sparc' does not have a value in the enumeration 'amd64, i386, arm64, armhf, riscv32, riscv64'"
        );
    }

    #[test]
    fn property_string_sub_errors_name_the_key() {
        let schema = method_schema("POST", "/nodes/{node}/lxc").expect("schema");
        let errors = validate(
            schema,
            &params(&[
                ("node", "pve"),
                ("vmid", "100"),
                ("ostemplate", "local:vztmpl/x.tar.zst"),
                ("net0", "name=eth0,ip=10.0.0.5"),
                ("net1", "bridge=vmbr0,colour=red"),
            ]),
        )
        .expect_err("invalid");
        assert_eq!(
            errors["net0"],
            "invalid format - format error\nnet0.ip: invalid format - value does not look like a valid ipv4 network configuration\n\n"
        );
        assert_eq!(
            errors["net1"],
            "invalid format - invalid key in comma-separated list property: colour\n"
        );
    }

    #[test]
    fn a_missing_required_companion_is_named_with_proxmox_text() {
        let schema = method_schema("POST", "/nodes/{node}/lxc").expect("schema");
        let errors = validate(
            schema,
            &params(&[
                ("node", "pve"),
                ("vmid", "100"),
                ("ostemplate", "local:vztmpl/x.tar.zst"),
                ("unique", "1"),
            ]),
        )
        .expect_err("unique needs restore");
        assert_eq!(errors["restore"], "missing property required by 'unique'");
    }

    #[test]
    fn indexed_names_match_only_their_family() {
        let spec = ParamSpec::new("net[n]", ParamType::String);
        assert!(spec.matches_name("net0"));
        assert!(spec.matches_name("net31"));
        assert!(!spec.matches_name("net32"));
        assert!(!spec.matches_name("net01"));
        assert!(!spec.matches_name("netx"));
    }
}
