//! The network capability through the real binary, on loopback only: TCP
//! connect/send/recv/close, listen and accept, broadcast, HTTP and HTTPS
//! (with a test certificate authority passed by `--net-ca`), and every
//! refusal: a host not in the allowlist, a name resolving to a loopback
//! address, a redirect to a host not in the allowlist, an oversized
//! response, a slow server, and a deterministic run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::support::{cargo_spirit, wasm_file};

/// Every network function, and exports that drive them. The input (an
/// address or an HTTP request) is copied to offset 1024.
const NET_WAT: &str = r#"(module
    (import "vudo" "host_network_connect" (func $connect (param i32 i32) (result i64)))
    (import "vudo" "host_network_listen" (func $listen (param i32) (result i64)))
    (import "vudo" "host_network_broadcast" (func $broadcast (param i32 i32) (result i64)))
    (import "vudo" "host_network_send" (func $send (param i64 i32 i32) (result i64)))
    (import "vudo" "host_network_recv" (func $recv (param i64 i32 i32 i32) (result i64)))
    (import "vudo" "host_network_accept" (func $accept (param i64 i32) (result i64)))
    (import "vudo" "host_network_close" (func $close (param i64) (result i32)))
    (import "vudo" "host_http_request" (func $http (param i32 i32) (result i64)))
    (import "vudo" "host_input_len" (func $input_len (result i32)))
    (import "vudo" "host_input_read" (func $input_read (param i32 i32 i32) (result i32)))
    (import "vudo" "host_output_write" (func $output (param i32 i32) (result i32)))
    (memory (export "memory") 4)
    (data (i32.const 0) "ping")
    (data (i32.const 16) "pong:")

    (func $input (result i32)
        (drop (call $input_read (i32.const 1024) (call $input_len) (i32.const 0)))
        (call $input_len))

    ;; Reads from `h` into 8192.. until `want` bytes, the end, or an error;
    ;; writes what came to the output and returns the last recv result.
    (func $drain (param $h i64) (param $want i32) (param $timeout i32) (result i64)
        (local $n i64) (local $got i32)
        (block $done (loop $again
            (local.set $n (call $recv (local.get $h)
                (i32.add (i32.const 8192) (local.get $got))
                (i32.sub (i32.const 65536) (local.get $got))
                (local.get $timeout)))
            (br_if $done (i64.le_s (local.get $n) (i64.const 0)))
            (local.set $got (i32.add (local.get $got) (i32.wrap_i64 (local.get $n))))
            (br_if $again (i32.lt_u (local.get $got) (local.get $want)))))
        (drop (call $output (i32.const 8192) (local.get $got)))
        (local.get $n))

    (func (export "connect") (result i64) (call $connect (i32.const 1024) (call $input)))

    ;; connect, send "ping", receive 4 bytes, close
    (func (export "echo") (result i64 i64 i64 i32)
        (local $h i64)
        (local.set $h (call $connect (i32.const 1024) (call $input)))
        (local.get $h)
        (call $send (local.get $h) (i32.const 0) (i32.const 4))
        (call $drain (local.get $h) (i32.const 4) (i32.const 5000))
        (call $close (local.get $h)))

    ;; connect, then wait 200 ms for bytes that never come
    (func (export "recv_timeout") (result i64)
        (local $h i64)
        (local.set $h (call $connect (i32.const 1024) (call $input)))
        (call $recv (local.get $h) (i32.const 8192) (i32.const 16) (i32.const 200)))

    ;; `count` connections, then one broadcast of "ping"
    (func (export "broadcast") (param $count i32) (result i64)
        (local $i i32) (local $len i32)
        (local.set $len (call $input))
        (block $done (loop $again
            (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
            (drop (call $connect (i32.const 1024) (local.get $len)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $again)))
        (call $broadcast (i32.const 0) (i32.const 4)))

    ;; listen on `port`, accept one client, answer its 4 bytes with "pong:" and them
    (func (export "serve") (param $port i32) (result i64 i64)
        (local $l i64) (local $c i64)
        (local.set $l (call $listen (local.get $port)))
        (local.get $l)
        (local.set $c (call $accept (local.get $l) (i32.const 20000)))
        (local.get $c)
        (drop (call $recv (local.get $c) (i32.const 8192) (i32.const 4) (i32.const 5000)))
        (drop (call $send (local.get $c) (i32.const 16) (i32.const 5)))
        (drop (call $send (local.get $c) (i32.const 8192) (i32.const 4)))
        (drop (call $close (local.get $c))))

    ;; the input is an HTTP request; the response goes to the output
    (func (export "http") (result i64)
        (local $h i64)
        (local.set $h (call $http (i32.const 1024) (call $input)))
        (if (i64.lt_s (local.get $h) (i64.const 0)) (then (return (local.get $h))))
        (drop (call $drain (local.get $h) (i32.const 65536) (i32.const 0)))
        (i64.extend_i32_s (call $close (local.get $h)))))
"#;

const ALLOW_NET: [&str; 2] = [
    "--allow",
    "network_connect,network_listen,network_broadcast",
];

/// `cargo spirit run WASM` granted every network capability (`ALLOW_NET`),
/// in `dir`: each test adds its allowlist, input and invocation.
fn run_net(dir: &Path, wasm: &Path) -> snapbox::cmd::Command {
    cargo_spirit(dir).arg("run").arg(wasm).args(ALLOW_NET)
}

/// A TCP server on 127.0.0.1 that echoes what each connection sends.
fn echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                let mut reader = stream.try_clone().unwrap();
                let mut writer = stream;
                let _ = std::io::copy(&mut reader, &mut writer);
            });
        }
    });
    port
}

