//! The generic plan pipeline, run before a resource's own `modify_plan`. It produces plans that
//! satisfy Terraform's validity rules (reference: Terraform `plans/objchange/plan_valid.go`):
//!
//! 1. start from `proposed_new_state` (config values, prior values for unconfigured computed ones);
//! 2. plan declared defaults where the configuration is null;
//! 3. null write-only attributes;
//! 4. on create, or on an update that changes anything, mark unconfigured computed attributes as
//!    unknown, except those declared `use_state_for_unknown`, which keep a non-null prior value;
//! 5. list the attributes declared `requires_replace` whose planned value differs from the prior
//!    (and, for those declared with `replaces_if`, whose predicate says the change replaces).
//!
//! Nested attributes (`disk = { size = 8 }`) follow the rules of Terraform's
//! `plans/objchange/objchange.go` (`proposedNewNestedType`): one that is computed and left out of
//! the configuration is treated as a whole, like any computed attribute (prior kept with
//! `use_state_for_unknown`, else unknown on a change); one that is written is planned attribute
//! by attribute, its objects matched with the prior ones by key (map), by position (list and
//! single) and not at all (set, whose elements have no identity).
//!
//! A plan with no change returns the proposed state unchanged (no "known after apply" noise).

use crate::diag::{AttributePath, Step};
use crate::schema::{Attribute, Block, Nesting};
use crate::value::Value;

/// The outcome of the generic pipeline.
#[derive(Debug, Clone)]
pub struct GenericPlan {
    pub planned: Value,
    pub requires_replace: Vec<AttributePath>,
}

/// Runs the pipeline for one resource. `prior` is null on create; `proposed` null means destroy.
pub fn plan(block: &Block, prior: &Value, proposed: &Value, config: &Value) -> GenericPlan {
    if proposed.is_null() {
        return GenericPlan {
            planned: Value::Null,
            requires_replace: vec![],
        };
    }
    let mut planned = proposed.clone();
    apply_defaults(block, &mut planned, config);
    null_write_only(block, &mut planned);
    let changing = prior.is_null() || !planned.same_as(prior);
    if changing {
        mark_unknown(block, &mut planned, prior, config);
    }
    let mut requires_replace = Vec::new();
    if !prior.is_null() {
        collect_replacements(
            block,
            &planned,
            prior,
            &mut Vec::new(),
            &mut requires_replace,
        );
    }
    GenericPlan {
        planned,
        requires_replace,
    }
}

/// Calls `f` with each (planned element, config element, prior element) of a nested block, for
/// the nesting modes whose elements correspond by position or key.
fn for_each_element(
    nesting: Nesting,
    planned: &mut Value,
    config: &Value,
    prior: &Value,
    mut f: impl FnMut(&mut Value, &Value, &Value),
) {
    match (nesting, planned) {
        (Nesting::Single | Nesting::Group, p @ Value::Object(_)) => f(p, config, prior),
        (Nesting::List, Value::List(items)) => {
            for (i, item) in items.iter_mut().enumerate() {
                let c = config.elements().get(i).unwrap_or(&Value::Null);
                let pr = prior.elements().get(i).unwrap_or(&Value::Null);
                f(item, c, pr);
            }
        }
        (Nesting::Map, Value::Map(entries)) => {
            for (k, item) in entries.iter_mut() {
                f(item, config.get(k), prior.get(k));
            }
        }
        // Set elements have no identity to match config and prior elements by.
        _ => {}
    }
}

/// A configuration with the declared defaults filled in where it is null (what a data source
/// reads with, since data sources are not planned).
pub fn with_defaults(block: &Block, config: &Value) -> Value {
    let mut value = config.clone();
    apply_defaults(block, &mut value, config);
    value
}

