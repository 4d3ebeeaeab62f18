//! CPU time and peak memory of a server's process group, from `/proc` (Linux).

use std::fs;

/// Every process whose process group is `group`.
fn members(group: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            stat_fields(*pid).is_some_and(|fields| fields.get(2) == Some(&group.to_string()))
        })
        .collect()
}

/// The fields of `/proc/PID/stat` after the command name.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = text.rsplit_once(')')?.1;
    Some(after_name.split_whitespace().map(str::to_owned).collect())
}

/// Clock ticks per second of `/proc/PID/stat` times (USER_HZ; 100 on Linux).
const CLOCK_TICKS: f64 = 100.0;

/// User plus system CPU time, in seconds, of every process in `group`.
pub(crate) fn cpu_seconds(group: u32) -> f64 {
    members(group)
        .into_iter()
        .filter_map(stat_fields)
        .map(|fields| {
            // utime and stime are fields 14 and 15 of stat, 11 and 12 after the name.
            let ticks = |i: usize| {
                fields
                    .get(i)
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            (ticks(11) + ticks(12)) / CLOCK_TICKS
        })
        .sum()
}

/// The sum of peak resident memory (VmHWM) of every process in `group`, in bytes.
pub(crate) fn peak_rss_bytes(group: u32) -> u64 {
    members(group)
        .into_iter()
        .filter_map(|pid| fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|status| {
            let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_process_group_is_measured() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 5",
            ])
            .process_group(0)
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(800));
        let group = child.id();
        assert!(
            peak_rss_bytes(group) > 100 * 1024,
            "a shell uses some memory"
        );
        assert!(cpu_seconds(group) > 0.0, "the loop used CPU");
        let _ = child.kill();
        let _ = child.wait();
    }
}