/// An HTTP/1.1 server on 127.0.0.1 answering each request (its head, with
/// the request line first) with what `respond` returns, then closing.
fn http_server(respond: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let respond = Arc::new(respond);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let respond = respond.clone();
            thread::spawn(move || serve_http(stream, &*respond));
        }
    });
    port
}

fn serve_http<S: Read + Write>(stream: S, respond: &dyn Fn(&str) -> Vec<u8>) {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let response = respond(&head);
    let stream = reader.get_mut();
    let _ = stream.write_all(&response);
    let _ = stream.flush();
}

fn response(status: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn net_wasm(dir: &Path) -> PathBuf {
    wasm_file(dir, "net.wasm", NET_WAT)
}

fn stdout_text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr_text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_vudo_module_connects_and_broadcasts_over_real_sockets() {
    // The VUDO tests' shape: raw imports of the three VUDO functions,
    // a literal address, nothing of the SDK.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming().take(2) {
            let tx = tx.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                let _ = stream.unwrap().read_to_end(&mut got);
                tx.send(got).unwrap();
            });
        }
    });
    let address = format!("127.0.0.1:{port}");
    let wat = format!(
        r#"(module
            (import "vudo" "host_network_connect" (func $connect (param i32 i32) (result i64)))
            (import "vudo" "host_network_broadcast" (func $broadcast (param i32 i32) (result i64)))
            (memory (export "memory") 1)
            (data (i32.const 0) "{address}")
            (data (i32.const 64) "hello, peers")
            (func (export "main") (result i64 i64 i64)
                (call $connect (i32.const 0) (i32.const {len}))
                (call $connect (i32.const 0) (i32.const {len}))
                (call $broadcast (i32.const 64) (i32.const 12))))"#,
        len = address.len()
    );
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wasm_file(tmp.path(), "vudo.wasm", &wat);
    let out = cargo_spirit(tmp.path())
        .arg("run")
        .arg(&wasm)
        .args(["--allow", "network_connect,network_broadcast"])
        .args(["--allow-net", &address, "--invoke", "main"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_text(&out), "1\n2\n2\n", "{}", stderr_text(&out));
    for _ in 0..2 {
        let got = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(got, b"hello, peers");
    }
}

#[test]
fn connect_send_recv_close_round_trip() {
    let port = echo_server();
    let tmp = tempfile::tempdir().unwrap();
    let wasm = net_wasm(tmp.path());
    let address = format!("127.0.0.1:{port}");
    let out = run_net(tmp.path(), &wasm)
        .args(["--allow-net", &address, "--input-text", &address])
        .args(["-v", "--invoke", "echo"])
        .assert()
        .success()
        .get_output()
        .clone();
    // The echoed bytes, then the results: handle 1, 4 sent, 4 received,
    // closed.
    assert_eq!(stdout_text(&out), "ping1\n4\n4\n0\n");
    let stderr = stderr_text(&out);
    assert!(
        stderr.contains(&format!(
            "Network connected to {address} ({address}), allowed by `{address}`"
        )),
        "{stderr}"
    );
}