fn apply_defaults(block: &Block, planned: &mut Value, config: &Value) {
    let Value::Object(attrs) = planned else {
        return;
    };
    for a in &block.attributes {
        if let Some(default) = &a.default {
            if config.get(&a.name).is_null() {
                attrs.insert(a.name.clone(), default.clone());
            }
        }
    }
    for (a, nested) in written_nested(block, config) {
        if let Some(child) = attrs.get_mut(&a.name) {
            for_each_element(
                nested.nesting,
                child,
                config.get(&a.name),
                &Value::Null,
                |p, c, _| apply_defaults(&nested.block, p, c),
            );
        }
    }
    for b in &block.blocks {
        if let Some(child) = attrs.get_mut(&b.type_name) {
            for_each_element(
                b.nesting,
                child,
                config.get(&b.type_name),
                &Value::Null,
                |p, c, _| apply_defaults(&b.block, p, c),
            );
        }
    }
}

fn null_write_only(block: &Block, planned: &mut Value) {
    let Value::Object(attrs) = planned else {
        return;
    };
    for a in block.attributes.iter().filter(|a| a.write_only) {
        attrs.insert(a.name.clone(), Value::Null);
    }
}

fn mark_unknown(block: &Block, planned: &mut Value, prior: &Value, config: &Value) {
    let Value::Object(attrs) = planned else {
        return;
    };
    for a in &block.attributes {
        if !a.computed || a.default.is_some() || !config.get(&a.name).is_null() {
            continue;
        }
        let prior_value = prior.get(&a.name);
        let value = if a.use_state_for_unknown && !prior_value.is_null() {
            prior_value.clone()
        } else {
            Value::unknown()
        };
        attrs.insert(a.name.clone(), value);
    }
    for (a, nested) in written_nested(block, config) {
        if let Some(child) = attrs.get_mut(&a.name) {
            for_each_element(
                nested.nesting,
                child,
                config.get(&a.name),
                prior.get(&a.name),
                |p, c, pr| mark_unknown(&nested.block, p, pr, c),
            );
        }
    }
    for b in &block.blocks {
        if let Some(child) = attrs.get_mut(&b.type_name) {
            for_each_element(
                b.nesting,
                child,
                config.get(&b.type_name),
                prior.get(&b.type_name),
                |p, c, pr| mark_unknown(&b.block, p, pr, c),
            );
        }
    }
}

/// The nested attributes of `block` that the configuration writes (those it leaves null are
/// planned as a whole).
fn written_nested<'b>(
    block: &'b Block,
    config: &'b Value,
) -> impl Iterator<Item = (&'b Attribute, &'b crate::schema::NestedAttributes)> + 'b {
    block.attributes.iter().filter_map(move |a| {
        let nested = a.nested.as_ref()?;
        let written = config.get(&a.name);
        (!written.is_null() && !written.is_unknown()).then_some((a, nested))
    })
}

