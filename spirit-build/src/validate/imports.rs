//! The one import check ([`check_imports`]): each import of a module against
//! the host ABI (module, name, kind, exact signature) and against the
//! capabilities granted. Validation runs it with the spirit's declared
//! capabilities, the sandbox with a run's policy.

use std::fmt;

use spirit_sdk::abi::{self, Capability, HostFunction};

use super::problem::{Import, Problem};

/// The import module wasm-bindgen's placeholder imports come from.
const WASM_BINDGEN_MODULE: &str = "__wbindgen_placeholder__";

/// An import of a module, as the import check sees it; validation reads it
/// with wasmparser, the sandbox from the module it compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleImport {
    /// The import module.
    pub module: String,
    /// The import name.
    pub name: String,
    /// What is imported.
    pub kind: ImportKind,
}

/// What an import is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportKind {
    /// A function of this type.
    Function(FunctionType),
    /// Anything else, by its kind's name: `table`, `memory`, `global`, `tag`.
    Other(&'static str),
}

/// A function type, each value type by its name in the text format (`i32`,
/// `f64`, `v128`, `funcref`…); it displays as every signature in a message
/// does (through [`spirit_sdk::abi::Signature`]).
///
/// ```
/// use spirit_build::validate::FunctionType;
/// let ty = FunctionType { params: vec!["i32".into()], results: vec!["i64".into(), "i32".into()] };
/// assert_eq!(ty.to_string(), "(i32) -> (i64, i32)");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FunctionType {
    /// Parameter types.
    pub params: Vec<String>,
    /// Result types.
    pub results: Vec<String>,
}

impl fmt::Display for FunctionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        abi::Signature {
            params: &self.params,
            results: &self.results,
        }
        .fmt(f)
    }
}

impl FunctionType {
    /// Whether this is the host function's exact type.
    fn is(&self, f: &HostFunction) -> bool {
        let same = |ours: &[abi::ValType], theirs: &[String]| {
            ours.len() == theirs.len() && ours.iter().zip(theirs).all(|(a, b)| a.as_str() == b)
        };
        same(f.params, &self.params) && same(f.results, &self.results)
    }
}

/// Where the capabilities an import check is given come from, which decides
/// how a missing one is explained and how to fix it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    /// The spirit's declaration in `[package.metadata.spirit]` (`build`,
    /// `check`): a missing capability is one to declare.
    Declared,
    /// A run's policy (declared, plus `--allow`, minus `--deny`): a missing
    /// capability is one to declare or grant.
    Run,
}

/// What [`check_imports`] found.
#[derive(Clone, Debug, Default)]
pub struct ImportCheck {
    /// Imports the host cannot link: unknown modules or functions, other
    /// kinds than functions, other signatures, wasm-bindgen's.
    pub link: Vec<Problem>,
    /// Imports of host functions whose capability is not granted.
    pub refused: Vec<Problem>,
    /// Capabilities declared but used by no import ([`Grant::Declared`] only).
    pub warnings: Vec<Problem>,
    /// Each import, with the host function it names when it links.
    pub imports: Vec<Import>,
    /// The capabilities the imports need, sorted.
    pub used_capabilities: Vec<Capability>,
    /// Each import whose capability is not granted (`module.name`), with
    /// that capability; each also has its problem in `refused`.
    pub undeclared: Vec<(String, Capability)>,
}

