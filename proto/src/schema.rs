//! The schema model: attributes (plain or nested, tfplugin6 `Schema.Object`), nested blocks and
//! their flags, plus the plan-time behaviours a provider declares per attribute (defaults,
//! replacement, keeping state for unknowns), which the runtime's plan pipeline applies
//! generically.

use crate::pb::tfplugin6 as pb;
use crate::value::{Type, Value};

/// A resource's, data source's or provider's schema.
#[derive(Debug, Clone)]
pub struct Schema {
    /// The state schema version: bump it when stored state needs upgrading.
    pub version: i64,
    pub block: Block,
}

#[derive(Debug, Clone, Default)]
pub struct Block {
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
    pub description: String,
    pub deprecated: bool,
}

#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: String,
    pub ty: Type,
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub deprecated: bool,
    pub write_only: bool,
    /// Planned when the configuration leaves the attribute null (needs `optional` + `computed`).
    pub default: Option<Value>,
    /// A change of this attribute replaces the resource.
    pub requires_replace: bool,
    /// With `requires_replace`: decides, given the prior and the planned value of the attribute,
    /// whether a change really replaces the resource (`None`: every change does). Like the
    /// framework's `stringplanmodifier.RequiresReplaceIf`.
    pub replace_if: Option<ReplaceIf>,
    /// On an update, keep the prior value instead of "known after apply" (for stable computed
    /// values such as ids).
    pub use_state_for_unknown: bool,
    /// For a nested attribute (`disk = { size = 8 }`): its attributes and nesting mode. `ty` is
    /// then the object type they imply (see [`NestedAttributes::value_type`]).
    pub nested: Option<NestedAttributes>,
}

/// The attributes of a nested attribute's object and how the objects nest (tfplugin6
/// `Schema.Object`). Unlike a nested block, a nested attribute can be optional and computed as a
/// whole, and is written with `=` in the configuration.
#[derive(Debug, Clone)]
pub struct NestedAttributes {
    /// Single, List, Set or Map (`Group` is for blocks only and is sent as Single).
    pub nesting: Nesting,
    /// The object's attributes, as a block without nested blocks.
    pub block: Block,
}

impl NestedAttributes {
    pub fn new(nesting: Nesting, attributes: Vec<Attribute>) -> NestedAttributes {
        NestedAttributes {
            nesting,
            block: Block {
                attributes,
                ..Block::default()
            },
        }
    }

    /// The attribute's value type: the object, or a list, set or map of it.
    pub fn value_type(&self) -> Type {
        self.nesting.wrap(self.block.value_type())
    }

    fn to_pb(&self) -> pb::schema::Object {
        use pb::schema::object::NestingMode;
        pb::schema::Object {
            attributes: self.block.attributes.iter().map(Attribute::to_pb).collect(),
            nesting: match self.nesting {
                Nesting::Single | Nesting::Group => NestingMode::Single,
                Nesting::List => NestingMode::List,
                Nesting::Set => NestingMode::Set,
                Nesting::Map => NestingMode::Map,
            } as i32,
            #[allow(deprecated)]
            min_items: 0,
            #[allow(deprecated)]
            max_items: 0,
        }
    }
}

/// `replace_if(prior, planned)`: whether a change from `prior` to `planned` replaces the resource.
pub type ReplaceIf = fn(&Value, &Value) -> bool;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    Single,
    List,
    Set,
    Map,
    Group,
}