#[test]
fn a_spirit_listens_and_serves_a_client() {
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let client = thread::spawn(move || {
        for _ in 0..400 {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
                stream.write_all(b"ping").unwrap();
                let mut reply = Vec::new();
                stream.read_to_end(&mut reply).unwrap();
                return reply;
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("the spirit never listened on {port}");
    });
    let tmp = tempfile::tempdir().unwrap();
    let wasm = net_wasm(tmp.path());
    let out = run_net(tmp.path(), &wasm)
        .args(["--allow-listen", &format!("127.0.0.1:{port}")])
        .args(["--invoke", "serve", &port.to_string()])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_text(&out), "1\n2\n", "{}", stderr_text(&out));
    assert_eq!(client.join().unwrap(), b"pong:ping");
}

#[test]
fn listening_on_a_port_not_in_the_allowlist_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = net_wasm(tmp.path());
    let out = run_net(tmp.path(), &wasm)
        .args(["--allow-listen", "127.0.0.1:1"])
        .args(["--invoke", "serve", "2"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(stdout_text(&out).starts_with("-1\n-1\n"));
    assert!(
        stderr_text(&out).contains("`--allow-listen 127.0.0.1:2`"),
        "{}",
        stderr_text(&out)
    );
}

#[test]
fn broadcast_reaches_every_open_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let tx = tx.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                let _ = stream.unwrap().read_to_end(&mut got);
                tx.send(got).unwrap();
            });
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let wasm = net_wasm(tmp.path());
    let address = format!("127.0.0.1:{port}");
    let out = run_net(tmp.path(), &wasm)
        .args(["--allow-net", &address, "--input-text", &address])
        .args(["--invoke", "broadcast", "5"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_text(&out), "5\n", "{}", stderr_text(&out));
    for _ in 0..5 {
        assert_eq!(rx.recv_timeout(Duration::from_secs(30)).unwrap(), b"ping");
    }
}

#[test]
fn a_host_not_in_the_allowlist_is_refused_with_the_entry_that_would_allow_it() {
    let port = echo_server();
    let tmp = tempfile::tempdir().unwrap();
    let wasm = net_wasm(tmp.path());
    let address = format!("127.0.0.1:{port}");
    // Granted the capability, but no entry: nothing is reachable.
    for allow_net in [&[][..], &["--allow-net", "127.0.0.1:1"][..]] {
        let out = run_net(tmp.path(), &wasm)
            .args(allow_net)
            .args(["--input-text", &address, "--invoke", "connect"])
            .assert()
            .success()
            .get_output()
            .clone();
        assert_eq!(stdout_text(&out), "-1\n");
        let stderr = stderr_text(&out);
        assert!(
            stderr.contains(&format!(
                "warning: `host_network_connect` returned -1: `{address}` is not in the run's connect allowlist"
            )) && stderr.contains(&format!("`--allow-net {address}`")),
            "{stderr}"
        );
    }
}

/// A name other than `localhost` that this machine resolves to a loopback
/// address (its own host name does, from `/etc/hosts`).
fn name_resolving_to_loopback() -> String {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_owned();
    for name in [hostname.as_str(), "ip6-localhost", "ip6-loopback"] {
        if name.is_empty() || name == "localhost" {
            continue;
        }
        let loopback = (name, 80)
            .to_socket_addrs()
            .map(|mut addrs| addrs.any(|a: SocketAddr| a.ip().is_loopback()))
            .unwrap_or(false);
        if loopback {
            return name.to_owned();
        }
    }
    panic!(
        "this test needs a host name (not `localhost`) that resolves to a loopback address, such as the machine's own in /etc/hosts"
    );
}

