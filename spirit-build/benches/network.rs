//! Network benchmarks: a loopback TCP round trip and an HTTP GET made by a
//! spirit (through `host_network_*` and `host_http_request`), each against
//! the same operation from native Rust with the same client (`std::net`,
//! and `ureq` with the same features) in the same run. Figures are in
//! `BENCHMARKS.md`.
//!
//! ```sh
//! cargo bench -p spirit-build --bench network
//! ```
//!
//! Each figure is the median of 7 runs of a batch, divided by the batch's
//! size; a spirit's batch is one run (instantiation included, a few tens of
//! microseconds over the whole batch).

#![allow(clippy::print_stdout, clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use spirit_build::net::{Allowlist, NetworkAccess};
use spirit_build::sandbox::{Call, Limits, Policy, RunRequest, Sandbox, SandboxConfig};
use spirit_sdk::abi::Capability;
use support::report;

/// `tcp(n)`: one connection to the input's address, then `n` round trips
/// of 64 bytes. `http(n)`: `n` requests (the input), each response read
/// whole and closed.
const WAT: &str = r#"(module
    (import "vudo" "host_network_connect" (func $connect (param i32 i32) (result i64)))
    (import "vudo" "host_network_send" (func $send (param i64 i32 i32) (result i64)))
    (import "vudo" "host_network_recv" (func $recv (param i64 i32 i32 i32) (result i64)))
    (import "vudo" "host_network_close" (func $close (param i64) (result i32)))
    (import "vudo" "host_http_request" (func $http (param i32 i32) (result i64)))
    (import "vudo" "host_input_len" (func $input_len (result i32)))
    (import "vudo" "host_input_read" (func $input_read (param i32 i32 i32) (result i32)))
    (memory (export "memory") 2)
    (func $input (result i32)
        (drop (call $input_read (i32.const 1024) (call $input_len) (i32.const 0)))
        (call $input_len))
    (func (export "tcp") (param $n i32) (result i32)
        (local $h i64) (local $got i64) (local $i i32)
        (local.set $h (call $connect (i32.const 1024) (call $input)))
        (block $done (loop $again
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (drop (call $send (local.get $h) (i32.const 0) (i32.const 64)))
            (local.set $got (i64.const 0))
            (loop $more
                (local.set $got (i64.add (local.get $got)
                    (call $recv (local.get $h) (i32.const 4096) (i32.const 64) (i32.const 0))))
                (br_if $more (i64.lt_s (local.get $got) (i64.const 64))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $again)))
        (call $close (local.get $h)))
    (func (export "http") (param $n i32) (result i32)
        (local $h i64) (local $i i32) (local $len i32)
        (local.set $len (call $input))
        (block $done (loop $again
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $h (call $http (i32.const 1024) (local.get $len)))
            (loop $more
                (br_if $more (i64.gt_s
                    (call $recv (local.get $h) (i32.const 8192) (i32.const 32768) (i32.const 0))
                    (i64.const 0))))
            (drop (call $close (local.get $h)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $again)))
        (i32.const 0)))
"#;

const TCP_ROUNDS: u32 = 2_000;
const HTTP_GETS: u32 = 300;
const BODY: &[u8] = br#"{"name":"spirit","items":[1,2,3,4,5,6,7,8],"ok":true}"#;

fn echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = stream.set_nodelay(true);
            thread::spawn(move || {
                let mut reader = stream.try_clone().unwrap();
                let mut writer = stream;
                let _ = std::io::copy(&mut reader, &mut writer);
            });
        }
    });
    port
}

/// An HTTP/1.1 server that keeps connections open, answering every request
/// with [`BODY`].
fn http_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = stream.set_nodelay(true);
            thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                loop {
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        BODY.len()
                    );
                    if writer.write_all(head.as_bytes()).is_err() || writer.write_all(BODY).is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn spirit_run(
    sandbox: &Sandbox,
    spirit: &spirit_build::sandbox::LoadedSpirit,
    function: &str,
    n: u32,
    input: &str,
    allow: &str,
) {
    let mut request = RunRequest::new(
        Policy::allow([Capability::NetworkConnect]),
        Limits {
            fuel: u64::MAX / 2,
            timeout: Duration::from_secs(600),
            ..Limits::default()
        },
    );
    request.call = Call::Invoke {
        function: function.to_owned(),
        args: vec![n.to_string().parse().expect("a number")],
    };
    request.input = input.as_bytes().to_vec();
    request.network = NetworkAccess {
        allowlist: Allowlist::parse(&[allow], &[]).unwrap(),
        ..NetworkAccess::default()
    };
    let outcome = sandbox.run(spirit, request).unwrap();
    assert_eq!(outcome.results.len(), 1);
}

fn main() {
    let sandbox = Sandbox::with_config(SandboxConfig::in_memory()).unwrap();
    let spirit = sandbox
        .load("net-bench", &wat::parse_str(WAT).unwrap())
        .unwrap();

    let tcp_port = echo_server();
    let address = format!("127.0.0.1:{tcp_port}");
    let native_tcp = support::median_of(7, || {
        let mut stream = TcpStream::connect(&address).unwrap();
        stream.set_nodelay(true).unwrap();
        let mut buf = [0u8; 64];
        for _ in 0..TCP_ROUNDS {
            stream.write_all(&[7u8; 64]).unwrap();
            stream.read_exact(&mut buf).unwrap();
        }
    }) / TCP_ROUNDS;
    let spirit_tcp = support::median_of(7, || {
        spirit_run(&sandbox, &spirit, "tcp", TCP_ROUNDS, &address, &address);
    }) / TCP_ROUNDS;
    report("tcp round trip, 64 bytes, native std::net", native_tcp);
    report("tcp round trip, 64 bytes, from a spirit", spirit_tcp);

    let http_port = http_server();
    let url = format!("http://127.0.0.1:{http_port}/data.json");
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .max_redirects(0)
            .proxy(None)
            .build(),
    );
    let native_http = support::median_of(7, || {
        for _ in 0..HTTP_GETS {
            let mut response = agent.get(&url).call().unwrap();
            let body = response.body_mut().read_to_vec().unwrap();
            assert_eq!(body, BODY);
        }
    }) / HTTP_GETS;
    let request = format!("GET {url}\naccept: application/json\n\n");
    let allow = format!("http://127.0.0.1:{http_port}");
    let spirit_http = support::median_of(7, || {
        spirit_run(&sandbox, &spirit, "http", HTTP_GETS, &request, &allow);
    }) / HTTP_GETS;
    report("http get (keep-alive), native ureq", native_http);
    report("http get (keep-alive), from a spirit", spirit_http);

    println!(
        "\nratios (spirit / native): tcp {:.2}x, http {:.2}x",
        spirit_tcp.as_secs_f64() / native_tcp.as_secs_f64(),
        spirit_http.as_secs_f64() / native_http.as_secs_f64()
    );
}
