use std::time::Instant;
fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap();
    let f: Vec<&str> = s.rsplit(')').next().unwrap().split_whitespace().collect();
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
}
fn main() {
    let org = slack_audit::synthetic::SyntheticOrg::new(42);
    let mut events = Vec::new();
    let mut s = 1_785_888_000 + 10 * 3600;
    while events.len() < 100_000 {
        org.events_in_second(s, 100_000.0, &mut events);
        s += 1;
    }
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    for (name, f) in [
        (
            "ocsf",
            slack_audit::ocsf::Formatter::Ocsf { raw_data: false },
        ),
        ("slack", slack_audit::ocsf::Formatter::Slack),
    ] {
        let mut records = connector_sdk::RecordBuf::default();
        let (t, c) = (Instant::now(), cpu());
        let mut bytes = 0;
        for _ in 0..rounds {
            for chunk in events.chunks(9999) {
                records.clear();
                let mut page = f.page();
                for e in chunk {
                    page.push(&mut records, e.json.as_bytes());
                }
                bytes += records.as_bytes().len();
            }
        }
        let n = (rounds * events.len()) as f64;
        println!(
            "{name}: wall {:.3} us/record, cpu {:.3} us/record, {:.0} bytes/record",
            t.elapsed().as_secs_f64() * 1e6 / n,
            (cpu() - c) * 1e6 / n,
            bytes as f64 / n
        );
    }
}