#[test]
fn a_name_resolving_to_a_private_address_is_refused() {
    let port = echo_server();
    let name = name_resolving_to_loopback();
    let tmp = tempfile::tempdir().unwrap();
    let wasm = net_wasm(tmp.path());
    let target = format!("{name}:{port}");
    let out = run_net(tmp.path(), &wasm)
        .args(["--allow-net", &target, "--input-text", &target])
        .args(["--invoke", "connect"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_text(&out), "-1\n");
    let stderr = stderr_text(&out);
    assert!(
        stderr.contains(&format!("`{target}` resolves to"))
            && stderr.contains("a loopback address, which only an entry naming it allows"),
        "{stderr}"
    );
    // An entry naming the address itself lets it through.
    let out = run_net(tmp.path(), &wasm)
        .args(["--allow-net", &target])
        .args(["--allow-net", &format!("127.0.0.1:{port}")])
        .args(["--allow-net", &format!("[::1]:{port}")])
        .args(["--input-text", &target, "--invoke", "connect"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_text(&out), "1\n", "{}", stderr_text(&out));
}

#[test]
fn recv_past_its_timeout_returns_timed_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and stays silent.
    thread::spawn(move || {
        let held: Vec<TcpStream> = listener.incoming().take(1).flatten().collect();
        thread::sleep(Duration::from_secs(60));
        drop(held);
    });
    let tmp = tempfile::tempdir().unwrap();
    let wasm = net_wasm(tmp.path());
    let address = format!("127.0.0.1:{port}");
    let out = run_net(tmp.path(), &wasm)
        .args(["--allow-net", &address, "--input-text", &address])
        .args(["--invoke", "recv_timeout"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_text(&out), "-7\n", "{}", stderr_text(&out));
}

#[test]
fn a_deterministic_run_cannot_use_the_network() {
    let port = echo_server();
    let tmp = tempfile::tempdir().unwrap();
    let wasm = net_wasm(tmp.path());
    let address = format!("127.0.0.1:{port}");
    let out = run_net(tmp.path(), &wasm)
        .args(["--allow-net", &address, "--input-text", &address])
        .args(["--deterministic", "--invoke", "connect"])
        .assert()
        .failure()
        .get_output()
        .clone();
    let stderr = stderr_text(&out);
    assert!(
        stderr.contains("imports `vudo::host_network_connect`, but a deterministic run cannot use the network (its result would depend on it)")
            && stderr.contains("run it without `--deterministic`"),
        "{stderr}"
    );
}

fn http_request(url: &str) -> String {
    format!("GET {url}\nAccept: application/json\n\n")
}

#[test]
fn http_get_from_an_allowed_host() {
    let port = http_server(|head| {
        assert!(head.starts_with("GET /data.json HTTP/1.1\r\n"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("accept: application/json"),
            "{head}"
        );
        response(
            "200 OK",
            "Content-Type: application/json\r\n",
            br#"{"name":"spirit"}"#,
        )
    });
    let tmp = tempfile::tempdir().unwrap();
    let wasm = net_wasm(tmp.path());
    let url = format!("http://127.0.0.1:{port}/data.json");
    let out = run_net(tmp.path(), &wasm)
        .args(["--allow-net", &format!("http://127.0.0.1:{port}")])
        .args(["--input-text", &http_request(&url), "--invoke", "http"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = stdout_text(&out);
    assert!(stdout.starts_with("200\n"), "{stdout}{}", stderr_text(&out));
    assert!(
        stdout.contains("content-type: application/json\n"),
        "{stdout}"
    );
    assert!(stdout.ends_with("\n\n{\"name\":\"spirit\"}0\n"), "{stdout}");
}

#[test]
fn a_redirect_is_followed_only_within_the_allowlist() {
    let elsewhere = http_server(|_| response("200 OK", "", b"secret"));
    let port = http_server(move |head| {
        if head.starts_with("GET /inside ") {
            response("302 Found", "Location: /final\r\n", b"")
        } else if head.starts_with("GET /final ") {
            response("200 OK", "", b"arrived")
        } else {
            let to = format!("Location: http://localhost:{elsewhere}/\r\n");
            response("302 Found", &to, b"")
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let wasm = net_wasm(tmp.path());
    let run = |path: &str| {
        run_net(tmp.path(), &wasm)
            .args(["--allow-net", &format!("http://127.0.0.1:{port}")])
            .args([
                "--input-text",
                &http_request(&format!("http://127.0.0.1:{port}{path}")),
                "--invoke",
                "http",
            ])
            .assert()
            .success()
            .get_output()
            .clone()
    };
    let out = run("/inside");
    assert!(
        stdout_text(&out).ends_with("\n\narrived0\n"),
        "{}",
        stdout_text(&out)
    );
    let out = run("/outside");
    assert_eq!(stdout_text(&out), "-1\n");
    let stderr = stderr_text(&out);
    assert!(
        stderr.contains(&format!(
            "`http://localhost:{elsewhere}/ (a redirect from `http://127.0.0.1:{port}/outside`)` is not in the run's connect allowlist"
        )) && stderr.contains(&format!("`--allow-net http://localhost:{elsewhere}`")),
        "{stderr}"
    );
}

#[test]
fn an_oversized_response_is_refused() {
    let port = http_server(|_| response("200 OK", "", &vec![b'x'; 3 << 20]));
    let tmp = tempfile::tempdir().unwrap();
    let wasm = net_wasm(tmp.path());
    let url = format!("http://127.0.0.1:{port}/big");
    let out = run_net(tmp.path(), &wasm)
        .args(["--allow-net", &format!("127.0.0.1:{port}")])
        .args(["--max-response", "1MiB"])
        .args(["--input-text", &http_request(&url), "--invoke", "http"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_text(&out), "-1\n");
    assert!(
        stderr_text(&out).contains("the response body is larger than the limit of 1048576 bytes"),
        "{}",
        stderr_text(&out)
    );
}

#[test]
fn a_slow_server_is_given_up_on_at_the_timeout() {
    let port = http_server(|_| {
        thread::sleep(Duration::from_secs(30));
        response("200 OK", "", b"late")
    });
    let tmp = tempfile::tempdir().unwrap();
    let wasm = net_wasm(tmp.path());
    let url = format!("http://127.0.0.1:{port}/slow");
    let out = run_net(tmp.path(), &wasm)
        .args(["--allow-net", &format!("127.0.0.1:{port}")])
        .args(["--net-timeout", "300ms"])
        .args(["--input-text", &http_request(&url), "--invoke", "http"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_text(&out), "-1\n");
    assert!(
        stderr_text(&out).contains(&format!("`{url}` took longer than 300ms")),
        "{}",
        stderr_text(&out)
    );
}

/// A certificate authority and a server certificate it signed for
/// `localhost` and 127.0.0.1.
fn test_ca() -> (String, rustls::ServerConfig) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "spirit test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let cert = params.signed_by(&key, &issuer).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    (ca.pem(), config)
}

fn https_server(config: rustls::ServerConfig, body: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = Arc::new(config);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = config.clone();
            thread::spawn(move || {
                let Ok(connection) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let tls = rustls::StreamOwned::new(connection, stream);
                serve_http(tls, &|_| {
                    response("200 OK", "Content-Type: application/json\r\n", body)
                });
            });
        }
    });
    port
}

#[test]
fn https_with_a_trusted_test_authority() {
    let (ca_pem, config) = test_ca();
    let port = https_server(config, br#"{"secure":true}"#);
    let tmp = tempfile::tempdir().unwrap();
    let wasm = net_wasm(tmp.path());
    let ca = tmp.path().join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let url = format!("https://localhost:{port}/data.json");
    let run = |ca: Option<&Path>| {
        let mut command = run_net(tmp.path(), &wasm)
            .args(["--allow-net", &format!("https://localhost:{port}")])
            .args(["--input-text", &http_request(&url), "--invoke", "http"])
            .env_remove("SPIRIT_NET_CA_FILE");
        if let Some(ca) = ca {
            command = command.env("SPIRIT_NET_CA_FILE", ca);
        }
        command.assert().success().get_output().clone()
    };
    let out = run(Some(&ca));
    let stdout = stdout_text(&out);
    assert!(
        stdout.starts_with("200\n") && stdout.ends_with("\n\n{\"secure\":true}0\n"),
        "{stdout}{}",
        stderr_text(&out)
    );
    // Without the authority the certificate is not trusted.
    let out = run(None);
    assert_eq!(stdout_text(&out), "-1\n");
    assert!(
        stderr_text(&out).contains("`host_http_request` returned -1")
            && stderr_text(&out).contains("certificate"),
        "{}",
        stderr_text(&out)
    );
}

#[test]
fn the_fetch_template_gets_json_over_https_from_its_declared_host() {
    let (ca_pem, config) = test_ca();
    let port = https_server(config, br#"{"name":"spirit","tags":["wasm"]}"#);
    let (tmp, dir) = crate::support::new_spirit("tpl-fetch", "fetch");
    let ca = tmp.path().join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(
        text.contains("connect = [\"https://httpbin.org\"]"),
        "{text}"
    );
    let allowed = format!("https://localhost:{port}");
    std::fs::write(&manifest, text.replace("https://httpbin.org", &allowed)).unwrap();
    cargo_spirit(&dir).arg("build").assert().success();
    // The allowlist is in the signed manifest, and shown.
    let built = crate::support::artifact_dir("debug", "tpl-fetch").join("manifest.toml");
    let written = std::fs::read_to_string(built).unwrap();
    assert!(
        written.contains(&format!(
            "[network]\nconnect = [\"{allowed}\"]\nlisten = []\n"
        )),
        "{written}"
    );
    let out = cargo_spirit(&dir)
        .arg("inspect")
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout_text(&out).contains(&format!("net     connect {allowed}\n")),
        "{}",
        stdout_text(&out)
    );
    let fetch = |input: &str| {
        cargo_spirit(&dir)
            .args(["run", "--input-text", input])
            .env("SPIRIT_NET_CA_FILE", &ca)
            .assert()
    };
    let out = fetch(&format!("{allowed}/data.json\n$.tags[0]"))
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_text(&out), "\"wasm\"\n", "{}", stderr_text(&out));
    // A host the manifest does not name.
    let out = fetch(&format!("https://127.0.0.1:{port}/data.json"))
        .failure()
        .get_output()
        .clone();
    let stderr = stderr_text(&out);
    assert!(
        stderr.contains(&format!("`--allow-net https://127.0.0.1:{port}`"))
            && stderr.contains("error: spirit `tpl-fetch` failed: a network call failed: the host's warning says why"),
        "{stderr}"
    );
}

#[test]
fn a_network_capability_without_entries_is_a_build_warning() {
    let (_tmp, dir) = crate::support::new_spirit("net-empty", "fetch");
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("connect = [\"https://httpbin.org\"]", "connect = []"),
    )
    .unwrap();
    let out = cargo_spirit(&dir)
        .arg("build")
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stderr_text(&out).contains(
            "warning: spirit `net-empty`: declares `network_connect` but its `connect` list is empty, so it may reach nothing"
        ),
        "{}",
        stderr_text(&out)
    );
}

#[test]
fn a_packages_allowlist_is_shown_and_granted_only_with_its_capabilities() {
    let port = echo_server();
    let address = format!("127.0.0.1:{port}");
    let tmp = tempfile::tempdir().unwrap();
    let wasm = wat::parse_str(NET_WAT).unwrap();
    let mut manifest =
        spirit_build::manifest::Manifest::for_module("netpkg", "1.0.0".parse().unwrap(), &wasm);
    manifest.capabilities = vec![
        spirit_sdk::abi::Capability::NetworkConnect,
        spirit_sdk::abi::Capability::NetworkListen,
        spirit_sdk::abi::Capability::NetworkBroadcast,
    ];
    manifest.network = spirit_build::net::Allowlist::parse(&[&address], &[]).unwrap();
    let files = spirit_build::package::SpiritFiles::new(manifest, wasm, None);
    let package = tmp.path().join(files.package_name());
    std::fs::write(&package, files.to_package()).unwrap();

    let out = cargo_spirit(tmp.path())
        .arg("inspect")
        .arg(&package)
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout_text(&out).contains(&format!("net     connect {address}\n")),
        "{}",
        stdout_text(&out)
    );
    // Unsigned: its capabilities are withheld, and so is its allowlist; the
    // capabilities granted by hand reach nothing.
    let out = run_net(tmp.path(), &package)
        .args(["--input-text", &address, "--invoke", "connect"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_text(&out), "-1\n");
    assert!(
        stderr_text(&out).contains("is not in the run's connect allowlist"),
        "{}",
        stderr_text(&out)
    );
    cargo_spirit(tmp.path())
        .arg("install")
        .arg(&package)
        .arg("--allow-unsigned")
        .assert()
        .success();
    let out = cargo_spirit(tmp.path())
        .args(["info", "netpkg"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout_text(&out).contains(&format!("network:      connect {address}\n")),
        "{}",
        stdout_text(&out)
    );
}