impl Nesting {
    /// The type of values nested this way whose objects are `object`.
    pub fn wrap(self, object: Type) -> Type {
        match self {
            Nesting::Single | Nesting::Group => object,
            Nesting::List => Type::list(object),
            Nesting::Set => Type::set(object),
            Nesting::Map => Type::map(object),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NestedBlock {
    pub type_name: String,
    pub block: Block,
    pub nesting: Nesting,
    pub min_items: i64,
    pub max_items: i64,
}

impl Attribute {
    fn new(name: &str, ty: Type) -> Attribute {
        Attribute {
            name: name.to_string(),
            ty,
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            deprecated: false,
            write_only: false,
            default: None,
            requires_replace: false,
            replace_if: None,
            use_state_for_unknown: false,
            nested: None,
        }
    }
    /// An optional nested attribute (`disk = { size = 8 }`, `network = { eth0 = { ... } }`).
    pub fn optional_nested(name: &str, nested: NestedAttributes) -> Attribute {
        Attribute {
            optional: true,
            nested: Some(nested.clone()),
            ..Attribute::new(name, nested.value_type())
        }
    }
    pub fn required(name: &str, ty: Type) -> Attribute {
        Attribute {
            required: true,
            ..Attribute::new(name, ty)
        }
    }
    pub fn optional(name: &str, ty: Type) -> Attribute {
        Attribute {
            optional: true,
            ..Attribute::new(name, ty)
        }
    }
    pub fn computed(name: &str, ty: Type) -> Attribute {
        Attribute {
            computed: true,
            ..Attribute::new(name, ty)
        }
    }
    /// Optional with a default: planned as `default` whenever the configuration leaves it out.
    pub fn with_default(name: &str, ty: Type, default: impl Into<Value>) -> Attribute {
        Attribute {
            optional: true,
            computed: true,
            default: Some(default.into()),
            ..Attribute::new(name, ty)
        }
    }
    pub fn describe(mut self, description: &str) -> Attribute {
        self.description = description.to_string();
        self
    }
    pub fn sensitive(mut self) -> Attribute {
        self.sensitive = true;
        self
    }
    pub fn also_computed(mut self) -> Attribute {
        self.computed = true;
        self
    }
    pub fn replaces(mut self) -> Attribute {
        self.requires_replace = true;
        self
    }
    /// A change replaces the resource only when `replace_if(prior, planned)` says so.
    pub fn replaces_if(mut self, replace_if: ReplaceIf) -> Attribute {
        self.requires_replace = true;
        self.replace_if = Some(replace_if);
        self
    }
    pub fn keep_state(mut self) -> Attribute {
        self.use_state_for_unknown = true;
        self
    }

    fn to_pb(&self) -> pb::schema::Attribute {
        pb::schema::Attribute {
            name: self.name.clone(),
            // A nested attribute sends its structure instead of a type.
            r#type: match &self.nested {
                Some(_) => Vec::new(),
                None => self.ty.to_json().to_string().into_bytes(),
            },
            nested_type: self.nested.as_ref().map(NestedAttributes::to_pb),
            description: self.description.clone(),
            required: self.required,
            optional: self.optional,
            computed: self.computed,
            sensitive: self.sensitive,
            description_kind: pb::StringKind::Markdown as i32,
            deprecated: self.deprecated,
            write_only: self.write_only,
        }
    }
}

impl NestedBlock {
    pub fn new(type_name: &str, nesting: Nesting, block: Block) -> NestedBlock {
        NestedBlock {
            type_name: type_name.to_string(),
            block,
            nesting,
            min_items: 0,
            max_items: 0,
        }
    }
    pub fn items(mut self, min: i64, max: i64) -> NestedBlock {
        self.min_items = min;
        self.max_items = max;
        self
    }

    /// The type of this block's value inside its parent object.
    pub fn value_type(&self) -> Type {
        self.nesting.wrap(self.block.value_type())
    }

    /// The value of this block when the configuration has none of it.
    pub fn empty_value(&self) -> Value {
        match self.nesting {
            Nesting::Single => Value::Null,
            Nesting::Group => self.block.null_object(),
            Nesting::List => Value::List(vec![]),
            Nesting::Set => Value::Set(vec![]),
            Nesting::Map => Value::Map(Default::default()),
        }
    }
}

impl Block {
    pub fn new(description: &str) -> Block {
        Block {
            description: description.to_string(),
            ..Block::default()
        }
    }
    pub fn attr(mut self, attribute: Attribute) -> Block {
        self.attributes.push(attribute);
        self
    }
    pub fn block(mut self, block: NestedBlock) -> Block {
        self.blocks.push(block);
        self
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The object type of this block's values.
    pub fn value_type(&self) -> Type {
        Type::Object(
            self.attributes
                .iter()
                .map(|a| (a.name.clone(), a.ty.clone()))
                .chain(
                    self.blocks
                        .iter()
                        .map(|b| (b.type_name.clone(), b.value_type())),
                )
                .collect(),
        )
    }

    /// An object of this block whose attributes are null and whose nested blocks are empty.
    pub fn null_object(&self) -> Value {
        Value::Object(
            self.attributes
                .iter()
                .map(|a| (a.name.clone(), Value::Null))
                .chain(
                    self.blocks
                        .iter()
                        .map(|b| (b.type_name.clone(), b.empty_value())),
                )
                .collect(),
        )
    }

    fn to_pb(&self) -> pb::schema::Block {
        pb::schema::Block {
            version: 0,
            attributes: self.attributes.iter().map(Attribute::to_pb).collect(),
            block_types: self
                .blocks
                .iter()
                .map(|b| pb::schema::NestedBlock {
                    type_name: b.type_name.clone(),
                    block: Some(b.block.to_pb()),
                    nesting: match b.nesting {
                        Nesting::Single => pb::schema::nested_block::NestingMode::Single,
                        Nesting::List => pb::schema::nested_block::NestingMode::List,
                        Nesting::Set => pb::schema::nested_block::NestingMode::Set,
                        Nesting::Map => pb::schema::nested_block::NestingMode::Map,
                        Nesting::Group => pb::schema::nested_block::NestingMode::Group,
                    } as i32,
                    min_items: b.min_items,
                    max_items: b.max_items,
                })
                .collect(),
            description: self.description.clone(),
            description_kind: pb::StringKind::Markdown as i32,
            deprecated: self.deprecated,
        }
    }
}

impl Schema {
    pub fn new(version: i64, block: Block) -> Schema {
        Schema { version, block }
    }
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }
    pub(crate) fn to_pb(&self) -> pb::Schema {
        pb::Schema {
            version: self.version,
            block: Some(self.block.to_pb()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_types_follow_their_nesting_mode() {
        let inner = Block::new("").attr(Attribute::required("x", Type::String));
        let b = Block::new("")
            .attr(Attribute::optional("a", Type::Number))
            .block(NestedBlock::new("one", Nesting::Single, inner.clone()))
            .block(NestedBlock::new("many", Nesting::List, inner));
        let expected = Type::object([
            ("a", Type::Number),
            ("one", Type::object([("x", Type::String)])),
            ("many", Type::list(Type::object([("x", Type::String)]))),
        ]);
        assert_eq!(b.value_type(), expected);
        assert_eq!(b.null_object().get("many"), &Value::List(vec![]));
        assert_eq!(b.null_object().get("one"), &Value::Null);
    }

    #[test]
    fn a_nested_attribute_sends_its_object_and_implies_its_value_type() {
        let nested = NestedAttributes::new(
            Nesting::Map,
            vec![
                Attribute::required("path", Type::String),
                Attribute::with_default("read_only", Type::Bool, false),
            ],
        );
        let a = Attribute::optional_nested("mounts", nested).also_computed();
        assert_eq!(
            a.ty,
            Type::map(Type::object([
                ("path", Type::String),
                ("read_only", Type::Bool)
            ]))
        );
        let pb = a.to_pb();
        assert!(pb.r#type.is_empty(), "a nested attribute sends no type");
        let object = pb.nested_type.expect("nested_type is sent");
        assert_eq!(object.nesting, pb::schema::object::NestingMode::Map as i32);
        assert_eq!(object.attributes.len(), 2);
        assert!(object.attributes[1].optional && object.attributes[1].computed);
        assert!(pb.optional && pb.computed);
    }

    #[test]
    fn attribute_types_are_sent_as_json_text() {
        let a = Attribute::optional("tags", Type::set(Type::String)).to_pb();
        assert_eq!(a.r#type, br#"["set","string"]"#);
    }
}
