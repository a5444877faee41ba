//! Sharing spirits through a real OCI registry: the CNCF distribution
//! server (Debian's `docker-registry`, which `.ci/run` installs) on
//! 127.0.0.1, started per test with its own storage and stopped on drop.
//! One real spirit is built, signed and packed once and pushed by every
//! test.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use snapbox::str;
use spirit_build::oci::Digest;
use spirit_build::package::{SpiritFiles, read_package};
use spirit_build::sign::Key;

use crate::support::{cargo_spirit, new_spirit};

/// The distribution server's binary, as Debian installs it.
const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// A running distribution server; killed when dropped.
struct Server {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Server {
    /// A server without authentication.
    fn start() -> Server {
        Server::start_with(None)
    }

    /// A server requiring `user`/`password` (htpasswd, bcrypt).
    fn start_with(credentials: Option<(&str, &str)>) -> Server {
        assert!(
            Path::new(REGISTRY_BIN).is_file(),
            "{REGISTRY_BIN} is missing: install the CNCF distribution server with `apt-get install docker-registry apache2-utils` (.ci/run does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("storage").display()
        );
        if let Some((user, password)) = credentials {
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .expect("htpasswd (apache2-utils) is installed");
            assert!(out.status.success());
            std::fs::write(dir.path().join("htpasswd"), &out.stdout).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
                dir.path().join("htpasswd").display()
            ));
        }
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut server = Server { child, port, dir };
        // Ready when `/v2/` answers (200, or 401 with authentication).
        for _ in 0..200 {
            if let Ok((status, _, _)) = server.try_get("/v2/", "") {
                assert!(status == 200 || status == 401, "/v2/ answered {status}");
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "the registry exited ({status}): {}",
                    std::fs::read_to_string(server.dir.path().join("server.log")).unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the registry did not answer on 127.0.0.1:{}", server.port);
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// A blob's file in the server's storage.
    fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.storage()
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// One plain HTTP/1.0 GET against the registry's API: status, headers,
    /// body.
    fn try_get(&self, path: &str, accept: &str) -> std::io::Result<(u16, String, Vec<u8>)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: {}\r\nAccept: {accept}\r\n\r\n",
            self.host()
        )?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or(std::io::ErrorKind::InvalidData)?;
        let head = String::from_utf8_lossy(&response[..split]).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or(std::io::ErrorKind::InvalidData)?;
        Ok((status, head, response[split + 4..].to_vec()))
    }