fn collect_replacements(
    block: &Block,
    planned: &Value,
    prior: &Value,
    path: &mut Vec<Step>,
    out: &mut Vec<AttributePath>,
) {
    for a in block.attributes.iter().filter(|a| a.requires_replace) {
        let (p, q) = (planned.get(&a.name), prior.get(&a.name));
        if !p.same_as(q) && a.replace_if.is_none_or(|replaces| replaces(q, p)) {
            let mut steps = path.clone();
            steps.push(Step::Attribute(a.name.clone()));
            out.push(AttributePath(steps));
        }
    }
    for a in &block.attributes {
        let Some(nested) = &a.nested else { continue };
        let (p, q) = (planned.get(&a.name), prior.get(&a.name));
        if q.is_null() {
            continue;
        }
        match (nested.nesting, p) {
            (Nesting::Single | Nesting::Group, _) => {
                path.push(Step::Attribute(a.name.clone()));
                collect_replacements(&nested.block, p, q, path, out);
                path.pop();
            }
            (Nesting::List, _) => {
                for (i, item) in p.elements().iter().enumerate() {
                    path.push(Step::Attribute(a.name.clone()));
                    path.push(Step::Index(i as i64));
                    let before = q.elements().get(i).unwrap_or(&Value::Null);
                    if !before.is_null() {
                        collect_replacements(&nested.block, item, before, path, out);
                    }
                    path.pop();
                    path.pop();
                }
            }
            (Nesting::Map, Value::Map(entries)) => {
                for (key, item) in entries {
                    let before = q.get(key);
                    if before.is_null() {
                        continue;
                    }
                    path.push(Step::Attribute(a.name.clone()));
                    path.push(Step::Key(key.clone()));
                    collect_replacements(&nested.block, item, before, path, out);
                    path.pop();
                    path.pop();
                }
            }
            _ => {}
        }
    }
    for b in &block.blocks {
        let (p, q) = (planned.get(&b.type_name), prior.get(&b.type_name));
        match b.nesting {
            Nesting::Single | Nesting::Group => {
                path.push(Step::Attribute(b.type_name.clone()));
                collect_replacements(&b.block, p, q, path, out);
                path.pop();
            }
            Nesting::List => {
                for (i, item) in p.elements().iter().enumerate() {
                    path.push(Step::Attribute(b.type_name.clone()));
                    path.push(Step::Index(i as i64));
                    collect_replacements(
                        &b.block,
                        item,
                        q.elements().get(i).unwrap_or(&Value::Null),
                        path,
                        out,
                    );
                    path.pop();
                    path.pop();
                }
            }
            Nesting::Set | Nesting::Map => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Attribute, NestedBlock};
    use crate::value::Type;

    fn block() -> Block {
        Block::new("")
            .attr(Attribute::computed("id", Type::String).keep_state())
            .attr(Attribute::computed("status", Type::String))
            .attr(Attribute::required("name", Type::String).replaces())
            .attr(Attribute::with_default("cores", Type::Number, 1i64))
            .attr(Attribute::optional("note", Type::String))
            .block(NestedBlock::new(
                "disk",
                Nesting::List,
                Block::new("").attr(Attribute::with_default("size", Type::Number, 8i64)),
            ))
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        let mut v = block().null_object();
        for (k, x) in pairs {
            v.set_attr(k, x.clone());
        }
        v
    }

    #[test]
    fn create_marks_unconfigured_computed_attributes_unknown_and_plans_defaults() {
        let config = obj(&[
            ("name", "a".into()),
            (
                "disk",
                Value::List(vec![Value::object([("size", Value::Null)])]),
            ),
        ]);
        let p = plan(&block(), &Value::Null, &config, &config);
        assert!(p.planned.get("id").is_unknown());
        assert!(p.planned.get("status").is_unknown());
        assert_eq!(p.planned.get("cores"), &Value::int(1));
        assert_eq!(
            p.planned.get("disk").elements()[0].get("size"),
            &Value::int(8)
        );
        assert!(
            p.requires_replace.is_empty(),
            "requires_replace is meaningless on create"
        );
    }

    #[test]
    fn unchanged_configuration_plans_exactly_the_prior_state() {
        let prior = obj(&[
            ("id", "x".into()),
            ("status", "running".into()),
            ("name", "a".into()),
            ("cores", Value::int(1)),
        ]);
        let config = obj(&[("name", "a".into())]);
        let p = plan(&block(), &prior, &prior, &config);
        assert_eq!(p.planned, prior);
    }

    #[test]
    fn update_keeps_stable_ids_and_unknowns_volatile_computed_values() {
        let prior = obj(&[
            ("id", "x".into()),
            ("status", "running".into()),
            ("name", "a".into()),
            ("cores", Value::int(1)),
        ]);
        let config = obj(&[("name", "a".into()), ("note", "hi".into())]);
        let mut proposed = prior.clone();
        proposed.set_attr("note", "hi".into());
        let p = plan(&block(), &prior, &proposed, &config);
        assert_eq!(p.planned.get("id"), &Value::string("x"));
        assert!(p.planned.get("status").is_unknown());
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn a_changed_replacing_attribute_is_listed_by_path() {
        let prior = obj(&[
            ("id", "x".into()),
            ("name", "a".into()),
            ("cores", Value::int(1)),
        ]);
        let config = obj(&[("name", "b".into())]);
        let mut proposed = prior.clone();
        proposed.set_attr("name", "b".into());
        let p = plan(&block(), &prior, &proposed, &config);
        assert_eq!(p.requires_replace, vec![AttributePath::root("name")]);
    }

    #[test]
    fn a_conditional_replacement_replaces_only_when_its_predicate_says_so() {
        fn unless_prior_null(prior: &Value, _planned: &Value) -> bool {
            !prior.is_null()
        }
        let block = Block::new("")
            .attr(Attribute::computed("id", Type::String).keep_state())
            .attr(Attribute::optional("template", Type::String).replaces_if(unless_prior_null));
        let mut prior = block.null_object();
        prior.set_attr("id", "x".into());
        let mut proposed = prior.clone();
        proposed.set_attr("template", "t".into());
        let config = proposed.clone();
        assert!(plan(&block, &prior, &proposed, &config)
            .requires_replace
            .is_empty());
        prior.set_attr("template", "old".into());
        assert_eq!(
            plan(&block, &prior, &proposed, &config).requires_replace,
            vec![AttributePath::root("template")]
        );
    }

    /// `disk = { storage, size }` (single) and `mounts = { <path> = { size, volume } }` (map), both
    /// optional and computed.
    fn nested_block() -> Block {
        use crate::schema::NestedAttributes;
        fn storage_moves(prior: &Value, planned: &Value) -> bool {
            !prior.is_null() && prior != planned
        }
        Block::new("")
            .attr(Attribute::computed("id", Type::String).keep_state())
            .attr(
                Attribute::optional_nested(
                    "disk",
                    NestedAttributes::new(
                        Nesting::Single,
                        vec![
                            Attribute::with_default("storage", Type::String, "local")
                                .replaces_if(storage_moves),
                            Attribute::optional("size", Type::Number),
                        ],
                    ),
                )
                .also_computed()
                .keep_state(),
            )
            .attr(Attribute::optional_nested(
                "mounts",
                NestedAttributes::new(
                    Nesting::Map,
                    vec![
                        Attribute::optional("size", Type::Number),
                        Attribute::with_default("backup", Type::Bool, false),
                        Attribute::computed("volume", Type::String).keep_state(),
                        Attribute::optional("index", Type::Number)
                            .also_computed()
                            .keep_state(),
                    ],
                ),
            ))
    }

    fn nested_obj(pairs: &[(&str, Value)]) -> Value {
        let mut v = nested_block().null_object();
        for (k, x) in pairs {
            v.set_attr(k, x.clone());
        }
        v
    }

    fn disk(storage: &str, size: i64) -> Value {
        Value::object([("storage", storage.into()), ("size", Value::int(size))])
    }

    fn mount(size: i64, volume: Value, index: Value) -> Value {
        Value::object([
            ("size", Value::int(size)),
            ("backup", Value::Bool(false)),
            ("volume", volume),
            ("index", index),
        ])
    }

    fn mounts(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    #[test]
    fn a_computed_nested_attribute_left_out_of_the_configuration_keeps_its_prior_value() {
        let prior = nested_obj(&[("id", "x".into()), ("disk", disk("local", 16))]);
        let config = nested_obj(&[]);
        // Terraform proposes the prior value for an unconfigured computed attribute.
        let p = plan(&nested_block(), &prior, &prior, &config);
        assert_eq!(p.planned, prior);
        // Even when something else changes, the prior object is kept rather than unknown.
        let mut proposed = prior.clone();
        proposed.set_attr("mounts", mounts(vec![]));
        let mut config = config;
        config.set_attr("mounts", mounts(vec![]));
        let p = plan(&nested_block(), &prior, &proposed, &config);
        assert_eq!(p.planned.get("disk"), &disk("local", 16));
    }

    #[test]
    fn a_computed_nested_attribute_left_out_on_create_is_unknown() {
        let config = nested_obj(&[]);
        let p = plan(&nested_block(), &Value::Null, &config, &config);
        assert!(p.planned.get("disk").is_unknown());
        assert!(
            p.planned.get("mounts").is_null(),
            "not computed: stays null"
        );
    }

    #[test]
    fn a_written_nested_attribute_gets_the_defaults_of_the_attributes_it_leaves_out() {
        let written = Value::object([("storage", Value::Null), ("size", Value::int(8))]);
        let config = nested_obj(&[("disk", written)]);
        let p = plan(&nested_block(), &Value::Null, &config, &config);
        assert_eq!(p.planned.get("disk"), &disk("local", 8));
    }

    #[test]
    fn an_imported_object_plans_no_change_whether_the_configuration_writes_defaults_or_not() {
        let prior = nested_obj(&[("id", "x".into()), ("disk", disk("local", 8))]);
        for written in [
            Value::object([("storage", Value::Null), ("size", Value::int(8))]),
            disk("local", 8),
        ] {
            let config = nested_obj(&[("disk", written.clone())]);
            // Terraform's proposal: the configured values (computed ones from prior where null).
            let mut proposed = prior.clone();
            proposed.set_attr("disk", written);
            let p = plan(&nested_block(), &prior, &proposed, &config);
            assert_eq!(p.planned, prior);
            assert!(p.requires_replace.is_empty());
        }
    }

    #[test]
    fn map_elements_keep_their_computed_values_by_key_and_new_ones_are_unknown() {
        let prior = nested_obj(&[
            ("id", "x".into()),
            (
                "mounts",
                mounts(vec![(
                    "/data",
                    mount(4, "local:vm-1-disk-1".into(), Value::int(0)),
                )]),
            ),
        ]);
        let config_mount = |size| {
            Value::object([
                ("size", Value::int(size)),
                ("backup", Value::Null),
                ("volume", Value::Null),
                ("index", Value::Null),
            ])
        };
        let config = nested_obj(&[(
            "mounts",
            mounts(vec![("/data", config_mount(8)), ("/logs", config_mount(2))]),
        )]);
        // Terraform proposes computed values from the prior element of the same key.
        let proposed = nested_obj(&[
            ("id", "x".into()),
            (
                "mounts",
                mounts(vec![
                    ("/data", mount(8, "local:vm-1-disk-1".into(), Value::int(0))),
                    ("/logs", mount(2, Value::Null, Value::Null)),
                ]),
            ),
        ]);
        let p = plan(&nested_block(), &prior, &proposed, &config);
        let planned = p.planned.get("mounts");
        assert_eq!(
            planned.get("/data"),
            &mount(8, "local:vm-1-disk-1".into(), Value::int(0))
        );
        assert!(planned.get("/logs").get("volume").is_unknown());
        assert!(planned.get("/logs").get("index").is_unknown());
        assert_eq!(planned.get("/logs").get("backup"), &Value::Bool(false));
    }

    #[test]
    fn a_replacing_attribute_inside_a_nested_attribute_is_listed_at_its_path() {
        let prior = nested_obj(&[("id", "x".into()), ("disk", disk("local", 8))]);
        let config = nested_obj(&[("disk", disk("fast", 8))]);
        let mut proposed = prior.clone();
        proposed.set_attr("disk", disk("fast", 8));
        let p = plan(&nested_block(), &prior, &proposed, &config);
        assert_eq!(
            p.requires_replace,
            vec![AttributePath::root("disk").attr("storage")]
        );
    }

    #[test]
    fn destroy_plans_null() {
        let prior = obj(&[("id", "x".into())]);
        assert_eq!(
            plan(&block(), &prior, &Value::Null, &Value::Null).planned,
            Value::Null
        );
    }
}
