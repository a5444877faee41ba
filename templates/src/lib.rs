//! The spirit crate templates that `cargo spirit new` and `cargo spirit init`
//! write, embedded with `include_str!` so an installed `cargo-spirit` needs
//! no source tree.
//!
//! This crate only holds the files; `spirit_build::template` renders and
//! writes them. Each template is a directory beside `src/` (`hello/`,
//! `counter/`, …). A file whose path ends in `.in` has `{{name}}` and
//! `{{sdk}}` (or `{{sdk+allocator}}`, the SDK with its `allocator` feature) placeholders, `gitignore` is written as `.gitignore` (cargo
//! would not package a dotfile template), and the manifest is
//! `Cargo.toml.in`, so cargo neither takes a template for a package nor
//! leaves it out of this one.
//!
//! ```
//! let hello = spirit_templates::find("hello").unwrap();
//! let manifest = hello.file("Cargo.toml.in").unwrap();
//! assert!(manifest.contents.contains("name = \"{{name}}\""));
//! ```

#![deny(missing_docs)]

/// A template for a new spirit crate.
///
/// ```
/// use spirit_templates::TEMPLATES;
///
/// for template in TEMPLATES {
///     assert!(template.file("src/lib.rs").is_some(), "{} has a lib.rs", template.name);
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Template {
    /// Its name, as given to `cargo spirit new --template`.
    pub name: &'static str,
    /// One line on what it shows, with the capabilities it declares.
    pub description: &'static str,
    /// Its files, as stored in its directory.
    pub files: &'static [File],
}

impl Template {
    /// The file at `path` (relative to the template's directory, with `/`
    /// separators and any `.in` suffix), if the template has one.
    ///
    /// ```
    /// let echo = spirit_templates::find("echo").unwrap();
    /// assert!(echo.file("gitignore").is_some());
    /// assert!(echo.file("Cargo.toml").is_none(), "stored as Cargo.toml.in");
    /// ```
    pub fn file(&self, path: &str) -> Option<&'static File> {
        self.files.iter().find(|f| f.path == path)
    }
}

/// One file of a template, as stored: placeholders are not replaced yet.
///
/// ```
/// let kv = spirit_templates::find("kv").unwrap();
/// let lib = kv.file("src/lib.rs").unwrap();
/// assert_eq!(lib.path, "src/lib.rs");
/// assert!(lib.contents.contains("spirit_sdk"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct File {
    /// Its path in the template's directory, with `/` separators.
    pub path: &'static str,
    /// Its contents.
    pub contents: &'static str,
}

/// A template's files from its directory, each embedded with `include_str!`.
macro_rules! files {
    ($dir:literal: $($path:literal),* $(,)?) => {
        &[$(File {
            path: $path,
            contents: include_str!(concat!("../", $dir, "/", $path)),
        }),*]
    };
}

/// Every template, the default (`hello`) first.
///
/// ```
/// use spirit_templates::TEMPLATES;
///
/// assert_eq!(TEMPLATES[0].name, "hello");
/// let names: Vec<&str> = TEMPLATES.iter().map(|t| t.name).collect();
/// assert!(names.contains(&"counter"));
/// ```
pub const TEMPLATES: &[Template] = &[
    Template {
        name: "hello",
        description: "logs a greeting (actuator_log)",
        files: files!("hello": "Cargo.toml.in", "src/lib.rs", "gitignore"),
    },
    Template {
        name: "counter",
        description: "counts its runs in persistent storage (storage_read, storage_write)",
        files: files!("counter": "Cargo.toml.in", "src/lib.rs", "gitignore"),
    },
    Template {
        name: "echo",
        description: "copies its input to its output (no capabilities)",
        files: files!("echo": "Cargo.toml.in", "src/lib.rs", "gitignore"),
    },
    Template {
        name: "kv",
        description: "get/set/delete commands from its input on persistent storage (storage_read, storage_write, storage_delete)",
        files: files!("kv": "Cargo.toml.in", "src/lib.rs", "gitignore"),
    },
    Template {
        name: "json",
        description: "reads fields of a JSON input with the host's JSON-path queries (no capabilities)",
        files: files!("json": "Cargo.toml.in", "src/lib.rs", "gitignore"),
    },
    Template {
        name: "fetch",
        description: "fetches a JSON document over HTTPS from an allowed host and prints one field (network_connect)",
        files: files!("fetch": "Cargo.toml.in", "src/lib.rs", "gitignore"),
    },
    Template {
        name: "pipeline",
        description: "passes its input through the installed `echo` spirit and upper-cases the result (cross_sandbox_call; needs `echo` installed)",
        files: files!("pipeline": "Cargo.toml.in", "src/lib.rs", "gitignore"),
    },
];

/// The template called `name`, if there is one.
///
/// ```
/// assert_eq!(spirit_templates::find("counter").unwrap().name, "counter");
/// assert!(spirit_templates::find("nope").is_none());
/// ```
pub fn find(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    /// The files under `dir`, relative to it, with `/` separators.
    fn files_in(dir: &Path) -> Vec<String> {
        let mut found = Vec::new();
        let mut pending: Vec<PathBuf> = vec![dir.to_owned()];
        while let Some(next) = pending.pop() {
            for entry in std::fs::read_dir(&next).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    let relative = path.strip_prefix(dir).unwrap();
                    let parts: Vec<_> = relative.iter().map(|p| p.to_string_lossy()).collect();
                    found.push(parts.join("/"));
                }
            }
        }
        found.sort();
        found
    }

    /// Every directory beside `src/` is a template, and every file in it is
    /// embedded: a file added to a template cannot be forgotten here.
    #[test]
    fn every_template_directory_is_embedded_whole() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs: Vec<String> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir() && !p.ends_with("src"))
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        dirs.sort();
        let mut names: Vec<String> = TEMPLATES.iter().map(|t| t.name.to_owned()).collect();
        names.sort();
        assert_eq!(dirs, names, "the template directories and TEMPLATES");
        for template in TEMPLATES {
            let dir = root.join(template.name);
            let mut embedded: Vec<String> =
                template.files.iter().map(|f| f.path.to_owned()).collect();
            embedded.sort();
            assert_eq!(files_in(&dir), embedded, "{}", template.name);
            for file in template.files {
                let on_disk = std::fs::read_to_string(dir.join(file.path)).unwrap();
                assert_eq!(on_disk, file.contents, "{}/{}", template.name, file.path);
            }
        }
    }

    /// Cargo packages what `include` in Cargo.toml lists: every template
    /// must be there, or the published crate would not build.
    #[test]
    fn every_template_is_in_the_package() {
        let manifest = include_str!("../Cargo.toml");
        for template in TEMPLATES {
            assert!(
                manifest.contains(&format!("\"/{}/\"", template.name)),
                "templates/Cargo.toml's `include` lacks \"/{}/\"",
                template.name
            );
        }
    }

    #[test]
    fn names_are_unique_and_every_template_is_a_crate() {
        for (i, template) in TEMPLATES.iter().enumerate() {
            assert_eq!(
                find(template.name),
                Some(&TEMPLATES[i]),
                "{} is unique",
                template.name
            );
            assert!(
                template.file("Cargo.toml.in").is_some(),
                "{}",
                template.name
            );
            assert!(template.file("src/lib.rs").is_some(), "{}", template.name);
            assert!(
                template.file("Cargo.toml").is_none(),
                "{}: cargo would skip it",
                template.name
            );
        }
    }
}