/// The one import check: each import against the host ABI (module, name,
/// kind, exact signature) and against the `granted` capabilities. A host
/// function is found in [`abi::MODULE`] and in the other modules its entry
/// names (`loa` for the @vudo/runtime functions). The build,
/// `check` and the sandbox all call it; `grant` says where the capabilities
/// come from, for the wording of a missing one.
///
/// ```
/// use spirit_build::validate::{check_imports, FunctionType, Grant, ImportKind, ModuleImport};
/// use spirit_sdk::abi::Capability;
///
/// let now = ModuleImport {
///     module: "vudo".into(),
///     name: "host_time_now".into(),
///     kind: ImportKind::Function(FunctionType { params: vec![], results: vec!["i64".into()] }),
/// };
/// let check = check_imports(std::slice::from_ref(&now), &[], Grant::Run);
/// assert!(check.link.is_empty());
/// assert_eq!(check.refused[0].to_string(),
///     "imports `vudo.host_time_now`, which needs the capability `sensor_time`, but it is not granted\n\
///      help: declare it in the spirit's [package.metadata.spirit] capabilities, or grant it with `--allow sensor_time`");
/// assert!(check_imports(&[now], &[Capability::SensorTime], Grant::Run).refused.is_empty());
/// ```
pub fn check_imports(
    imports: &[ModuleImport],
    granted: &[Capability],
    grant: Grant,
) -> ImportCheck {
    let mut check = ImportCheck::default();
    let mut bindgen = false;
    for ModuleImport { module, name, kind } in imports {
        let mut import = Import {
            module: module.clone(),
            name: name.clone(),
            host_function: None,
        };
        let qualified = format!("{module}.{name}");
        if module == WASM_BINDGEN_MODULE {
            bindgen = true;
        } else if let ImportKind::Other(kind) = kind {
            check.link.push(
                Problem::new(format!(
                    "imports {kind} `{qualified}`: spirits may import only host functions"
                ))
                .help("a spirit defines and exports its own memory; tables and globals stay inside the module"),
            );
        } else if !abi::is_import_module(module) {
            check.link.push(
                Problem::new(format!(
                    "imports `{qualified}`, which is not a host function: spirits may import only from the `{}` module",
                    abi::MODULE
                ))
                .help(unknown_import_help(module)),
            );
        } else if let (Some(f), ImportKind::Function(actual)) =
            (abi::host_import(module, name), kind)
        {
            if !actual.is(f) {
                check.link.push(
                    Problem::new(format!(
                        "imports `{qualified}` with the signature {actual}, but the host defines {}",
                        f.signature()
                    ))
                    .help("call the host through spirit-sdk, whose declarations come from the host's own definition"),
                );
            } else {
                import.host_function = Some(f);
                if let Some(cap) = f.capability {
                    if !check.used_capabilities.contains(&cap) {
                        check.used_capabilities.push(cap);
                    }
                    if !granted.contains(&cap) {
                        check.undeclared.push((qualified, cap));
                    }
                }
            }
        } else if let Some(f) = abi::host_function(name) {
            let modules: Vec<String> = f.modules.iter().map(|m| format!("`{m}`")).collect();
            check.link.push(
                Problem::new(format!(
                    "imports `{qualified}`, but the host defines `{name}` only in the {} module{}",
                    modules.join(" and "),
                    if modules.len() == 1 { "" } else { "s" }
                ))
                .help(format!("import it as `{}.{name}`", abi::MODULE)),
            );
        } else {
            let names: Vec<&str> = abi::HOST_FUNCTIONS
                .iter()
                .filter(|f| f.importable_from(module))
                .map(|f| f.name)
                .collect();
            check.link.push(
                Problem::new(format!(
                    "imports `{qualified}`, which the host does not define"
                ))
                .help(crate::suggest::did_you_mean(name, &names)),
            );
        }
        check.imports.push(import);
    }
    if bindgen {
        check.link.push(
            Problem::new(format!(
                "the module was built with wasm-bindgen (it imports from `{WASM_BINDGEN_MODULE}`)"
            ))
            .help(
                "wasm-bindgen targets JavaScript hosts; a spirit runs in cargo-spirit's sandbox and calls \
                 its host through spirit-sdk: remove the wasm-bindgen dependency (and crates that enable it, \
                 such as getrandom's `js` feature) and use `spirit_sdk` instead",
            ),
        );
    }
    check.used_capabilities.sort();
    let mut all: Vec<Capability> = granted.to_vec();
    all.extend(check.undeclared.iter().map(|(_, c)| *c));
    all.sort();
    all.dedup();
    let line = format!(
        "capabilities = [{}]",
        all.iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (qualified, cap) in &check.undeclared {
        let problem = Problem::new(missing_capability(qualified, *cap, grant));
        check.refused.push(match grant {
            Grant::Declared => problem.help(format!(
                "declare it in Cargo.toml, under [package.metadata.spirit]:\n    {line}"
            )),
            Grant::Run => problem.help(format!(
                "declare it in the spirit's [package.metadata.spirit] capabilities, or grant it with `--allow {cap}`"
            )),
        });
    }
    if grant == Grant::Declared {
        for cap in granted {
            if !check.used_capabilities.contains(cap) && has_host_function(*cap) {
                check.warnings.push(
                    Problem::new(format!("capability `{cap}` is declared but no import uses it"))
                        .help("remove it from [package.metadata.spirit] capabilities: a spirit should ask only for what it uses"),
                );
            }
        }
    }
    check
}

pub(super) fn missing_capability(qualified: &str, cap: Capability, grant: Grant) -> String {
    let why = match grant {
        Grant::Declared => "the spirit does not declare it",
        Grant::Run => "it is not granted",
    };
    format!("imports `{qualified}`, which needs the capability `{cap}`, but {why}")
}

fn has_host_function(cap: Capability) -> bool {
    abi::HOST_FUNCTIONS
        .iter()
        .any(|f| f.capability == Some(cap))
}

fn unknown_import_help(module: &str) -> String {
    match module {
        "env" => "an `env` import is usually a function declared in an `extern` block that nothing defines, \
                  or a C dependency; spirits cannot link against the host's libraries"
            .to_owned(),
        m if m.starts_with("wasi") => "the module targets WASI; build spirits for wasm32-unknown-unknown \
                                       (`cargo spirit build` does) and call the host through spirit-sdk"
            .to_owned(),
        _ => "see docs/HOST_ABI.md for the functions the host provides".to_owned(),
    }
}