    fn get(&self, path: &str, accept: &str) -> (u16, String, Vec<u8>) {
        self.try_get(path, accept).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The spirit every test pushes: a real crate from the `hello` template,
/// built with `--release`, signed and packed once.
struct Fixture {
    /// The crate; its `.vudo` holds the signing key.
    dir: PathBuf,
    package: PathBuf,
    files: SpiritFiles,
    key: Key,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (tmp, dir) = new_spirit("oci-hello", "hello");
        // Kept for the whole run: every test pushes from it.
        std::mem::forget(tmp);
        cargo_spirit(&dir).args(["keygen", "-q"]).assert().success();
        cargo_spirit(&dir)
            .args(["build", "--release", "--sign", "-q"])
            .assert()
            .success();
        let out = cargo_spirit(&dir)
            .args(["pack", "--release", "-q"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let package = PathBuf::from(String::from_utf8(out).unwrap().trim());
        let files = read_package(&package).unwrap();
        let key = Key::read(&dir.join(".vudo/keys/default.key")).unwrap();
        Fixture {
            dir,
            package,
            files,
            key,
        }
    })
}

/// A fresh directory whose `VUDO_HOME` (`.vudo`) trusts the fixture's key.
fn trusting_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    cargo_spirit(home.path())
        .args(["trust", &fixture().key.author().to_string(), "-q"])
        .assert()
        .success();
    home
}

/// Pushes `package` to `reference` from the fixture's home and returns the
/// manifest digest `push --message-format json` reports.
fn push(reference: &str, package: &Path) -> String {
    let out = cargo_spirit(&fixture().dir)
        .args(["push", "--plain-http", reference])
        .arg(package)
        .args(["--message-format", "json", "-q"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let message: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(message["reason"], "spirit-pushed");
    message["pushed"]["digest"].as_str().unwrap().to_owned()
}

fn stderr(assert: snapbox::cmd::OutputAssert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

fn installed(dir: &Path) -> Vec<serde_json::Value> {
    let out = cargo_spirit(dir)
        .args(["list", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn a_pushed_spirit_is_pulled_into_a_fresh_home_and_runs_by_name() {
    let server = Server::start();
    let repository = format!("{}/team/oci-hello", server.host());
    let digest = push(&repository, &fixture().package);
    // The tag defaults to the version; pushing again gives the same digest.
    assert_eq!(push(&repository, &fixture().package), digest);

    let home = trusting_home();
    let pulled = stderr(
        cargo_spirit(home.path())
            .args(["pull", "--plain-http", &format!("{repository}:0.1.0")])
            .assert()
            .success(),
    );
    assert!(pulled.contains("Installed oci-hello v0.1.0"), "{pulled}");
    let run = cargo_spirit(home.path())
        .args(["run", "oci-hello"])
        .assert()
        .success();
    assert!(stderr(run).contains("Hello from oci-hello!"));

    // An installed spirit pushes as the very same artifact.
    let out = cargo_spirit(home.path())
        .args([
            "push",
            "--plain-http",
            &format!("{}/again/oci-hello", server.host()),
        ])
        .args(["oci-hello@0.1", "--message-format", "json", "-q"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let message: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(message["pushed"]["digest"], digest.as_str());

    // The same content again, by tag or by digest: nothing changes.
    let again = stderr(
        cargo_spirit(home.path())
            .args(["pull", "--plain-http", &format!("{repository}@{digest}")])
            .assert()
            .success(),
    );
    assert!(again.contains("Unchanged oci-hello v0.1.0"), "{again}");

    // `install` takes the same references; a digest pins the content.
    let other = trusting_home();
    let out = cargo_spirit(other.path())
        .args(["install", "--plain-http", &format!("{repository}@{digest}")])
        .args(["--message-format", "json", "-q"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let message: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(message["reason"], "spirit-installed");
    assert_eq!(message["pulled"]["digest"], digest.as_str());
    assert_eq!(message["spirit"]["name"], "oci-hello");
    assert_eq!(installed(other.path()).len(), 1);

    // A digest the repository does not have: a worded 404.
    let missing = format!("{repository}@{}", Digest::of(b"nothing"));
    cargo_spirit(other.path())
        .args(["pull", "--plain-http", &missing, "-q"])
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: `127.0.0.1:[..]/team/oci-hello@sha256:[..]` was not found in registry `127.0.0.1:[..]`: no manifest `sha256:[..]` in repository `team/oci-hello`
help: check the repository and the tag or digest; `cargo spirit push` puts a spirit there

"#]]);
}

#[test]
fn the_artifact_is_a_standard_wasm_oci_artifact() {
    let server = Server::start();
    let digest = push(
        &format!("{}/layout/check", server.host()),
        &fixture().package,
    );
    let (status, head, body) = server.get(
        "/v2/layout/check/manifests/0.1.0",
        "application/vnd.oci.image.manifest.v1+json",
    );
    assert_eq!(status, 200, "{head}");
    assert_eq!(Digest::of(&body).to_string(), digest);
    let manifest: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(manifest["schemaVersion"], 2);
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["mediaType"], "application/wasm");
    let wasm = &fixture().files.wasm;
    let wasm_digest = Digest::of(wasm).to_string();
    assert_eq!(layers[0]["digest"], wasm_digest.as_str());
    assert_eq!(layers[0]["size"], wasm.len());
    assert_eq!(
        layers[0]["annotations"]["org.opencontainers.image.title"],
        "oci-hello.wasm"
    );
    // The manifest and signature travel as annotations, byte for byte.
    let annotations = &manifest["annotations"];
    assert_eq!(
        annotations["io.github.cargo-spirit.manifest"]
            .as_str()
            .unwrap()
            .as_bytes(),
        fixture().files.manifest_bytes.as_slice()
    );
    assert!(
        annotations["io.github.cargo-spirit.signature"]
            .as_str()
            .unwrap()
            .contains(&fixture().key.author().to_string())
    );
    assert_eq!(annotations["org.opencontainers.image.version"], "0.1.0");

    let config_digest = manifest["config"]["digest"].as_str().unwrap();
    let (status, _, config) = server.get(&format!("/v2/layout/check/blobs/{config_digest}"), "*/*");
    assert_eq!(status, 200);
    assert_eq!(Digest::of(&config).to_string(), config_digest);
    let config: serde_json::Value = serde_json::from_slice(&config).unwrap();
    assert_eq!(config["architecture"], "wasm");
    assert_eq!(config["os"], "wasip1");
    assert_eq!(config["layerDigests"], serde_json::json!([wasm_digest]));
    assert!(config["created"].is_string());

    // The layer is the plain, stripped module.
    let (status, _, layer) = server.get(&format!("/v2/layout/check/blobs/{wasm_digest}"), "*/*");
    assert_eq!(status, 200);
    assert_eq!(&layer, wasm);
    assert!(layer.starts_with(b"\0asm"));
}

#[test]
fn content_altered_in_the_registry_is_refused_and_nothing_is_installed() {
    let server = Server::start();
    let repository = format!("{}/tamper/oci-hello", server.host());
    let digest = push(&repository, &fixture().package);
    let home = trusting_home();

    // The module's blob, one byte changed, same size.
    let wasm_blob = server.blob_file(&Digest::of(&fixture().files.wasm).to_string());
    let original = std::fs::read(&wasm_blob).unwrap();
    let mut altered = original.clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    std::fs::write(&wasm_blob, &altered).unwrap();
    let error = stderr(
        cargo_spirit(home.path())
            .args(["pull", "--plain-http", &format!("{repository}:0.1.0")])
            .assert()
            .failure(),
    );
    assert!(
        error.contains("the module from") && error.contains("does not match its digest"),
        "{error}"
    );
    assert!(error.contains("nothing was installed"), "{error}");
    assert!(installed(home.path()).is_empty());
    std::fs::write(&wasm_blob, &original).unwrap();

    // The image manifest's blob (its annotations carry the signature).
    let manifest_blob = server.blob_file(&digest);
    let text = std::fs::read_to_string(&manifest_blob).unwrap();
    std::fs::write(&manifest_blob, text.replace("0.1.0", "0.1.1")).unwrap();
    for reference in [
        format!("{repository}:0.1.0"),
        format!("{repository}@{digest}"),
    ] {
        let error = stderr(
            cargo_spirit(home.path())
                .args(["pull", "--plain-http", &reference])
                .assert()
                .failure(),
        );
        assert!(
            error.contains("the manifest from") && error.contains("does not match its digest"),
            "{error}"
        );
    }
    assert!(installed(home.path()).is_empty());
}

#[test]
fn unsigned_and_untrusted_artifacts_are_refused() {
    let server = Server::start();
    // Pushed by someone whose key this home does not trust.
    let signed = format!("{}/trust/signed", server.host());
    push(&signed, &fixture().package);
    let stranger = tempfile::tempdir().unwrap();
    let error = stderr(
        cargo_spirit(stranger.path())
            .args(["pull", "--plain-http", &format!("{signed}:0.1.0")])
            .assert()
            .failure(),
    );
    assert!(error.contains("who is not trusted"), "{error}");
    assert!(installed(stranger.path()).is_empty());

    // The same real spirit without its signature: push refuses it unless
    // told, and pull refuses it unless told.
    let files = &fixture().files;
    let unsigned = SpiritFiles {
        signature: None,
        ..files.clone()
    };
    let package = stranger.path().join(unsigned.package_name());
    std::fs::write(&package, unsigned.to_package()).unwrap();
    let repository = format!("{}/trust/unsigned", server.host());
    let error = stderr(
        cargo_spirit(&fixture().dir)
            .args(["push", "--plain-http", &repository])
            .arg(&package)
            .assert()
            .failure(),
    );
    assert!(error.contains("unsigned"), "{error}");
    let out = cargo_spirit(&fixture().dir)
        .args(["push", "--plain-http", "--allow-unsigned", &repository])
        .arg(&package)
        .args(["--message-format", "json", "-q"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let message: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(message["pushed"]["author"].is_null());
    let home = trusting_home();
    let reference = format!("{repository}:0.1.0");
    let error = stderr(
        cargo_spirit(home.path())
            .args(["pull", "--plain-http", &reference])
            .assert()
            .failure(),
    );
    assert!(error.contains("unsigned"), "{error}");
    assert!(installed(home.path()).is_empty());
    cargo_spirit(home.path())
        .args(["pull", "--plain-http", "--allow-unsigned", &reference, "-q"])
        .assert()
        .success();
    assert_eq!(installed(home.path())[0]["unsigned"], true);
}

#[test]
fn credentials_are_required_and_wrong_ones_get_a_worded_401() {
    let server = Server::start_with(Some(("ci", "s3cret")));
    let repository = format!("{}/auth/oci-hello", server.host());
    // Without credentials.
    let error = stderr(
        cargo_spirit(&fixture().dir)
            .args(["push", "--plain-http", &repository])
            .arg(&fixture().package)
            .env("DOCKER_CONFIG", server.dir.path())
            .assert()
            .failure(),
    );
    assert!(
        error.contains("401 Unauthorized, it requires credentials")
            && error.contains("docker login"),
        "{error}"
    );
    // The right ones, on standard input.
    cargo_spirit(&fixture().dir)
        .args(["push", "--plain-http", &repository])
        .arg(&fixture().package)
        .args(["--username", "ci", "--password-stdin", "-q"])
        .stdin("s3cret\n")
        .assert()
        .success();
    // Wrong ones.
    let home = trusting_home();
    let reference = format!("{repository}:0.1.0");
    let error = stderr(
        cargo_spirit(home.path())
            .args(["pull", "--plain-http", &reference, "-q"])
            .args(["--username", "ci", "--password-stdin"])
            .stdin("n0t-the-pa55word\n")
            .assert()
            .failure()
            .stderr_eq(str![[r#"
error: registry `127.0.0.1:[..]` refused pulling `127.0.0.1:[..]/auth/oci-hello:0.1.0`: 401 Unauthorized, the credentials given are wrong
help: log in with `docker login 127.0.0.1:[..]` (cargo-spirit reads Docker's credentials), or pass `--username USER --password-stdin`

"#]]),
    );
    assert!(
        !error.contains("n0t-the-pa55word"),
        "the password is never shown: {error}"
    );
    assert!(installed(home.path()).is_empty());
    // Docker's configuration: an `auths` entry for the registry.
    let docker = tempfile::tempdir().unwrap();
    std::fs::write(
        docker.path().join("config.json"),
        format!(
            r#"{{"auths":{{"{}":{{"auth":"Y2k6czNjcmV0"}}}}}}"#,
            server.host()
        ),
    )
    .unwrap();
    cargo_spirit(home.path())
        .args(["pull", "--plain-http", &reference, "-q"])
        .env("DOCKER_CONFIG", docker.path())
        .assert()
        .success();
    assert_eq!(installed(home.path()).len(), 1);

    // Docker's credential helpers: `docker-credential-NAME get` on PATH,
    // given the registry on standard input.
    let helpers = tempfile::tempdir().unwrap();
    for (name, script) in [
        (
            "docker-credential-spirit-test",
            format!(
                "#!/bin/sh\nread registry\n[ \"$1\" = get ] && [ \"$registry\" = \"{}\" ] || exit 1\necho '{{\"Username\":\"ci\",\"Secret\":\"s3cret\"}}'\n",
                server.host()
            ),
        ),
        (
            "docker-credential-broken",
            // It reads its input first, as helpers do, so the registry is
            // always written before it exits.
            "#!/bin/sh\nread registry\necho 'helper secret output' >&2\nexit 3\n".to_owned(),
        ),
    ] {
        let path = helpers.path().join(name);
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        helpers.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let with_helper = |helper: &str| {
        std::fs::write(
            docker.path().join("config.json"),
            format!(r#"{{"credHelpers":{{"{}":"{helper}"}}}}"#, server.host()),
        )
        .unwrap();
    };
    with_helper("spirit-test");
    let fresh = trusting_home();
    cargo_spirit(fresh.path())
        .args(["pull", "--plain-http", &reference, "-q"])
        .env("DOCKER_CONFIG", docker.path())
        .env("PATH", &path)
        .assert()
        .success();
    assert_eq!(installed(fresh.path()).len(), 1);
    with_helper("broken");
    let error = stderr(
        cargo_spirit(fresh.path())
            .args(["pull", "--plain-http", &reference])
            .env("DOCKER_CONFIG", docker.path())
            .env("PATH", &path)
            .assert()
            .failure(),
    );
    assert!(
        error.contains("the credential helper `docker-credential-broken` failed")
            && !error.contains("helper secret output"),
        "{error}"
    );
}

#[test]
fn a_tag_moved_to_other_content_is_reported() {
    let server = Server::start();
    let reference = format!("{}/moved/oci-hello:0.1.0", server.host());
    push(&reference, &fixture().package);
    let home = trusting_home();
    cargo_spirit(home.path())
        .args(["pull", "--plain-http", &reference, "-q"])
        .assert()
        .success();

    // The same name and version, other content, signed by the same key,
    // pushed under the same tag.
    let files = &fixture().files;
    let mut manifest = files.manifest.clone();
    manifest.description = Some("the same version, other content".to_owned());
    let other = SpiritFiles::new(manifest, files.wasm.clone(), Some(&fixture().key));
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join(other.package_name());
    std::fs::write(&package, other.to_package()).unwrap();
    let moved = push(&reference, &package);

    let error = stderr(
        cargo_spirit(home.path())
            .args(["pull", "--plain-http", &reference])
            .assert()
            .failure(),
    );
    assert!(
        error.contains("was moved since it was installed") && error.contains(&moved),
        "{error}"
    );
    let list = installed(home.path());
    assert_eq!(list.len(), 1);
    assert_ne!(list[0]["description"], "the same version, other content");
}
