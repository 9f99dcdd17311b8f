//! Redaction throughput on a realistic application log (`cargo bench -p guardian-core --bench
//! redact`). Figures are recorded in docs/analysis.md.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use guardian_core::redact::Redactor;

/// About 1 MiB of log lines shaped like a real service's: mostly benign INFO/WARN lines with
/// IPs, request ids, durations and image digests, a stack trace now and then, and a secret in
/// roughly one line out of fifty (bearer headers, DSNs, key=value passwords, JWTs).
fn realistic_log() -> String {
    let benign = [
        "2026-12-01T08:00:01.123Z INFO  http: GET /api/v1/orders/8841 200 12.4ms request_id=3f9a1c2e4b5d6f70 trace_id=4bf92f3577b34da6a3ce929d0e0e4736",
        "2026-12-01T08:00:01.456Z WARN  pool: connection to 10.42.3.17:5432 slow (812ms), retrying",
        "2026-12-01T08:00:02.001Z INFO  image: pulled registry.example.com/shop/api@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "2026-12-01T08:00:02.337Z ERROR worker: job 17 failed: dial tcp 10.96.0.10:53: i/o timeout",
        "    at com.example.shop.OrderService.place(OrderService.java:118)",
        "2026-12-01T08:00:03.010Z INFO  gc: pause 4.1ms heap 512MiB/1024MiB",
    ];
    let secrets = [
        "2026-12-01T08:00:04.000Z DEBUG client: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhcGkifQ.c2lnbmF0dXJlc2lnbmF0dXJl",
        "2026-12-01T08:00:04.100Z INFO  db: connecting to postgres://app:s3cretPassw0rd@db.shop.svc:5432/orders",
        "2026-12-01T08:00:04.200Z WARN  config: DB_PASSWORD=hunter2hunter2 loaded from env",
    ];
    let mut out = String::with_capacity(1 << 20);
    let mut i = 0usize;
    while out.len() < 1 << 20 {
        let line = if i % 50 == 49 {
            secrets[(i / 50) % secrets.len()]
        } else {
            benign[i % benign.len()]
        };
        out.push_str(line);
        out.push('\n');
        i += 1;
    }
    out
}

fn bench(c: &mut Criterion) {
    let log = realistic_log();
    let redactor = Redactor::new(["configured-webhook-secret-value".to_string()]);
    let mut group = c.benchmark_group("redact");
    group.throughput(Throughput::Bytes(log.len() as u64));
    group.sample_size(10);
    group.bench_function("realistic_log_1MiB", |b| {
        b.iter(|| black_box(redactor.redact_text(black_box(&log))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
